// @ts-check
/**
 * Stryker's vitest runner (9.6.1), with two changes.
 *
 * 1. A mutant that makes vitest fail outside any test counts as killed. Upstream collects results from
 *    test cases only, so a test file that throws while it is imported (a mutant in code that runs at load
 *    time) reports no test at all and the mutant "survives"; an unhandled error is reported as a runtime
 *    error and leaves the score. `vitest run` exits non-zero in both cases, so CI would catch such a mutant:
 *    here it is killed, with the file or error that caught it.
 * 2. A static mutant (reached while a test file loads or a suite sets up, outside any test) is active from
 *    the start of each run, and runs the test files that reach it. With `testFiles` set, upstream's planner
 *    gives static mutants the file list as their test filter, and a test filter means runtime activation: the
 *    mutant would be switched on in beforeAll, after the modules it lives in ran their load-time code
 *    unmutated. And it runs every file of the area. vitest loads each test file in a fresh worker, so a file
 *    can only be changed by a static mutant it reached itself: the files that reached it at load or set-up
 *    in the dry run, and those whose tests reached it, are the ones to run.
 *
 * Plain JavaScript: Stryker imports plugins in its own worker processes, without a TypeScript loader.
 */
import { commonTokens, declareFactoryPlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DryRunStatus, MutantRunStatus } from '@stryker-mutator/api/test-runner';
import { strykerPlugins as vitestPlugins } from '@stryker-mutator/vitest-runner';

const vitestFactory = /** @type {{ factory: (injector: unknown) => any }} */ (vitestPlugins[0]);

/** Test files vitest could not load or run (their own result failed, with no test case to carry it). */
function filesThatFailedToLoad(vitest) {
  return vitest.state
    .getFiles()
    .filter((file) => file.result?.state === 'fail' && (file.result.errors?.length ?? 0) > 0)
    .map((file) => ({ file: file.filepath, message: String(file.result.errors[0]?.message ?? 'failed to load') }));
}

/**
 * For each mutant reached outside any test in the dry run: the test files that reached it, at load or
 * set-up, or in one of their tests (absolute paths, as vitest names them).
 */
function staticMutantFiles(vitest, perTest) {
  const files = new Map();
  const add = (mutantId, file) => files.set(mutantId, (files.get(mutantId) ?? new Set()).add(file));
  for (const file of vitest.state.getFiles()) {
    for (const mutantId of Object.keys(file.meta?.mutantCoverage?.static ?? {})) add(mutantId, file.filepath);
  }
  for (const [testId, mutants] of Object.entries(perTest ?? {})) {
    const file = path.resolve(testId.split('#')[0]);
    for (const mutantId of Object.keys(mutants)) if (files.has(mutantId)) add(mutantId, file);
  }
  return files;
}

/**
 * The dry run happens in one of Stryker's workers and mutants run in all of them: the dry-run worker leaves
 * the map here (in Stryker's temporary directory, which git ignores), the others read it at their first mutant.
 * Stryker starts no mutant before the dry run has finished, so a map left by an earlier run is never read.
 */
const staticFilesRecord = () => path.resolve('.stryker-tmp', 'static-mutant-files.json');

function createRunner(injector) {
  const inner = vitestFactory.factory(injector);
  /** @type {Map<string, Set<string>> | undefined} */
  let staticFiles;
  const staticFilesOf = (mutantId) => {
    staticFiles ??= new Map(Object.entries(JSON.parse(readFileSync(staticFilesRecord(), 'utf8'))).map(([id, files]) => [id, new Set(files)]));
    return staticFiles.get(mutantId);
  };
  return {
    capabilities: () => inner.capabilities(),
    init: () => inner.init(),
    async dryRun(options) {
      const result = await inner.dryRun(options);
      if (result.status === DryRunStatus.Complete) {
        staticFiles = staticMutantFiles(inner.ctx, result.mutantCoverage?.perTest);
        mkdirSync(path.dirname(staticFilesRecord()), { recursive: true });
        writeFileSync(staticFilesRecord(), JSON.stringify(Object.fromEntries([...staticFiles].map(([id, files]) => [id, [...files]]))));
      }
      return result;
    },
    dispose: () => inner.dispose(),
    async mutantRun(runOptions) {
      const files = staticFilesOf(runOptions.activeMutant.id);
      // A file path with no `#test` part runs every test of that file.
      const options = files ? { ...runOptions, mutantActivation: 'static', reloadEnvironment: true, testFilter: [...files] } : runOptions;
      const result = await inner.mutantRun(options);
      if (result.status === MutantRunStatus.Error) {
        return { status: MutantRunStatus.Killed, killedBy: [], nrOfTests: 0, failureMessage: `vitest failed outside any test: ${result.errorMessage}` };
      }
      if (result.status === MutantRunStatus.Survived) {
        // `ctx` is the runner's vitest instance (private in its TypeScript, a plain field at run time).
        const [failed] = filesThatFailedToLoad(inner.ctx);
        if (failed) return { status: MutantRunStatus.Killed, killedBy: [], nrOfTests: result.nrOfTests, failureMessage: `${failed.file} failed to load: ${failed.message}` };
      }
      return result;
    },
  };
}
createRunner.inject = tokens(commonTokens.injector);

export const strykerPlugins = [declareFactoryPlugin(PluginKind.TestRunner, 'vitest-crash-killed', createRunner)];

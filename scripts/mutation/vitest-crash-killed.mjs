// @ts-check
/**
 * Stryker's vitest runner, with one change: a mutant that makes vitest fail outside any test counts as
 * killed. Upstream (9.6.1) collects results from test cases only, so a test file that throws while it is
 * imported (a mutant in code that runs at load time) reports no test at all and the mutant "survives";
 * an unhandled error is reported as a runtime error and leaves the score. `vitest run` exits non-zero in
 * both cases, so CI would catch such a mutant: here it is killed, with the file or error that caught it.
 *
 * Plain JavaScript: Stryker imports plugins in its own worker processes, without a TypeScript loader.
 */
import { commonTokens, declareFactoryPlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin';
import { MutantRunStatus } from '@stryker-mutator/api/test-runner';
import { strykerPlugins as vitestPlugins } from '@stryker-mutator/vitest-runner';

const vitestFactory = /** @type {{ factory: (injector: unknown) => any }} */ (vitestPlugins[0]);

/** Test files vitest could not load or run (their own result failed, with no test case to carry it). */
function filesThatFailedToLoad(vitest) {
  return vitest.state
    .getFiles()
    .filter((file) => file.result?.state === 'fail' && (file.result.errors?.length ?? 0) > 0)
    .map((file) => ({ file: file.filepath, message: String(file.result.errors[0]?.message ?? 'failed to load') }));
}

function createRunner(injector) {
  const inner = vitestFactory.factory(injector);
  return {
    capabilities: () => inner.capabilities(),
    init: () => inner.init(),
    dryRun: (options) => inner.dryRun(options),
    dispose: () => inner.dispose(),
    async mutantRun(options) {
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

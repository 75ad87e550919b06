/**
 * `npm run test:mutation [-- AREA... | --force]`: Stryker over each area of stryker.config.mjs, then the
 * per-file gate (THRESHOLD, equivalents named in the config).
 *
 * Each area keeps its results in scripts/mutation/baseline/<area>.json, Stryker's incremental file, with
 * the hash of what produced them (the area, the mutated files, its test files, the config) beside it.
 * - inputs unchanged since the committed baseline: nothing to mutate; the gate reads the baseline;
 * - inputs changed: Stryker runs incrementally, testing only the mutants in changed code and those a
 *   changed test file covers, and reuses the rest (how CI stays in budget);
 * - no baseline yet: an area is run only when named (its first run tests every mutant, which is long);
 *   `npm test` names none, and says which areas are not gated yet;
 * - `--force`: every mutant again (after a change outside the inputs, such as a helper the tests use);
 * - `--mutate FILE[:LINES]` (with one area): only those mutants, from scratch, into reports/mutation/ and
 *   never into the baseline; for working on one file's survivors. STRYKER_CONCURRENCY=N sets Stryker's workers.
 * Commit the baseline files the run updates, as you would a lockfile.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stryker } from '@stryker-mutator/core';
import { globSync } from 'tinyglobby';
import strykerConfig, { areas, belowThreshold, equivalentMutants, THRESHOLD } from '../../stryker.config.mjs';
import { formatScores, gateProblems, scoreReport, type MutationReport } from './score.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The default options as written, read before any run: Stryker loads the same config module and merges
 * each run's options (mutate, testFiles…) into its default export (ConfigReader's deepMerge), so after one
 * area has run, that object would give the next area's hash the previous area's files.
 */
const optionsAsWritten = JSON.stringify(strykerConfig);
const baselineDir = path.join(root, 'scripts/mutation/baseline');
const rel = (p: string) => path.relative(root, p);

type Area = (typeof areas)[number];

function filesOf(area: Area, patterns: string[], what: string): string[] {
  return patterns.flatMap((pattern) => {
    const found = globSync(pattern, { cwd: root }).sort();
    if (found.length === 0) throw new Error(`stryker.config.mjs, area ${area.name}: ${what} "${pattern}" matches no file`);
    return found;
  });
}

/** The hash of everything the area's results depend on, as Stryker's incremental mode sees it. */
function inputsKey(area: Area): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ area, strykerConfig: JSON.parse(optionsAsWritten), plugin: readFileSync(path.join(root, 'scripts/mutation/vitest-crash-killed.mjs'), 'utf8') }));
  for (const file of [...filesOf(area, area.mutate, 'mutate'), ...filesOf(area, area.testFiles, 'test file')]) {
    hash.update(`\0${file}\0`).update(readFileSync(path.join(root, file)));
  }
  return hash.digest('hex');
}

const resultsFile = (area: Area, narrowed: boolean) =>
  narrowed ? path.join(root, 'reports/mutation', `${area.name}-narrowed.json`) : path.join(baselineDir, `${area.name}.json`);

async function runArea(area: Area, force: boolean, narrowTo: string | undefined): Promise<'reused' | 'ran'> {
  const incrementalFile = resultsFile(area, narrowTo !== undefined);
  const keyFile = path.join(baselineDir, `${area.name}.inputs`);
  const key = inputsKey(area);
  if (!narrowTo && !force && existsSync(incrementalFile) && existsSync(keyFile) && readFileSync(keyFile, 'utf8').trim() === key) return 'reused';
  // The mutants run the service tests on PGlite alone: the HTTP code under test is the same on both
  // databases, and every mutant runs its tests again.
  process.env.COURSEOPS_TEST_DRIVERS = 'pglite';
  await new Stryker({
    configFile: path.join(root, 'stryker.config.mjs'),
    mutate: narrowTo ? [narrowTo] : area.mutate,
    testFiles: area.testFiles,
    incrementalFile: rel(incrementalFile),
    force: force || narrowTo !== undefined,
    ...(process.env.STRYKER_CONCURRENCY ? { concurrency: Number(process.env.STRYKER_CONCURRENCY) } : {}),
  }).runMutationTest();
  if (!narrowTo) writeFileSync(keyFile, `${key}\n`);
  return 'ran';
}

async function main() {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const mutateAt = args.indexOf('--mutate');
  const narrowTo = mutateAt >= 0 ? args[mutateAt + 1] : undefined;
  if (mutateAt >= 0 && !narrowTo) throw new Error('--mutate needs a file (path[:lines])');
  const named = args.filter((a, i) => !a.startsWith('--') && (mutateAt < 0 || i !== mutateAt + 1));
  const unknown = named.filter((n) => !areas.some((a) => a.name === n));
  if (unknown.length > 0) throw new Error(`no mutation area ${unknown.join(', ')}; the areas are ${areas.map((a) => a.name).join(', ')}`);
  const chosen = named.length > 0 ? areas.filter((a) => named.includes(a.name)) : areas;
  if (narrowTo && chosen.length !== 1) throw new Error('--mutate works within one area: name it');
  let failed = false;
  for (const area of chosen) {
    // A first run of an area is a long one (every mutant, on a 2-core machine up to hours): it happens
    // when the area is named, never unasked inside `npm test`.
    if (named.length === 0 && !existsSync(resultsFile(area, false))) {
      console.log(`\n== mutation area ${area.name}: NO BASELINE YET, not gated; make one with \`npm run test:mutation -- ${area.name}\` and commit it`);
      continue;
    }
    const started = Date.now();
    const how = await runArea(area, force, narrowTo);
    const report = JSON.parse(readFileSync(resultsFile(area, narrowTo !== undefined), 'utf8')) as MutationReport;
    const { files, unused } = scoreReport(report, equivalentMutants);
    const mutated = new Set(filesOf(area, area.mutate, 'mutate'));
    const stale = narrowTo ? [] : unused((f) => mutated.has(f));
    const problems = gateProblems(files, THRESHOLD, belowThreshold);
    console.log(`\n== mutation area ${area.name}: ${how === 'reused' ? 'inputs unchanged since the baseline, no mutant to run' : 'ran'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    console.log(formatScores(files, THRESHOLD));
    for (const f of files.filter((f) => f.score < THRESHOLD)) console.log(`${f.file}: under ${THRESHOLD} %, alive:\n  ${f.alive.join('\n  ')}`);
    for (const b of belowThreshold.filter((b) => mutated.has(b.file))) console.log(`below the threshold, held at ${b.floor} %: ${b.file} (${b.why})`);
    for (const p of problems) console.log(p);
    for (const e of stale) console.log(`stryker.config.mjs names an equivalent mutant that is not a surviving one: ${e.file}:${e.line} ${e.mutator} → ${e.replacement}`);
    failed ||= problems.length > 0 || stale.length > 0;
  }
  if (failed) {
    console.error(`\nmutation: a file scores under ${THRESHOLD} % (or under its floor), or a list in stryker.config.mjs is stale (above)`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});

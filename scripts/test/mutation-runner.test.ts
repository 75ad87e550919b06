import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogLevel } from '@stryker-mutator/api/core';
import { Stryker } from '@stryker-mutator/core';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A module whose only mutable decision runs while it loads: the mutant `limit > 5` → `true` throws at
 * import, and the test (which checks something else) never starts. Upstream's vitest runner reports no
 * test for it, so the mutant "survives"; ours (scripts/mutation/vitest-crash-killed.mjs) counts it killed,
 * as `vitest run` would fail on it.
 */
const project = {
  'package.json': JSON.stringify({ name: 'load-crash', type: 'module', private: true }),
  'vitest.config.mjs': "export default { test: { include: ['*.test.mjs'] } };",
  'answer.mjs': "const limit = 3;\nif (limit > 5) throw new Error('limit too high');\nexport const answer = () => 42;\n",
  'answer.test.mjs': "import { expect, it } from 'vitest';\nimport { answer } from './answer.mjs';\nit('answers', () => expect(answer()).toBe(42));\n",
  // A file that never loads answer.mjs, so it cannot catch its mutants (and is not run for them).
  'unrelated.test.mjs': "import { expect, it } from 'vitest';\nit('adds', () => expect(1 + 1).toBe(2));\n",
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function statusesWith(testRunner: 'vitest' | 'vitest-crash-killed') {
  const dir = mkdtempSync(path.join(tmpdir(), 'stryker-load-crash-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(project)) writeFileSync(path.join(dir, name), text);
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const results = await new Stryker({
      plugins: ['@stryker-mutator/vitest-runner', path.join(root, 'scripts/mutation/vitest-crash-killed.mjs')],
      testRunner,
      vitest: { configFile: 'vitest.config.mjs', related: false },
      mutate: ['answer.mjs:2-2'],
      // As the areas of stryker.config.mjs do: upstream then activates a static mutant only at run time.
      testFiles: ['answer.test.mjs', 'unrelated.test.mjs'],
      mutator: { excludedMutations: ['StringLiteral', 'BlockStatement'] },
      coverageAnalysis: 'perTest',
      concurrency: 1,
      reporters: [],
      logLevel: 'off' as LogLevel,
      fileLogLevel: 'off' as LogLevel,
      inPlace: true,
      tempDirName: '.stryker-tmp',
    }).runMutationTest();
    // In place, the source is back as it was.
    expect(readFileSync(path.join(dir, 'answer.mjs'), 'utf8')).toBe(project['answer.mjs']);
    return Object.fromEntries(results.map((r) => [r.replacement, r.status]));
  } finally {
    process.chdir(cwd);
  }
}

describe('the mutation runner', () => {
  it('counts a mutant that makes a test file fail to load as killed (upstream: survived), each load-time mutant active as the module loads', async () => {
    const ours = await statusesWith('vitest-crash-killed');
    // Both mutants that throw at load are caught: Stryker activated each before the module was imported
    // again (a static mutant), so the code that runs once at load ran with it.
    expect(ours['true']).toBe('Killed');
    expect(ours['limit <= 5']).toBe('Killed');
    // The other mutants of the line load fine and the test passes: they survive under either runner.
    expect(ours['false']).toBe('Survived');
    const upstream = await statusesWith('vitest');
    expect(upstream['true']).toBe('Survived');
  }, 180_000);
});

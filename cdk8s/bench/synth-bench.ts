/**
 * Synth benchmark (not a timed test): median of N in-process builds and one cold `tsx` run of
 * `npm run synth`, against the 3 s target.  Run: `npx tsx cdk8s/bench/synth-bench.ts [N]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGET_MS = 3000;
const runs = Number(process.argv[2] ?? '10');
const repo = fileURLToPath(new URL('../../', import.meta.url));

const t0 = performance.now();
const { buildPlatform } = await import('../src/app.js');
const { render } = await import('../src/synth.js');
const importMs = performance.now() - t0;

const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  render(buildPlatform());
  times.push(performance.now() - start);
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;

const out = mkdtempSync(join(tmpdir(), 'courseops-synth-'));
const coldStart = performance.now();
execFileSync(join(repo, 'node_modules/.bin/tsx'), ['cdk8s/src/main.ts'], { cwd: repo, env: { ...process.env, COURSEOPS_DIST: out }, stdio: 'ignore' });
const coldMs = performance.now() - coldStart;
rmSync(out, { recursive: true, force: true });

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
console.log(`synth benchmark (target ${fmt(TARGET_MS)})`);
console.log(`  module import (first load)     ${fmt(importMs)}`);
console.log(`  in-process build+render        median ${fmt(median)} of ${runs} (min ${fmt(sorted[0]!)}, max ${fmt(sorted.at(-1)!)})`);
console.log(`  cold \`tsx cdk8s/src/main.ts\`   ${fmt(coldMs)}  ${coldMs <= TARGET_MS ? 'OK' : 'OVER TARGET'}`);
process.exitCode = coldMs <= TARGET_MS ? 0 : 1;

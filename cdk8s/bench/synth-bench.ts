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

// Scaling: the 3 real services against 30 declared ones (bench-only), build+render medians, alternating.
const { manyServices } = await import('./services30.js');
const scale = { 3: [] as number[], 30: [] as number[] };
const thirty = manyServices(30);
for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)); i++) {
  for (const n of i % 2 === 0 ? ([3, 30] as const) : ([30, 3] as const)) {
    const start = performance.now();
    render(buildPlatform(n === 3 ? {} : { services: thirty }));
    scale[n].push(performance.now() - start);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [t3, t30] = [med(scale[3]), med(scale[30])];
// Linear growth: the cost per service at 30 no more than at 3 (a fixed part, shared by all, only helps).
const perService3 = t3 / 3;
const perService30 = t30 / 30;

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
const thirtyTotal = importMs + t30;
console.log(`  3 services, build+render        median ${fmt(t3)} (${perService3.toFixed(1)} ms per service)`);
console.log(`  30 services, build+render       median ${fmt(t30)} (${perService30.toFixed(1)} ms per service): ${(t30 / t3).toFixed(1)}x the time for 10x the services`);
console.log(`  30 services, import + build     ${fmt(thirtyTotal)}  ${thirtyTotal <= TARGET_MS ? 'OK' : 'OVER TARGET'} (target ${fmt(TARGET_MS)}); growth ${perService30 <= perService3 * 1.1 ? 'at most linear: OK' : 'MORE THAN LINEAR'}`);
process.exitCode = coldMs <= TARGET_MS ? 0 : 1;

/**
 * `npm run box`: builds (once) and starts the platform in a box: a real Kubernetes control plane and
 * kwok node in the network namespace `courseops-box`, with the CRDs the pinned charts install.
 * `npm run box -- --down` stops it and removes the namespace. Needs root (network namespaces) and Go.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags } from '../cluster/cli.js';
import { distComplete, loadDist } from '../cluster/inputs.js';
import { ensureTools } from './build.js';
import { BOX_NETNS, DEFAULT_STATE_DIR, kubectl, readBoxState, startBox, stopBox } from './control-plane.js';
import { applyCrds, applyPlatform, installCharts, type ChartInstall } from './platform.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const usage = `usage: npm run box [-- --down | --build | --charts DIR]
  (no flag)     build what is missing, start the box, apply the pinned CRDs, print how to use it
  --charts DIR  also install into it, as up does, the pinned charts whose sources are at DIR/<chart>
                (dependencies vendored), then dist/ (npm run synth first); builds helm once
  --build       only build the programs into the cache (prints each build's time)
  --down        stop every process of the box and remove its network namespaces`;

let flags: ReturnType<typeof parseFlags>;
try {
  flags = parseFlags(process.argv.slice(2), ['charts']);
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const unknown = [...flags.switches].filter((f) => !['down', 'build', 'help'].includes(f));
if (unknown.length > 0) {
  console.error(`unknown option --${unknown[0]}\n${usage}`);
  process.exit(2);
}
if (flags.switches.has('help')) {
  console.log(usage);
  process.exit(0);
}
const log = (l: string) => console.log(l);
const started = Date.now();

if (flags.switches.has('down')) {
  const had = readBoxState();
  await stopBox();
  console.log(had ? 'box stopped' : 'no box was running (network namespaces cleaned up anyway)');
} else if (flags.switches.has('build')) {
  await ensureTools(undefined, log);
  console.log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} else {
  const chartsDir = flags.values.get('charts');
  if (chartsDir !== undefined && !existsSync(chartsDir)) {
    console.error(`--charts ${chartsDir}: no such folder`);
    process.exit(2);
  }
  const state = await startBox({ log });
  if (chartsDir) {
    const distDir = join(REPO_ROOT, 'dist');
    if (!distComplete(distDir)) throw new Error('dist/ is missing or incomplete: run `npm run synth` first');
    const present = new Set(loadDist(distDir).releases.map((r) => r.chart).filter((c) => existsSync(join(chartsDir, c, 'Chart.yaml'))));
    applyCrds(state, present);
    let installed: ChartInstall[] = [];
    await applyPlatform(state, distDir, [REPO_ROOT, distDir], async () => {
      installed = await installCharts(state, distDir, chartsDir, log);
    });
    for (const r of installed) console.log(`${r.outcome === 'installed' ? 'installed' : 'skipped  '} ${r.release} (${r.chart})`);
    console.log(kubectl(state, ['get', 'pods', '-A', '-o', 'wide']));
  } else {
    applyCrds(state);
  }
  const kc = state.kubeconfig;
  console.log(`
The box is up (${((Date.now() - started) / 1000).toFixed(0)} s). Kubeconfig: ${kc}
Its API server listens on ${state.server} inside the network namespace ${BOX_NETNS} only, so run clients there:

  ip netns exec ${BOX_NETNS} ${state.binaries.kubectl} --kubeconfig ${kc} get nodes
  ip netns exec ${BOX_NETNS} ${state.binaries.kubectl} --kubeconfig ${kc} apply --server-side -f dist/manifests/

Logs of each component: ${DEFAULT_STATE_DIR}/logs/. Stop it with: npm run box -- --down`);
}

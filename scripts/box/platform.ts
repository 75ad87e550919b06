/**
 * Puts the platform into the box the way `npm run up` puts it into kind: the CRDs the pinned charts
 * would install (taken from the operators' own modules at those versions), then up's own `secrets` and
 * `manifests` steps (scripts/cluster/plan.ts), run by up's runner with kubectl pointed at the box.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runChecked, spawnRunner, type Runner } from '../cluster/commands.js';
import { loadDist } from '../cluster/inputs.js';
import { buildPlan } from '../cluster/plan.js';
import { applyKeepingWeights } from '../cluster/route-weights.js';
import { ensureSecrets, type SecretOutcome } from '../cluster/secrets.js';
import type { ClusterTarget } from '../cluster/target.js';
import { ensureTool, moduleDir } from './build.js';
import { inNetns } from './netns.js';
import { kubectl, kubectlJson, type BoxState } from './control-plane.js';

/** Where each chart's CRDs come from: the module of the program at the version the chart runs. */
export const crdSources = [
  { chart: 'kube-prometheus-stack', tool: 'prometheus-operator', module: 'github.com/prometheus-operator/prometheus-operator', dir: 'example/prometheus-operator-crd' },
  { chart: 'argo-rollouts', tool: 'argo-rollouts', module: 'github.com/argoproj/argo-rollouts', dir: 'manifests/crds' },
  { chart: 'cert-manager', tool: 'crds', module: 'github.com/cert-manager/cert-manager', dir: 'deploy/crds' },
  // The installed form (podTemplate schemas pruned), as the eck-operator chart ships it.
  { chart: 'eck-operator', tool: 'crds', module: 'github.com/elastic/cloud-on-k8s/v3', dir: 'config/crds/v1', only: 'all-crds.yaml' },
  // The standard channel at the version Traefik's own module builds against (up installs the same release's standard-install.yaml).
  { chart: 'gateway-api', tool: 'traefik', module: 'sigs.k8s.io/gateway-api', dir: 'config/crd/standard' },
  // The traefik chart's crds/ folder holds the same definitions as this file of Traefik's module.
  { chart: 'traefik', tool: 'traefik', module: 'github.com/traefik/traefik/v3', dir: 'docs/content/reference/dynamic-configuration', only: 'kubernetes-crd-definition-v1.yml' },
] as const;

export function crdFiles(except: ReadonlySet<string> = new Set()): string[] {
  return crdSources.filter((s) => !except.has(s.chart)).flatMap((s) => {
    const dir = join(moduleDir(s.tool, s.module), s.dir);
    const files = readdirSync(dir).filter((f) => ('only' in s ? f === s.only : f.endsWith('.yaml') && f !== 'kustomization.yaml'));
    if (files.length === 0) throw new Error(`no CRDs in ${dir}`);
    return files.sort().map((f) => join(dir, f));
  });
}

/** Applies the CRDs of every chart but those in `installedByHelm` (whose own install brings them). */
export function applyCrds(state: BoxState, installedByHelm: ReadonlySet<string> = new Set()): void {
  // One kubectl for all the files: each kubectl run costs a start and a discovery round (14 s for 34 files, 6 s at once).
  kubectl(state, ['apply', '--server-side', ...crdFiles(installedByHelm).flatMap((f) => ['-f', f])]);
  // `kubectl wait` watches each CRD in turn (9 s for 53, all long Established): wait only for those that are not yet.
  const crds = kubectlJson<{ items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>(state, ['get', 'crd']).items;
  const pending = crds.filter((c) => !c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')).map((c) => `crd/${c.metadata.name}`);
  if (pending.length > 0) kubectl(state, ['wait', '--for=condition=Established', ...pending, '--timeout=60s']);
}

/**
 * up's runner, with every `kubectl --context kind-courseops …` sent to the box's kubectl; anything else
 * (helm, kind, docker) is refused, since the steps run here must need nothing but the API server.
 */
export function boxRunner(state: BoxState): Runner {
  return (argv, options) => {
    if (argv[0] !== 'kubectl') return Promise.reject(new Error(`the box runs only kubectl steps, not: ${argv.join(' ')}`));
    const rest = argv.slice(1);
    const ctx = rest.indexOf('--context');
    if (ctx >= 0) rest.splice(ctx, 2);
    return spawnRunner(inNetns(state.netns, [state.binaries.kubectl!, `--kubeconfig=${state.kubeconfig}`, ...rest]), options);
  };
}

/**
 * The `secrets` and `manifests` steps of up's plan for dist/, in up's order: the kind cluster's plan, or with
 * `target` (a dist/ of the cluster profile) the plan of `up --context`, whose kubectl commands boxRunner sends to
 * the box as well.
 */
export function upSteps(distDir: string, target?: ClusterTarget) {
  return buildPlan({ dist: loadDist(distDir), synth: false, ...(target ? { target } : {}) }).filter((s) => s.id === 'secrets' || s.id === 'manifests');
}

export interface ApplyOutcome {
  readonly secrets: SecretOutcome[];
  /** Every line the API server sent back as a warning (PodSecurity "warn" level, deprecations). */
  readonly warnings: string[];
}

/**
 * Runs them as run.ts does (ensureSecrets, then each server-side apply with its retries), keeping what a
 * user would only see scroll by: the secrets' outcomes and the API server's warnings.
 */
export async function applyPlatform(state: BoxState, distDir: string, fileRoots: string[], afterSecrets?: () => Promise<void>, target?: ClusterTarget): Promise<ApplyOutcome> {
  const runner = boxRunner(state);
  const warnings: string[] = [];
  let secrets: SecretOutcome[] = [];
  for (const step of upSteps(distDir, target)) {
    if (step.type === 'secrets') {
      secrets = await ensureSecrets(step.secrets, { runner, fileRoots });
      // Where up installs the Helm releases (npm run box -- --charts).
      await afterSecrets?.();
    }
    else if (step.type === 'commands') {
      for (const cmd of step.commands) {
        const result = await applyKeepingWeights(runner, cmd, { retryDelayMs: 1000 });
        warnings.push(...result.stderr.split('\n').filter((l) => /^Warning:/.test(l)));
      }
    }
  }
  return { secrets, warnings };
}

export interface ChartInstall {
  readonly release: string;
  readonly chart: string;
  readonly outcome: 'installed' | 'skipped';
}

/**
 * `npm run box -- --charts DIR`: up's `helm` step against the box, for the charts whose sources are at
 * DIR/<chart> (dependencies vendored in its charts/ folder, as `helm dependency build` leaves them): the
 * same release names, namespaces, values files, order and --wait, with the local folder in place of the
 * repository and the box's kubeconfig in place of kind's context. Charts not in DIR are skipped.
 */
export async function installCharts(state: BoxState, distDir: string, chartsDir: string, log: (line: string) => void): Promise<ChartInstall[]> {
  const helm = (await ensureTool('helm', log)).helm!;
  const dist = loadDist(distDir);
  const step = buildPlan({ dist, synth: false }).find((s) => s.id === 'helm');
  if (!step || step.type !== 'commands') throw new Error("up's plan has no helm step");
  const env = { ...process.env, HELM_CACHE_HOME: join(state.dir, 'helm/cache'), HELM_CONFIG_HOME: join(state.dir, 'helm/config'), HELM_DATA_HOME: join(state.dir, 'helm/data') };
  const results: ChartInstall[] = [];
  for (const [i, cmd] of step.commands.entries()) {
    const release = dist.releases[i]!;
    const local = join(chartsDir, release.chart);
    if (!existsSync(join(local, 'Chart.yaml'))) {
      log(`${release.name}: no ${local}/Chart.yaml, skipped`);
      results.push({ release: release.name, chart: release.chart, outcome: 'skipped' });
      continue;
    }
    const argv = [...cmd.argv];
    argv[0] = helm;
    argv[4] = local;
    for (const flag of ['--repo', '--version', '--kube-context']) {
      const at = argv.indexOf(flag);
      if (at >= 0) argv.splice(at, 2);
    }
    argv.push(`--kubeconfig=${state.kubeconfig}`);
    log(`${release.name}: helm upgrade --install from ${local}`);
    const result = await spawnRunner(inNetns(state.netns, argv), { env });
    if (result.code !== 0) throw new Error(`helm install of ${release.name} failed:\n${result.stderr.trim()}`);
    results.push({ release: release.name, chart: release.chart, outcome: 'installed' });
  }
  return results;
}

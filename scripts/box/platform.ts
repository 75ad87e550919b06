/**
 * Puts the platform into the box the way `npm run up` puts it into kind: the CRDs the pinned charts
 * would install (taken from the operators' own modules at those versions), then up's own `secrets` and
 * `manifests` steps (scripts/cluster/plan.ts), run by up's runner with kubectl pointed at the box.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runChecked, spawnRunner, type Runner } from '../cluster/commands.js';
import { loadDist } from '../cluster/inputs.js';
import { buildPlan } from '../cluster/plan.js';
import { ensureSecrets, type SecretOutcome } from '../cluster/secrets.js';
import { moduleDir } from './build.js';
import { inNetns } from './netns.js';
import { kubectl, type BoxState } from './control-plane.js';

/** Where each chart's CRDs come from: the module of the program at the version the chart runs. */
export const crdSources = [
  { chart: 'kube-prometheus-stack', tool: 'prometheus-operator', module: 'github.com/prometheus-operator/prometheus-operator', dir: 'example/prometheus-operator-crd' },
  { chart: 'argo-rollouts', tool: 'argo-rollouts', module: 'github.com/argoproj/argo-rollouts', dir: 'manifests/crds' },
  { chart: 'cert-manager', tool: 'crds', module: 'github.com/cert-manager/cert-manager', dir: 'deploy/crds' },
  // The installed form (podTemplate schemas pruned), as the eck-operator chart ships it.
  { chart: 'eck-operator', tool: 'crds', module: 'github.com/elastic/cloud-on-k8s/v3', dir: 'config/crds/v1', only: 'all-crds.yaml' },
] as const;

export function crdFiles(): string[] {
  return crdSources.flatMap((s) => {
    const dir = join(moduleDir(s.tool, s.module), s.dir);
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && (!('only' in s) || f === s.only));
    if (files.length === 0) throw new Error(`no CRDs in ${dir}`);
    return files.sort().map((f) => join(dir, f));
  });
}

export function applyCrds(state: BoxState): void {
  for (const file of crdFiles()) kubectl(state, ['apply', '--server-side', '-f', file]);
  kubectl(state, ['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
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

/** The `secrets` and `manifests` steps of up's plan for dist/, in up's order. */
export function upSteps(distDir: string) {
  return buildPlan({ dist: loadDist(distDir), synth: false }).filter((s) => s.id === 'secrets' || s.id === 'manifests');
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
export async function applyPlatform(state: BoxState, distDir: string, fileRoots: string[]): Promise<ApplyOutcome> {
  const runner = boxRunner(state);
  const warnings: string[] = [];
  let secrets: SecretOutcome[] = [];
  for (const step of upSteps(distDir)) {
    if (step.type === 'secrets') secrets = await ensureSecrets(step.secrets, { runner, fileRoots });
    else if (step.type === 'commands') {
      for (const cmd of step.commands) {
        const result = await runChecked(runner, cmd, { retryDelayMs: 1000 });
        warnings.push(...result.stderr.split('\n').filter((l) => /^Warning:/.test(l)));
      }
    }
  }
  return { secrets, warnings };
}

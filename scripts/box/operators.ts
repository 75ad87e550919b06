/**
 * The real controllers the platform's charts would run, at the charts' versions, run out of cluster in
 * the box namespace against its API server: Argo Rollouts and the Prometheus Operator.
 */
import { join } from 'node:path';
import { ensureTool } from './build.js';
import { startProcess, waitFor, type BoxState } from './control-plane.js';
import { inNetns } from './netns.js';
import { execFileSync } from 'node:child_process';

/** GET a URL from inside the box namespace (curl), or undefined when it does not answer 2xx. */
export function boxGet(state: BoxState, url: string): string | undefined {
  try {
    const argv = inNetns(state.netns, ['curl', '-fsS', '--max-time', '5', url]);
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}

/**
 * Argo Rollouts' controller, as the argo-rollouts chart runs it, reading its config map from the
 * release namespace (POD_NAMESPACE, as the chart's downward API sets it).
 */
export async function startArgoRollouts(state: BoxState, releaseNamespace: string): Promise<void> {
  const bin = (await ensureTool('argoRollouts'))['rollouts-controller']!;
  startProcess(state, 'argo-rollouts', [bin, `--kubeconfig=${state.kubeconfig}`, '--leader-elect=false', '--healthzPort=8080', '--metricsport=8090', '--loglevel=info'], {
    POD_NAMESPACE: releaseNamespace,
  });
  await waitFor(state, 'Argo Rollouts to be healthy', () => boxGet(state, 'http://127.0.0.1:8080/healthz') !== undefined, 60_000, 'argo-rollouts');
}

/**
 * The Prometheus Operator with the arguments kube-prometheus-stack gives it that change what it
 * generates (the kubelet Service it maintains, the local host of the config reloader), talking to the
 * box's API server with the admin client certificate.
 */
export async function startPrometheusOperator(state: BoxState, args: readonly string[] = []): Promise<void> {
  const bin = (await ensureTool('prometheusOperator'))['prometheus-operator']!;
  const pki = join(state.dir, 'pki');
  startProcess(state, 'prometheus-operator', [
    bin, '--apiserver=https://127.0.0.1:6443', `--ca-file=${join(pki, 'ca.crt')}`, `--cert-file=${join(pki, 'admin.crt')}`, `--key-file=${join(pki, 'admin.key')}`,
    '--web.listen-address=127.0.0.1:8082', ...args,
  ]);
  await waitFor(state, 'the Prometheus Operator to be healthy', () => boxGet(state, 'http://127.0.0.1:8082/healthz') !== undefined, 60_000, 'prometheus-operator');
}

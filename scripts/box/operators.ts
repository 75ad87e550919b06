/**
 * The real controllers the platform's charts would run, at the charts' versions, run out of cluster in
 * the box namespace against its API server: Argo Rollouts and the Prometheus Operator.
 */
import { execFileSync } from 'node:child_process';
import { chartAppVersions } from '../../cdk8s/src/helm/app-versions.js';
import { ensureTool } from './build.js';
import { startProcess, waitFor, type BoxState } from './control-plane.js';
import { inNetns } from './netns.js';
import { configureRolloutsPlugin } from './rollouts-plugin.js';

/** GET a URL from inside the box namespace (curl), or undefined when it does not answer 2xx. */
export function boxGet(state: BoxState, url: string): string | undefined {
  try {
    const argv = inNetns(state.netns, ['curl', '-fsS', '--max-time', '5', url]);
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}

const ROLLOUTS_HEALTHZ_PORT = 8084;

/**
 * Argo Rollouts' controller, as the argo-rollouts chart runs it, reading its config map from the
 * release namespace (POD_NAMESPACE, as the chart's downward API sets it), which must exist: the config
 * map that loads the Gateway API plugin is written there first (rollouts-plugin.ts).
 */
export async function startArgoRollouts(state: BoxState, releaseNamespace: string): Promise<void> {
  const bin = (await ensureTool('argoRollouts'))['rollouts-controller']!;
  await configureRolloutsPlugin(state, releaseNamespace);
  // Pods have addresses of their own in a cluster; here every process shares the box's, and the controller
  // binds its ports on all of them: keep clear of the ports the other programs' pods use (Traefik's 8080).
  startProcess(state, 'argo-rollouts', [bin, `--kubeconfig=${state.kubeconfig}`, '--leader-elect=false', `--healthzPort=${ROLLOUTS_HEALTHZ_PORT}`, '--metricsport=8090', '--loglevel=info'], {
    POD_NAMESPACE: releaseNamespace,
    // The plugin process inherits the controller's environment and finds the API server through KUBECONFIG
    // (the controller's own --kubeconfig flag is not passed on).
    KUBECONFIG: state.kubeconfig,
  });
  await waitFor(state, 'Argo Rollouts to be healthy', () => boxGet(state, `http://127.0.0.1:${ROLLOUTS_HEALTHZ_PORT}/healthz`) !== undefined, 60_000, 'argo-rollouts');
}

/**
 * The Prometheus Operator with the arguments kube-prometheus-stack gives it that change what it
 * generates (the kubelet Service it maintains, the local host of the config reloader), talking to the
 * box's API server with the admin client certificate.
 */
export async function startPrometheusOperator(state: BoxState, args: readonly string[] = []): Promise<void> {
  const bin = (await ensureTool('prometheusOperator'))['prometheus-operator']!;
  const { pki } = state;
  startProcess(state, 'prometheus-operator', [
    bin, `--apiserver=${state.server}`, `--ca-file=${pki.caCert}`, `--cert-file=${pki.adminCert}`, `--key-file=${pki.adminKey}`,
    '--web.listen-address=127.0.0.1:8082', ...args,
  ]);
  await waitFor(state, 'the Prometheus Operator to be healthy', () => boxGet(state, 'http://127.0.0.1:8082/healthz') !== undefined, 60_000, 'prometheus-operator');
}

/**
 * The operator arguments kube-prometheus-stack 88.2.0 renders with our values
 * (templates/prometheus-operator/deployment.yaml; chart defaults for every value we do not set): the
 * kubelet Service it maintains, the reloader's local host, image and resources, the Secret filter.
 */
export function kpsOperatorArgs(objects: { readonly prometheus: { readonly metadata: { readonly name: string } } }): string[] {
  const fullname = objects.prometheus.metadata.name.replace(/-prometheus$/, '');
  return [
    `--kubelet-service=kube-system/${fullname}-kubelet`,
    '--kubelet-endpoints=true',
    '--kubelet-endpointslice=false',
    '--localhost=127.0.0.1',
    `--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:${chartAppVersions['kube-prometheus-stack'].images['prometheus-config-reloader']}`,
    '--config-reloader-cpu-request=0',
    '--config-reloader-cpu-limit=0',
    '--config-reloader-memory-request=0',
    '--config-reloader-memory-limit=0',
    '--thanos-default-base-image=quay.io/thanos/thanos:v0.42.4',
    '--secret-field-selector=type!=kubernetes.io/dockercfg,type!=kubernetes.io/service-account-token,type!=helm.sh/release.v1',
  ];
}

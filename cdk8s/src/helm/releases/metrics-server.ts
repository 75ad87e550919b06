import { ns } from '../../namespaces.js';
import type { ReleaseModule } from '../release.js';
import { resources, restrictedContainer, restrictedPod, type ContainerSecurity, type PodSecurity, type Resources } from '../types.js';

/**
 * metrics-server: the resource metrics API (`metrics.k8s.io`, CPU and memory of pods and nodes) that the
 * HorizontalPodAutoscalers of the services read. kind ships none, so without this release the HPAs never
 * get a metric and never scale. The release name equals the chart name: Deployment and Service
 * `metrics-server`, pods labelled `app.kubernetes.io/name: metrics-server`; the chart registers the
 * APIService `v1beta1.metrics.k8s.io` pointing at that Service.
 */
export const METRICS_SERVER_RELEASE = 'metrics-server';
/** The chart's containerPort (its `--secure-port`): the API server calls it there, through the Service's 443. */
export const METRICS_SERVER_PORT = 10250;
/** The resource metrics the API serves: an HPA `Resource` metric must name one of them. */
export const RESOURCE_METRICS = ['cpu', 'memory'] as const;

/**
 * The flags added to the chart's `defaultArgs` (--cert-dir=/tmp, --kubelet-preferred-address-types,
 * --kubelet-use-node-status-port, --metric-resolution=15s). kind's kubelets serve a self-signed
 * certificate that no cluster CA signs, so metrics-server cannot verify it (the kind documentation's
 * setting; on a cluster whose kubelet certificates are signed, drop it).
 */
export const METRICS_SERVER_ARGS = ['--kubelet-insecure-tls'] as const;

export interface MetricsServerValues {
  readonly replicas: number;
  readonly args: readonly string[];
  readonly resources: Resources;
  readonly podSecurityContext: PodSecurity;
  readonly securityContext: ContainerSecurity & { readonly runAsUser: number; readonly runAsGroup: number };
  /** The APIService the HPA controller reads through; TLS to metrics-server's self-signed serving cert is not verified (chart default). */
  readonly apiService: { readonly create: boolean; readonly insecureSkipTLSVerify: boolean };
  readonly metrics: { readonly enabled: boolean };
  readonly serviceMonitor: { readonly enabled: boolean };
}

/** Two or three kind nodes and a few dozen pods: far below the chart's 100m/200Mi (sized for 100 nodes). */
const server = resources('20m', '48Mi', '128Mi');
/** The image's non-root user (the chart's default uid). */
const UID = 1000;

export function metricsServerValues(): MetricsServerValues {
  return {
    replicas: 1,
    args: [...METRICS_SERVER_ARGS],
    resources: server,
    podSecurityContext: restrictedPod(UID),
    // The chart's default (uid 1000, read-only root with an emptyDir at /tmp, no privilege escalation, all capabilities dropped, seccomp).
    securityContext: { ...restrictedContainer, runAsUser: UID, runAsGroup: UID },
    apiService: { create: true, insecureSkipTLSVerify: true },
    // Nothing scrapes it: the platform's dashboards and alerts use kube-state-metrics and the kubelet.
    metrics: { enabled: false },
    serviceMonitor: { enabled: false },
  };
}

export const metricsServerRelease: ReleaseModule = {
  name: METRICS_SERVER_RELEASE,
  chart: 'metrics-server',
  namespace: ns.metricsServer.name,
  values: () => metricsServerValues(),
  footprint: () => [{ component: 'metrics-server', replicas: 1, requests: server.requests }],
};

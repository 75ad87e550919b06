import { defaultConfig, type PlatformConfig } from '../../config.js';
import { topologySpread } from '../../scheduling.js';
import type { ReleaseModule } from '../release.js';
import { ns } from '../../namespaces.js';
import { resources, restrictedContainer, restrictedPod, type ContainerSecurity, type PodSecurity, type Resources } from '../types.js';

/**
 * Traefik v3 (chart `traefik` 41.3.0, appVersion v3.7.11) as the platform's Gateway API implementation.
 * Facts read from the chart at tag v41.3.0 (traefik/traefik-helm-chart a8a66d0):
 * - templates/_helpers.tpl: the chart's fullname is the release name when it contains "traefik", so the
 *   Deployment, Service and ServiceAccount are all `traefik`; pods carry `app.kubernetes.io/name: traefik`
 *   and `app.kubernetes.io/instance: <release>-<namespace>` (traefik.labelselector).
 * - templates/gatewayclass.yaml: the GatewayClass is named `gatewayClass.name`, default "traefik".
 * - templates/_service.tpl: the Service maps each exposed entry point's `exposedPort` to its `port`.
 */
export const TRAEFIK_RELEASE = 'traefik';
export const TRAEFIK_NAMESPACE = ns.ingress.name;

/** The labels the chart puts on Traefik's pods: NetworkPolicy peers and the metrics Service select them. */
export const traefikPodLabels = {
  'app.kubernetes.io/name': 'traefik',
  'app.kubernetes.io/instance': `${TRAEFIK_RELEASE}-${TRAEFIK_NAMESPACE}`,
} as const;

/** The GatewayClass the chart creates (gatewayClass.enabled, default name). */
export const TRAEFIK_GATEWAY_CLASS = 'traefik';

/**
 * Traefik's entry points: a Gateway listener binds the entry point whose port equals its own, so the
 * listeners use these ports (8000/8443), not 80/443. On kind, hostPorts 80/443 of the ingress-ready node
 * reach them (kind-config.yaml maps the node's 80/443 to the laptop's).
 */
export const traefikEntryPoints = {
  web: { port: 8000, hostPort: 80, servicePort: 80 },
  websecure: { port: 8443, hostPort: 443, servicePort: 443 },
  /** Prometheus metrics (not exposed on the Service; scraped through our own headless Service). */
  metrics: { port: 9100 },
  /** Traefik's internal entry point: /ping for the chart's probes. */
  traefik: { port: 8080 },
} as const;
export const TRAEFIK_METRICS_PORT = traefikEntryPoints.metrics.port;

/** The Service in front of Traefik (ClusterIP): the CoreDNS rewrite sends in-cluster clients of the public hosts here. */
export const traefikService = { name: TRAEFIK_RELEASE, namespace: TRAEFIK_NAMESPACE, httpPort: 80, httpsPort: 443 } as const;

/**
 * Latency buckets of traefik_*_request_duration_seconds. Traefik's default (0.1, 0.3, 1.2, 5) has no
 * 0.5 s bucket, so the 500 ms SLO and the canary's latency gate could not be read from it.
 */
export const TRAEFIK_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface EntryPointValues {
  readonly port: number;
  readonly hostPort?: number;
  readonly exposedPort?: number;
  readonly expose?: { readonly default: boolean };
}

export interface TraefikValues {
  readonly deployment: { readonly kind: 'Deployment'; readonly replicas: number };
  readonly updateStrategy: {
    readonly type: 'RollingUpdate';
    readonly rollingUpdate: { readonly maxSurge: number; readonly maxUnavailable: number };
  };
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly { readonly key: string; readonly operator: string; readonly effect: string }[];
  readonly ports: {
    readonly web: EntryPointValues;
    readonly websecure: EntryPointValues;
    readonly metrics: EntryPointValues;
  };
  /** kind: ClusterIP (clients use the hostPorts); cluster: LoadBalancer, keeping the client's address (Local). */
  readonly service: { readonly spec: { readonly type: 'ClusterIP' } | { readonly type: 'LoadBalancer'; readonly externalTrafficPolicy: 'Local' } };
  readonly podDisruptionBudget?: { readonly enabled: boolean; readonly maxUnavailable: number };
  readonly topologySpreadConstraints?: readonly object[];
  readonly providers: {
    readonly kubernetesGateway: { readonly enabled: boolean };
    readonly kubernetesCRD: { readonly enabled: boolean; readonly allowCrossNamespace: boolean };
    readonly kubernetesIngress: { readonly enabled: boolean };
  };
  readonly gateway: { readonly enabled: boolean };
  readonly gatewayClass: { readonly enabled: boolean; readonly name: string };
  readonly ingressClass: { readonly enabled: boolean };
  /** null: Helm drops the chart's `api` map, so the chart passes no --api flag and Traefik serves no API or dashboard. */
  readonly api: null;
  readonly ingressRoute: { readonly dashboard: { readonly enabled: boolean } };
  readonly global: { readonly checkNewVersion: boolean; readonly sendAnonymousUsage: boolean };
  readonly metrics: {
    readonly prometheus: {
      readonly entryPoint: 'metrics';
      readonly addServicesLabels: boolean;
      readonly addRoutersLabels: boolean;
      readonly addEntryPointsLabels: boolean;
      readonly buckets: string;
      readonly serviceMonitor: { readonly enabled: boolean };
      readonly service: { readonly enabled: boolean };
    };
  };
  readonly log: { readonly format: 'json'; readonly level: string };
  readonly accessLog: { readonly enabled: boolean; readonly format: 'json' };
  readonly podSecurityContext: PodSecurity & { readonly runAsUser: number; readonly runAsGroup: number };
  readonly securityContext: ContainerSecurity;
  readonly resources: Resources;
}

const proxy = resources('100m', '128Mi', '256Mi');
/** Behind a load balancer: two, so a node drain or an upgrade leaves one serving. */
const TRAEFIK_LB_REPLICAS = 2;
/** The chart's default uid/gid (podSecurityContext.runAsUser/runAsGroup 65532): non-root, ports above 1024. */
const TRAEFIK_UID = 65532;

/**
 * Traefik's values for how clients reach it (the config's exposure): `hostPort`, kind's one ingress-ready node,
 * or `loadBalancer`, two replicas behind the cloud's load balancer, spread like the services and never both
 * evicted at once.
 */
export function traefikValues(config: Pick<PlatformConfig, 'exposure' | 'spreadAcrossZones'> = defaultConfig): TraefikValues {
  const entryPoint = (e: { port: number; hostPort: number; servicePort: number }): EntryPointValues =>
    config.exposure === 'hostPort' ? { port: e.port, hostPort: e.hostPort, exposedPort: e.servicePort } : { port: e.port, exposedPort: e.servicePort };
  const placement: Pick<TraefikValues, 'deployment' | 'updateStrategy' | 'nodeSelector' | 'tolerations'> =
    config.exposure === 'hostPort'
      ? {
          deployment: { kind: 'Deployment', replicas: 1 },
          // One pod holds hostPorts 80/443: a surge pod could never bind them and every upgrade would hang,
          // so the old pod goes first (a short outage on a one-node kind cluster).
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
          // kind's documented ingress setup: the node labelled ingress-ready (kind-config.yaml) maps 80/443 to the host.
          nodeSelector: { 'ingress-ready': 'true', 'kubernetes.io/os': 'linux' },
          tolerations: [
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
          ],
        }
      : {
          deployment: { kind: 'Deployment', replicas: TRAEFIK_LB_REPLICAS },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [],
        };
  return {
    ...placement,
    ports: {
      web: entryPoint(traefikEntryPoints.web),
      websecure: entryPoint(traefikEntryPoints.websecure),
      metrics: { port: traefikEntryPoints.metrics.port, expose: { default: false } },
    },
    // kind: a LoadBalancer would stay pending; clients come in through the hostPorts, pods through this ClusterIP.
    // cluster: the cloud's load balancer; `Local` keeps the client's address for the services' rate limits.
    service: { spec: config.exposure === 'hostPort' ? { type: 'ClusterIP' } : { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } },
    ...(config.exposure === 'loadBalancer'
      ? {
          podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
          ...topologySpread(config, traefikPodLabels, 'pod-template-hash'),
        }
      : {}),
    providers: {
      kubernetesGateway: { enabled: true },
      // Only for the ForwardAuth Middlewares that HTTPRoutes name in ExtensionRef filters; a route may only
      // use a Middleware of its own namespace.
      kubernetesCRD: { enabled: true, allowCrossNamespace: false },
      kubernetesIngress: { enabled: false },
    },
    // The platform declares its own Gateway (src/gateway/gateway.ts); the chart only provides the class.
    gateway: { enabled: false },
    gatewayClass: { enabled: true, name: TRAEFIK_GATEWAY_CLASS },
    ingressClass: { enabled: false },
    // API and dashboard off: nothing here needs them, and the dashboard's assets are not in Traefik's module
    // (the box builds Traefik from there). `helm template` of 41.3.0 with this renders no --api flag.
    api: null,
    ingressRoute: { dashboard: { enabled: false } },
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    metrics: {
      prometheus: {
        entryPoint: 'metrics',
        // Per-backend (`service`) series feed the canary gates; per-router series the dashboards.
        addServicesLabels: true,
        addRoutersLabels: true,
        addEntryPointsLabels: true,
        buckets: TRAEFIK_LATENCY_BUCKETS.join(','),
        // Scraped through src/gateway/metrics.ts (honorLabels: true), not the chart's ServiceMonitor.
        serviceMonitor: { enabled: false },
        service: { enabled: false },
      },
    },
    log: { format: 'json', level: 'INFO' },
    // JSON access logs for Filebeat; the chart's default drops every request header (no Authorization or Cookie).
    accessLog: { enabled: true, format: 'json' },
    // The chart's defaults, written out so a chart upgrade cannot loosen them unnoticed.
    podSecurityContext: { ...restrictedPod(), runAsUser: TRAEFIK_UID, runAsGroup: TRAEFIK_UID },
    securityContext: restrictedContainer,
    resources: proxy,
  };
}

export const traefikRelease: ReleaseModule = {
  name: TRAEFIK_RELEASE,
  chart: 'traefik',
  namespace: TRAEFIK_NAMESPACE,
  values: ({ config }) => traefikValues(config),
  footprint: ({ config }) => [{ component: 'traefik', replicas: config.exposure === 'hostPort' ? 1 : TRAEFIK_LB_REPLICAS, requests: proxy.requests }],
};

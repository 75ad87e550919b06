import type { ReleaseModule } from '../release.js';
import { serviceUrl } from '../../cluster-dns.js';
import { defaultConfig, type PlatformConfig } from '../../config.js';
import { ns } from '../../namespaces.js';
import { resources, restrictedContainer, restrictedPod, type ContainerSecurity, type PodSecurity, type Resources } from '../types.js';

/**
 * The Pushgateway (chart prometheus-pushgateway, release of the same name): where the backup Jobs (cdk8s/src/data/backup.ts) push their outcome, since a batch
 * job does not live long enough to be scraped. The release name equals the chart name, so the chart's
 * fullname (Service, Deployment, PVC) is `prometheus-pushgateway`, Service port 9091 named `http`, and
 * its pods carry `app.kubernetes.io/name: prometheus-pushgateway`.
 */
export const PUSHGATEWAY = { release: 'prometheus-pushgateway', namespace: ns.monitoring.name, port: 9091 } as const;
export const pushgatewayUrl = () => serviceUrl(PUSHGATEWAY.release, PUSHGATEWAY.namespace, PUSHGATEWAY.port);
/** Pod labels of the Pushgateway (the chart's selector labels). */
export const pushgatewayPodLabels = { 'app.kubernetes.io/name': 'prometheus-pushgateway' } as const;

export interface PushgatewayValues {
  readonly automountServiceAccountToken: boolean;
  readonly resources: Resources;
  readonly securityContext: PodSecurity;
  readonly containerSecurityContext: ContainerSecurity & { readonly runAsUser: number; readonly runAsGroup: number };
  readonly extraArgs: readonly string[];
  readonly persistentVolume: { readonly enabled: boolean; readonly size: string; readonly mountPath: string; readonly storageClass?: string };
  readonly serviceMonitor: {
    readonly enabled: boolean;
    readonly namespace: string;
    /** Keep the pushed job/namespace/service/database labels instead of the Pushgateway's own target labels. */
    readonly honorLabels: boolean;
    readonly interval: string;
  };
}

const gateway = resources('10m', '32Mi', '64Mi');
/** The image's `nobody` user (the chart's default uid). */
const NOBODY = 65534;

export function pushgatewayValues(config: Pick<PlatformConfig, 'storageClass'> = defaultConfig): PushgatewayValues {
  return {
    // The Pushgateway never calls the Kubernetes API.
    automountServiceAccountToken: false,
    resources: gateway,
    securityContext: restrictedPod(NOBODY),
    containerSecurityContext: { ...restrictedContainer, runAsUser: NOBODY, runAsGroup: NOBODY },
    // Pushed metrics survive a restart: without it BackupTooOld{reason="missing"} would follow every
    // Pushgateway restart until the next nightly run.
    extraArgs: ['--persistence.file=/data/pushgateway.data', '--persistence.interval=5m'],
    persistentVolume: { enabled: true, size: '256Mi', mountPath: '/data', ...(config.storageClass ? { storageClass: config.storageClass } : {}) },
    serviceMonitor: { enabled: true, namespace: ns.monitoring.name, honorLabels: true, interval: '30s' },
  };
}

export const pushgatewayRelease: ReleaseModule = {
  name: PUSHGATEWAY.release,
  chart: 'prometheus-pushgateway',
  namespace: PUSHGATEWAY.namespace,
  values: ({ config }) => pushgatewayValues(config),
  footprint: () => [{ component: 'pushgateway', replicas: 1, requests: gateway.requests }],
};

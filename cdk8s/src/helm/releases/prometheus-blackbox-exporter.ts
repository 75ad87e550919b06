import type { ReleaseModule } from '../release.js';
import { ns } from '../../namespaces.js';
import { resources, restrictedContainer, restrictedPod, type ContainerSecurity, type PodSecurity, type Resources } from '../types.js';

/**
 * The release name equals the chart name, so the chart's fullname (Service and Deployment name) is
 * `prometheus-blackbox-exporter`, and its pods carry `app.kubernetes.io/name: prometheus-blackbox-exporter`.
 */
export const BLACKBOX_RELEASE = 'prometheus-blackbox-exporter';
export const blackboxService = { name: BLACKBOX_RELEASE, namespace: ns.monitoring.name, port: 9115 } as const;

/**
 * The module the Probes of the public endpoints use. The blackbox exporter requests the public URL
 * (https://api.courseops.test/...): the CoreDNS rewrite of the bring-up resolves the `.test` hosts to the
 * Traefik Service (port 443 -> the websecure entry point), so the request goes through the Gateway (Host header and SNI are the public
 * host, as for a browser) and checks routing, TLS termination and the backend. The certificate is issued by
 * the platform's self-signed CA, whose Secret lives in the cert-manager namespace and cannot be mounted in
 * monitoring, so certificate verification is skipped (`insecure_skip_verify`); `fail_if_not_ssl` still
 * requires the answer to come over TLS. Redirects are not followed, so a 3xx (login page, http->https) fails.
 */
export const INGRESS_PROBE_MODULE = 'https_2xx_ingress';

export interface BlackboxModule {
  readonly prober: 'http';
  readonly timeout: string;
  readonly http: {
    readonly valid_http_versions: readonly string[];
    readonly follow_redirects: boolean;
    readonly preferred_ip_protocol: 'ip4' | 'ip6';
    readonly fail_if_not_ssl?: boolean;
    readonly tls_config?: { readonly insecure_skip_verify: boolean };
  };
}

/** prometheus-blackbox-exporter chart values: one exporter, hardened, with the modules the Probes use. */
export interface BlackboxExporterValues {
  readonly replicas: number;
  readonly podSecurityContext: PodSecurity;
  readonly securityContext: ContainerSecurity & { readonly runAsUser: number; readonly runAsGroup: number };
  readonly resources: Resources;
  /** blackbox.yaml (rendered from this map: charts/values-keys/freeform.yaml). */
  readonly config: { readonly modules: Readonly<Record<string, BlackboxModule>> };
}

const exporter = resources('10m', '32Mi', '64Mi');

export function blackboxExporterValues(): BlackboxExporterValues {
  const http = { valid_http_versions: ['HTTP/1.1', 'HTTP/2.0'], preferred_ip_protocol: 'ip4' as const };
  return {
    replicas: 1,
    podSecurityContext: restrictedPod(),
    // The chart's default (uid/gid 1000, read-only root, no privilege escalation, all capabilities dropped), plus seccomp.
    securityContext: { ...restrictedContainer, runAsUser: 1000, runAsGroup: 1000 },
    resources: exporter,
    config: {
      modules: {
        // The chart's default module, kept for ad-hoc probes of plain-http targets.
        http_2xx: { prober: 'http', timeout: '5s', http: { ...http, follow_redirects: true } },
        [INGRESS_PROBE_MODULE]: {
          prober: 'http',
          timeout: '5s',
          http: { ...http, follow_redirects: false, fail_if_not_ssl: true, tls_config: { insecure_skip_verify: true } },
        },
      },
    },
  };
}

export const blackboxExporterRelease: ReleaseModule = {
  name: BLACKBOX_RELEASE,
  chart: 'prometheus-blackbox-exporter',
  namespace: blackboxService.namespace,
  values: () => blackboxExporterValues(),
  footprint: () => [{ component: 'blackbox-exporter', replicas: 1, requests: exporter.requests }],
};

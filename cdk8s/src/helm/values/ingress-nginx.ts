import { resources, type Footprint, type Resources } from '../types.js';

/** ingress-nginx chart values for kind: one controller on the node labelled ingress-ready, on hostPorts 80/443. */
export interface IngressNginxValues {
  readonly controller: {
    readonly kind: 'Deployment';
    readonly replicaCount: number;
    readonly hostPort: { readonly enabled: boolean; readonly ports: { readonly http: number; readonly https: number } };
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly tolerations: readonly { readonly key: string; readonly operator: string; readonly effect: string }[];
    readonly service: { readonly type: 'NodePort' | 'ClusterIP' };
    readonly publishService: { readonly enabled: boolean };
    readonly extraArgs: Readonly<Record<string, string>>;
    readonly watchIngressWithoutClass: boolean;
    readonly allowSnippetAnnotations: boolean;
    readonly ingressClassResource: { readonly name: string; readonly enabled: boolean; readonly default: boolean };
    readonly config: Readonly<Record<string, string>>;
    readonly resources: Resources;
    readonly metrics: { readonly enabled: boolean; readonly serviceMonitor: { readonly enabled: boolean; readonly scrapeInterval: string } };
    readonly admissionWebhooks: {
      readonly createSecretJob: { readonly resources: Resources };
      readonly patchWebhookJob: { readonly resources: Resources };
    };
  };
}

const controller = resources('100m', '128Mi', '384Mi');
const job = resources('10m', '20Mi', '64Mi');

export function ingressNginxValues(): IngressNginxValues {
  return {
    controller: {
      kind: 'Deployment',
      replicaCount: 1,
      hostPort: { enabled: true, ports: { http: 80, https: 443 } },
      // kind's documented ingress setup: the node labelled ingress-ready (kind-config.yaml) maps 80/443 to the host.
      nodeSelector: { 'ingress-ready': 'true', 'kubernetes.io/os': 'linux' },
      tolerations: [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
      ],
      service: { type: 'NodePort' },
      publishService: { enabled: false },
      extraArgs: { 'publish-status-address': 'localhost' },
      watchIngressWithoutClass: false,
      allowSnippetAnnotations: false,
      ingressClassResource: { name: 'nginx', enabled: true, default: true },
      config: {
        // oauth2-proxy cookies and OIDC redirects carry large headers.
        'proxy-buffer-size': '16k',
        'large-client-header-buffers': '4 16k',
        // Services keep connections longer than this (API.md: keepAliveTimeout above 60 s).
        'upstream-keepalive-timeout': '60',
        'use-forwarded-headers': 'false',
      },
      resources: controller,
      metrics: { enabled: true, serviceMonitor: { enabled: true, scrapeInterval: '30s' } },
      admissionWebhooks: { createSecretJob: { resources: job }, patchWebhookJob: { resources: job } },
    },
  };
}

export const ingressNginxFootprint: Footprint[] = [{ component: 'controller', replicas: 1, requests: controller.requests }];

/**
 * The namespaces the platform creates, each with its Pod Security Admission level.
 *
 * `restricted` wherever the workloads allow it. Three namespaces cannot be restricted:
 * - monitoring: prometheus-node-exporter runs with hostNetwork, hostPID and hostPath mounts;
 * - traefik: on kind Traefik binds hostPorts 80/443 on the node labelled ingress-ready (baseline forbids
 *   host ports too).
 * - logging-agents: Filebeat mounts the node's /var/log/containers and /var/log/pods (hostPath, which
 *   baseline forbids too) and reads them as root. It has a namespace of its own so that the rest of the
 *   Elastic Stack (namespace `logging`) stays restricted.
 * Those enforce `privileged` but still warn and audit at `restricted`, so anything that could be
 * hardened shows up in `kubectl` warnings and the audit log.
 *
 * The services and their PostgreSQL share the `courseops` namespace: a Secret cannot be referenced
 * across namespaces, and each database password is generated once at deploy time for both the database
 * and the service that uses it.
 */
export type PsaLevel = 'restricted' | 'baseline' | 'privileged';

export interface NamespaceDecl {
  readonly name: string;
  readonly psa: PsaLevel;
  /** Why the namespace is not `restricted` (required when it is not). */
  readonly psaReason?: string;
  readonly purpose: string;
}

export const ns = {
  apps: { name: 'courseops', psa: 'restricted', purpose: 'course, teacher and status services and one PostgreSQL per service' },
  monitoring: {
    name: 'monitoring',
    psa: 'privileged',
    psaReason: 'prometheus-node-exporter needs hostNetwork, hostPID and hostPath',
    purpose: 'kube-prometheus-stack: Prometheus, Alertmanager, Grafana, exporters',
  },
  ingress: {
    name: 'traefik',
    psa: 'privileged',
    psaReason: 'on kind, Traefik binds hostPorts 80 and 443 of the ingress-ready node (baseline and restricted forbid host ports)',
    purpose: 'Traefik (Gateway API implementation), the courseops Gateway and its certificates',
  },
  certManager: { name: 'cert-manager', psa: 'restricted', purpose: 'cert-manager and the platform CA' },
  elastic: { name: 'elastic-system', psa: 'restricted', purpose: 'ECK operator' },
  rollouts: { name: 'argo-rollouts', psa: 'restricted', purpose: 'Argo Rollouts controller and dashboard' },
  auth: { name: 'auth', psa: 'restricted', purpose: 'Dex (OIDC) and oauth2-proxy' },
  metricsServer: { name: 'metrics-server', psa: 'restricted', purpose: 'metrics-server: the resource metrics API (metrics.k8s.io) the HPAs read' },
  logging: {
    name: 'logging',
    psa: 'restricted',
    purpose: 'Elastic Stack managed by ECK: Elasticsearch, Kibana, Logstash and the bootstrap Job',
  },
  loggingAgents: {
    name: 'logging-agents',
    psa: 'privileged',
    psaReason: 'Filebeat reads every container log from the node (hostPath /var/log/containers and /var/log/pods) as root',
    purpose: 'Filebeat DaemonSet (ECK Beat) shipping container logs to Logstash',
  },
} as const satisfies Record<string, NamespaceDecl>;

export type NamespaceKey = keyof typeof ns;
export const allNamespaces: readonly NamespaceDecl[] = Object.values(ns);

import type { HostKey } from './hosts.js';
import type { ThresholdOverrides } from './slo.js';
import { STATUS_WEBHOOK } from './monitoring/status-webhook.js';

/**
 * The one declaration of each service. Everything the platform runs for a service is derived from it:
 * workload, Services, HTTPRoute, NetworkPolicies, ServiceMonitor, PDB, HPA, its PostgreSQL and the Secrets
 * the bring-up generates. Ports and env names follow ../shared/API.md.
 */
/** The backups of a service's database (data/backup.ts); every field has a default. */
export interface BackupOptions {
  /** Size of the backup volume (7 daily + 4 weekly custom-format dumps, compressed); default 2Gi. */
  readonly storage?: string;
  /** Cron schedule (UTC); default nightly, staggered by the service's position so the dumps do not overlap. */
  readonly schedule?: string;
}

/**
 * A service, as pure data: everything the platform runs for it (and its alerts, dashboard, canary gates,
 * backups) is derived from these fields by the constructs and mixins, none of which it imports.
 */
export interface ServiceDecl {
  /** DNS-label name: image `<prefix>/<name>`, Service `<name>`, host path routing, metric `service` label. */
  readonly name: string;
  readonly description: string;
  /** The one HTTP port: API, /healthz, /readyz and /metrics (named `http`). */
  readonly port: number;
  readonly replicas: { readonly min: number; readonly max: number };
  readonly resources: {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu: string; readonly memory: string };
  };
  /** Its own PostgreSQL (hard dependency: readiness fails while it is down), and its backups. */
  readonly database?: { readonly storage: string; readonly backup?: BackupOptions };
  /** Public route: an HTTPRoute on this host's listener of the Gateway (Traefik). */
  readonly ingress?: { readonly host: HostKey; readonly path: string };
  /** Services this one calls; `soft` ones never fail readiness (API.md). */
  readonly calls?: readonly { readonly service: string; readonly soft: boolean; readonly urlEnv: string }[];
  /** Services whose /readyz this one probes (the status page): STATUS_TARGETS. */
  readonly probes?: readonly string[];
  /** Plain settings (ConfigMap). */
  readonly env?: Readonly<Record<string, string>>;
  /** Settings from Secrets generated at deploy time (never in git or dist/). */
  readonly secretEnv?: readonly { readonly env: string; readonly secret: string; readonly key: string }[];
  /** Who else may connect, beyond the Gateway (Traefik), Prometheus and declared callers. */
  readonly allowFrom?: readonly { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>>; readonly why: string }[];
  /** Service-level thresholds over the defaults (slo.ts): its alerts, dashboard and canary gates all read them. */
  readonly slo?: ThresholdOverrides;
}

const small = {
  requests: { cpu: '50m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
} as const;

export const course: ServiceDecl = {
  name: 'course',
  description: 'Course catalogue API',
  port: 3001,
  replicas: { min: 2, max: 4 },
  resources: small,
  database: { storage: '1Gi' },
  ingress: { host: 'api', path: '/api/courses' },
};

export const teacher: ServiceDecl = {
  name: 'teacher',
  description: 'Teachers and their course assignments',
  port: 3002,
  replicas: { min: 2, max: 4 },
  resources: small,
  database: { storage: '1Gi' },
  ingress: { host: 'api', path: '/api/teachers' },
  calls: [{ service: 'course', soft: true, urlEnv: 'COURSE_SERVICE_URL' }],
  env: { COURSE_SERVICE_TIMEOUT_MS: '1000' },
};

export const status: ServiceDecl = {
  name: 'status',
  description: 'Public status page and Alertmanager webhook receiver',
  port: 3003,
  replicas: { min: 2, max: 3 },
  resources: small,
  database: { storage: '1Gi' },
  ingress: { host: 'status', path: '/' },
  probes: ['course', 'teacher'],
  env: { PROBE_INTERVAL_MS: '15000', DEGRADED_LATENCY_MS: '1000' },
  secretEnv: [{ env: STATUS_WEBHOOK.tokenEnv, secret: STATUS_WEBHOOK.secret.name, key: STATUS_WEBHOOK.secret.key }],
  allowFrom: [
    {
      namespace: 'monitoring',
      podLabels: { 'app.kubernetes.io/name': 'alertmanager' },
      why: `Alertmanager posts webhooks to ${STATUS_WEBHOOK.path}`,
    },
  ],
};

export const services: readonly ServiceDecl[] = [course, teacher, status];

import { buildPlatform, type Platform } from '../../src/app.js';
import { resolveConfig } from '../../src/config-file.js';
import { render, type SynthOutput } from '../../src/synth.js';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
};

/**
 * The cluster profile as a team would configure it (README "Production cluster"): a real domain, Let's Encrypt
 * staging, a named StorageClass. The schema and policy tests run over this platform as well as the kind one.
 */
export const clusterTestConfig = resolveConfig({
  file: { profile: 'cluster', domain: 'courseops.example.com', tls: { acme: { server: 'staging', email: 'ops@example.com' } }, storageClass: 'fast-ssd' },
  source: 'cdk8s/test/support/platform.ts',
});

export type ProfileUnderTest = 'kind' | 'cluster';
export const PROFILES_UNDER_TEST: readonly ProfileUnderTest[] = ['kind', 'cluster'];

const cached = new Map<ProfileUnderTest, { platform: Platform; out: SynthOutput; objects: K8sObject[] }>();

/** The platform synthesized in-process once per test file and profile (no child process, no dist/ needed). */
export function synthesized(profile: ProfileUnderTest = 'kind') {
  let entry = cached.get(profile);
  if (!entry) {
    const platform = buildPlatform(profile === 'cluster' ? { config: clusterTestConfig } : {});
    const out = render(platform);
    entry = { platform, out, objects: out.objects as K8sObject[] };
    cached.set(profile, entry);
  }
  return entry;
}

export const id = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

/** Pod template of a workload kind, if any (a CronJob's is in its job template). */
export function podTemplate(o: K8sObject): { metadata?: { labels?: Record<string, string> }; spec: PodSpec } | undefined {
  type Template = { template?: { metadata?: { labels?: Record<string, string> }; spec?: PodSpec } };
  const spec = (o.kind === 'CronJob' ? (o.spec as { jobTemplate?: { spec?: Template } } | undefined)?.jobTemplate?.spec : o.spec) as Template | undefined;
  return spec?.template?.spec ? { metadata: spec.template.metadata, spec: spec.template.spec } : undefined;
}

/** Jobs and CronJobs run to completion: no selector of their own to check, no liveness/readiness probes. */
export const isBatch = (o: K8sObject) => o.kind === 'Job' || o.kind === 'CronJob';

export interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  lifecycle?: { preStop?: unknown };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  volumes?: { name: string; secret?: unknown; hostPath?: unknown }[];
  topologySpreadConstraints?: unknown[];
}

/**
 * Pod templates of ECK custom resources (Elasticsearch node sets, Kibana, Logstash, Beat): the ECK
 * operator makes their pods, with the template's labels.
 */
export function eckPodTemplates(o: K8sObject): { metadata?: { labels?: Record<string, string> }; spec?: PodSpec }[] {
  if (!o.apiVersion.includes('.k8s.elastic.co/')) return [];
  type T = { metadata?: { labels?: Record<string, string> }; spec?: PodSpec };
  const spec = (o.spec ?? {}) as { podTemplate?: T; nodeSets?: { podTemplate?: T }[]; daemonSet?: { podTemplate?: T }; deployment?: { podTemplate?: T } };
  return [spec.podTemplate, ...(spec.nodeSets ?? []).map((n) => n.podTemplate), spec.daemonSet?.podTemplate, spec.deployment?.podTemplate].filter(
    (t): t is T => t !== undefined,
  );
}

/** Does a label selector (matchLabels only, as the app writes them) match these labels? */
export const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

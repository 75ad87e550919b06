import { buildPlatform, type Platform } from '../../src/app.js';
import { render, type SynthOutput } from '../../src/synth.js';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
};

let cached: { platform: Platform; out: SynthOutput; objects: K8sObject[] } | undefined;

/** The platform synthesized in-process once per test file (no child process, no dist/ needed). */
export function synthesized() {
  if (!cached) {
    const platform = buildPlatform();
    const out = render(platform);
    cached = { platform, out, objects: out.objects as K8sObject[] };
  }
  return cached;
}

export const id = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

/** Pod template of a workload kind, if any. */
export function podTemplate(o: K8sObject): { metadata?: { labels?: Record<string, string> }; spec: PodSpec } | undefined {
  const spec = o.spec as { template?: { metadata?: { labels?: Record<string, string> }; spec?: PodSpec } } | undefined;
  return spec?.template?.spec ? { metadata: spec.template.metadata, spec: spec.template.spec } : undefined;
}

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
}

/** Does a label selector (matchLabels only, as the app writes them) match these labels? */
export const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

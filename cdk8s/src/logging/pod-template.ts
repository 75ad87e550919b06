import * as k8s from '../k8s.js';
import { hardenPodSpec, type RunAs } from '../security/hardening.js';

/**
 * The pod templates of the ECK resources are Kubernetes PodTemplateSpecs. The imported CRD types spell
 * them with their own copies of the Kubernetes structs (their own Quantity/IntOrString classes); the
 * values are the same shape at run time (`{ value }` wrappers that the generated toJson unwraps), so
 * the templates are written once with the platform's k8s types and hardened by `hardenPodSpec` like
 * every other pod, then handed to the CRD type here. schema.test.ts validates the result against the
 * CRD's own PodTemplateSpec schema (unknown fields rejected).
 */
export function eckPodTemplate<T>(
  labels: Readonly<Record<string, string>>,
  spec: k8s.PodSpec,
  runAs: RunAs,
  /** Pod-level settings hardening would otherwise fix (Filebeat needs its service account token). */
  exceptions: Pick<k8s.PodSpec, 'automountServiceAccountToken'> = {},
): T {
  const template: k8s.PodTemplateSpec = { metadata: { labels: { ...labels } }, spec: { ...hardenPodSpec(spec, runAs), ...exceptions } };
  return template as unknown as T;
}

export const q = (v: string) => k8s.Quantity.fromString(v);

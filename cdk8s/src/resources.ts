import * as k8s from './k8s.js';

/** CPU and memory requests and limits as the declarations write them ('50m', '128Mi'). */
export interface ResourceSpec {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** A declaration's requests and limits as a container's ResourceRequirements. */
export function resourceRequirements(r: ResourceSpec): k8s.ResourceRequirements {
  const q = (v: string) => k8s.Quantity.fromString(v);
  return {
    requests: { cpu: q(r.requests.cpu), memory: q(r.requests.memory) },
    limits: { cpu: q(r.limits.cpu), memory: q(r.limits.memory) },
  };
}

// Kubernetes quantities, read in one place (the platform budget, Helm footprints, NODE_OPTIONS).

/** CPU quantity in cores ("100m" -> 0.1, "1" -> 1). */
export function parseCpu(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) throw new Error(`cpu quantity ${q}`);
  return Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
}

/** Memory quantity in bytes ("128Mi", "1Gi", "1G", "500M"). */
export function parseMemory(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`memory quantity ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

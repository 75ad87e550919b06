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

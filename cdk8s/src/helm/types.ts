/** Shared shapes of Helm values (the parts the platform sets) and of a release. */
import { parseCpu, parseMemory } from '../resources.js';
import { RESTRICTED_CONTAINER, RUNTIME_DEFAULT_SECCOMP } from '../security/hardening.js';

export interface CpuMemory {
  readonly cpu: string;
  readonly memory: string;
}

export interface Resources {
  readonly requests: CpuMemory;
  readonly limits?: Partial<CpuMemory>;
}

export const resources = (cpu: string, memory: string, limitMemory: string, limitCpu?: string): Resources => ({
  requests: { cpu, memory },
  limits: { memory: limitMemory, ...(limitCpu ? { cpu: limitCpu } : {}) },
});

export interface SeccompProfile {
  readonly type: 'RuntimeDefault';
}

export interface PodSecurity {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly fsGroup?: number;
  readonly seccompProfile?: SeccompProfile;
}

export interface ContainerSecurity {
  readonly allowPrivilegeEscalation?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly runAsNonRoot?: boolean;
  readonly capabilities?: { readonly drop: readonly string[] };
  readonly seccompProfile?: SeccompProfile;
}

/** The restricted profile of security/hardening.ts, in the shape chart values take. */
export const restrictedPod = (uid?: number): PodSecurity => ({
  runAsNonRoot: true,
  ...(uid !== undefined ? { runAsUser: uid, runAsGroup: uid, fsGroup: uid } : {}),
  seccompProfile: { ...RUNTIME_DEFAULT_SECCOMP },
});

// Fresh inner objects: a shared one would be written as a YAML alias in the values files.
export const restrictedContainer: ContainerSecurity = {
  ...RESTRICTED_CONTAINER,
  capabilities: { drop: [...RESTRICTED_CONTAINER.capabilities.drop] },
  seccompProfile: { ...RUNTIME_DEFAULT_SECCOMP },
};

/** The steady-state pods a release runs, with the requests its values set (for the platform budget). */
export interface Footprint {
  readonly component: string;
  readonly replicas: number;
  /** Per pod: the sum over its containers. */
  readonly requests: CpuMemory;
}

export interface EnvVarFromSecret {
  readonly name: string;
  readonly valueFrom: { readonly secretKeyRef: { readonly name: string; readonly key: string } };
}

export const envFromSecret = (name: string, secret: string, key: string): EnvVarFromSecret => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key } },
});

/** Sums CPU and memory of a list of requests (for footprints of pods with sidecars). */
export function sumRequests(...parts: CpuMemory[]): CpuMemory {
  const cpu = parts.reduce((t, p) => t + parseCpu(p.cpu), 0);
  const mem = parts.reduce((t, p) => t + parseMemory(p.memory), 0);
  return { cpu: `${Math.round(cpu * 1000)}m`, memory: `${Math.round(mem / 2 ** 20)}Mi` };
}


/** Shared shapes of Helm values (the parts the platform sets) and of a release. */
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

export const restrictedPod = (uid?: number): PodSecurity => ({
  runAsNonRoot: true,
  ...(uid !== undefined ? { runAsUser: uid, runAsGroup: uid, fsGroup: uid } : {}),
  seccompProfile: { type: 'RuntimeDefault' },
});

export const restrictedContainer: ContainerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
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

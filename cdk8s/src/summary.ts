import type { HelmRelease } from './helm/release.js';
import { parseCpu, parseMemory } from './resources.js';

export interface Requests {
  cpu: number;
  memory: number;
}

export interface NamespaceRequests extends Requests {
  readonly namespace: string;
  pods: number;
}

type Obj = { kind?: string; metadata?: { namespace?: string }; spec?: Record<string, unknown> };
type Container = { resources?: { requests?: { cpu?: string; memory?: string } } };
type PodSpecJson = { containers?: Container[] };

/** Pod spec and replica count of a workload object (Deployment, StatefulSet, DaemonSet, Rollout). */
export function workloadPods(obj: Obj, nodes: number): { spec: PodSpecJson; replicas: number } | undefined {
  const spec = obj.spec as { replicas?: number; template?: { spec?: PodSpecJson } } | undefined;
  if (!spec?.template?.spec) return undefined;
  if (!['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout', 'ReplicaSet'].includes(obj.kind ?? '')) return undefined;
  return { spec: spec.template.spec, replicas: obj.kind === 'DaemonSet' ? nodes : (spec.replicas ?? 1) };
}

type PodTemplateJson = { spec?: PodSpecJson };
type EckSpec = {
  count?: number;
  podTemplate?: PodTemplateJson;
  nodeSets?: { count?: number; podTemplate?: PodTemplateJson }[];
  daemonSet?: { podTemplate?: PodTemplateJson };
  deployment?: { replicas?: number; podTemplate?: PodTemplateJson };
};

/**
 * Pods the ECK operator makes from a custom resource (Elasticsearch node sets, Kibana, Logstash, Beat
 * DaemonSet or Deployment), with the pod spec whose requests they carry. ECK's own defaults (2Gi for
 * Elasticsearch...) apply only where a template sets none, so the logging constructs always set them.
 */
export function eckPods(obj: Obj, nodes: number): { spec: PodSpecJson; replicas: number }[] {
  if (!obj.kind || !['Elasticsearch', 'Kibana', 'Logstash', 'Beat'].includes(obj.kind)) return [];
  if (!(obj as { apiVersion?: string }).apiVersion?.includes('.k8s.elastic.co/')) return [];
  const spec = (obj.spec ?? {}) as EckSpec;
  if (obj.kind === 'Elasticsearch') return (spec.nodeSets ?? []).map((n) => ({ spec: n.podTemplate?.spec ?? {}, replicas: n.count ?? 1 }));
  if (obj.kind === 'Beat') {
    if (spec.daemonSet) return [{ spec: spec.daemonSet.podTemplate?.spec ?? {}, replicas: nodes }];
    return [{ spec: spec.deployment?.podTemplate?.spec ?? {}, replicas: spec.deployment?.replicas ?? 1 }];
  }
  return [{ spec: spec.podTemplate?.spec ?? {}, replicas: spec.count ?? 1 }];
}

export function podRequests(spec: PodSpecJson): Requests {
  let cpu = 0;
  let memory = 0;
  for (const c of spec.containers ?? []) {
    cpu += c.resources?.requests?.cpu ? parseCpu(c.resources.requests.cpu) : 0;
    memory += c.resources?.requests?.memory ? parseMemory(c.resources.requests.memory) : 0;
  }
  return { cpu, memory };
}

/** Steady-state requests per namespace: manifests (workload replicas) plus each Helm release's footprint. */
export function platformRequests(objects: readonly Obj[], releases: readonly HelmRelease[], nodes = 1): NamespaceRequests[] {
  const byNs = new Map<string, NamespaceRequests>();
  const bucket = (namespace: string) => {
    let b = byNs.get(namespace);
    if (!b) byNs.set(namespace, (b = { namespace, cpu: 0, memory: 0, pods: 0 }));
    return b;
  };
  for (const obj of objects) {
    const w = workloadPods(obj, nodes);
    for (const pods of w ? [w] : eckPods(obj, nodes)) {
      const r = podRequests(pods.spec);
      const b = bucket(obj.metadata?.namespace ?? 'default');
      b.cpu += r.cpu * pods.replicas;
      b.memory += r.memory * pods.replicas;
      b.pods += pods.replicas;
    }
  }
  for (const rel of releases) {
    const b = bucket(rel.namespace);
    for (const f of rel.footprint) {
      b.cpu += parseCpu(f.requests.cpu) * f.replicas;
      b.memory += parseMemory(f.requests.memory) * f.replicas;
      b.pods += f.replicas;
    }
  }
  return [...byNs.values()].sort((a, b) => a.namespace.localeCompare(b.namespace));
}

export const BUDGET_MEMORY = 8 * 2 ** 30;

const fmtCpu = (c: number) => `${Math.round(c * 1000)}m`;
const fmtMem = (m: number) => (m >= 2 ** 30 ? `${(m / 2 ** 30).toFixed(2)}Gi` : `${Math.round(m / 2 ** 20)}Mi`);

/** The requests per namespace and their total; `budget` (the kind profile's 8 GiB laptop) is checked when given. */
export function formatSummary(rows: readonly NamespaceRequests[], budget?: number): string {
  const lines = rows.map(
    (r) => `  ${r.namespace.padEnd(16)} pods ${String(r.pods).padStart(3)}   cpu ${fmtCpu(r.cpu).padStart(6)}   memory ${fmtMem(r.memory).padStart(8)}`,
  );
  const total = rows.reduce((t, r) => ({ cpu: t.cpu + r.cpu, memory: t.memory + r.memory, pods: t.pods + r.pods }), { cpu: 0, memory: 0, pods: 0 });
  const ok = budget === undefined || total.memory <= budget;
  lines.push(
    `  ${'TOTAL'.padEnd(16)} pods ${String(total.pods).padStart(3)}   cpu ${fmtCpu(total.cpu).padStart(6)}   memory ${fmtMem(total.memory).padStart(8)}` +
      (budget === undefined ? '' : `   ${ok ? '<=' : '>'} ${budget / 2 ** 30}Gi budget: ${ok ? 'OK' : 'OVER BUDGET'}`),
  );
  return lines.join('\n');
}

import type { StatefulSizing } from '../config.js';
import { parseCpu, parseMemory, type ResourceSpec } from '../resources.js';

/**
 * Requests and limits of the logging stack, sized for one kind node inside the platform's 8 GiB budget
 * (summary.ts counts them). The JVMs get a fixed heap of half their memory (Elasticsearch's rule; the
 * rest is page cache and off-heap), Kibana 9 the 2Gi limit it needs to start and migrate saved objects.
 */
export const sizing = {
  kibana: { requests: { cpu: '100m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
  logstash: { requests: { cpu: '100m', memory: '640Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  filebeat: { requests: { cpu: '25m', memory: '100Mi' }, limits: { cpu: '200m', memory: '200Mi' } },
  bootstrap: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
} as const satisfies Record<string, ResourceSpec>;

/** JVM heaps (-Xms = -Xmx): half of the container's memory. */
export const heaps = { logstash: '320m' } as const;

/** Volumes: the snapshot repository, Logstash's data (dead letter queue); Elasticsearch's data is the config's. */
export const storage = { snapshots: '5Gi', logstashData: '1Gi' } as const;

/**
 * Elasticsearch from the config's sizing (profile kind: 1280Mi on one laptop node): the memory request is its
 * limit too (a JVM with a fixed heap gains nothing from a burst and must never be OOM-killed for one), the heap
 * half of it, CPU limited to at least one core.
 */
export function elasticsearchSizing(es: StatefulSizing): { resources: ResourceSpec; heap: string } {
  const cpuLimit = parseCpu(es.cpu) < 1 ? '1' : es.cpu;
  return {
    resources: { requests: { cpu: es.cpu, memory: es.memory }, limits: { cpu: cpuLimit, memory: es.memory } },
    heap: `${Math.floor(parseMemory(es.memory) / 2 ** 20 / 2)}m`,
  };
}

import type { ResourceSpec } from '../resources.js';

/**
 * Requests and limits of the logging stack, sized for one kind node inside the platform's 8 GiB budget
 * (summary.ts counts them). The JVMs get a fixed heap of half their memory (Elasticsearch's rule; the
 * rest is page cache and off-heap), Kibana 9 the 2Gi limit it needs to start and migrate saved objects.
 */
export const sizing = {
  elasticsearch: { requests: { cpu: '250m', memory: '1280Mi' }, limits: { cpu: '1', memory: '1280Mi' } },
  kibana: { requests: { cpu: '100m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
  logstash: { requests: { cpu: '100m', memory: '640Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  filebeat: { requests: { cpu: '25m', memory: '100Mi' }, limits: { cpu: '200m', memory: '200Mi' } },
  bootstrap: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
} as const satisfies Record<string, ResourceSpec>;

/** JVM heaps (-Xms = -Xmx): half of the container's memory. */
export const heaps = { elasticsearch: '640m', logstash: '320m' } as const;

/** Volumes: the data stream indices, the snapshot repository, Logstash's data (dead letter queue). */
export const storage = { elasticsearchData: '5Gi', snapshots: '5Gi', logstashData: '1Gi' } as const;

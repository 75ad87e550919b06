import client from 'prom-client';
import { DURATION_BUCKETS, METRIC } from './contract.js';

const durationBuckets = [...DURATION_BUCKETS];

/**
 * The metrics of API.md that every service exposes. Each service gets its own registry, so several
 * services (or test instances) can live in one process without sharing series.
 */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequestsTotal: new client.Counter({
      name: METRIC.httpRequests,
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers: [registry],
    }),
    httpRequestDuration: new client.Histogram({
      name: METRIC.httpRequestDuration,
      help: 'Time to answer an HTTP request, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    httpRequestsInFlight: new client.Gauge({
      name: METRIC.httpRequestsInFlight,
      help: 'HTTP requests being answered now.',
      registers: [registry],
    }),
    dbQueryDuration: new client.Histogram({
      name: METRIC.dbQueryDuration,
      help: 'Database query time, by operation.',
      labelNames: ['operation'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    logMessagesTotal: new client.Counter({
      name: METRIC.logMessages,
      help: 'Log lines written, by level.',
      labelNames: ['level'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** A service-specific counter on the service's registry. */
export function counter(metrics: Metrics, name: string, help: string): client.Counter {
  return new client.Counter({ name, help, registers: [metrics.registry] });
}

/** HTTP methods we label as themselves; anything else becomes OTHER so the label set stays bounded. */
const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export const methodLabel = (method: string): string => (knownMethods.has(method) ? method : 'OTHER');

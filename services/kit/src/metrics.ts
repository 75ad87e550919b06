import client from 'prom-client';

/** Seconds; covers a 1 ms cache hit up to a 10 s timeout. */
export const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      registers: [registry],
    }),
    httpRequestDuration: new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    httpRequestsInFlight: new client.Gauge({
      name: 'http_requests_in_flight',
      help: 'HTTP requests being answered now.',
      registers: [registry],
    }),
    dbQueryDuration: new client.Histogram({
      name: 'db_query_duration_seconds',
      help: 'Database query time, by operation.',
      labelNames: ['operation'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    logMessagesTotal: new client.Counter({
      name: 'log_messages_total',
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

import { DURATION_BUCKETS, type Metrics } from '@courseops/kit';
import client from 'prom-client';

/** circuit_breaker_state values (API.md). */
export const breakerStateValue = { closed: 0, halfOpen: 1, open: 2 } as const;

/**
 * The outbound-call metrics of API.md, on the service's own registry. `target` names the called
 * service, never its URL, so the label set stays small.
 */
export function createClientMetrics(metrics: Metrics) {
  const registers = [metrics.registry];
  return {
    requestsTotal: new client.Counter({
      name: 'http_client_requests_total',
      help: 'Outbound HTTP requests, by target service and status code ("error" when no answer came).',
      labelNames: ['target', 'status_code'] as const,
      registers,
    }),
    requestDuration: new client.Histogram({
      name: 'http_client_request_duration_seconds',
      help: 'Time until an outbound HTTP request was answered or gave up, by target service.',
      labelNames: ['target'] as const,
      buckets: [...DURATION_BUCKETS],
      registers,
    }),
    breakerState: new client.Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state by target service: 0 closed, 1 half-open, 2 open.',
      labelNames: ['target'] as const,
      registers,
    }),
  };
}
export type ClientMetrics = ReturnType<typeof createClientMetrics>;

import type { Metrics } from '@courseops/kit';
import { Counter } from 'prom-client';

/**
 * The status service's own series, on the service's registry. Labels stay bounded: target names come
 * from STATUS_TARGETS, results and alert statuses are fixed sets (validated before they are counted).
 */
export function createStatusMetrics(metrics: Metrics) {
  return {
    probes: new Counter({
      name: 'status_probe_total',
      help: 'Readiness probes of watched services, by target and result (operational, degraded, down).',
      labelNames: ['target', 'result'] as const,
      registers: [metrics.registry],
    }),
    alertsReceived: new Counter({
      name: 'status_alerts_received_total',
      help: 'Alerts received from Alertmanager, by status (firing, resolved).',
      labelNames: ['status'] as const,
      registers: [metrics.registry],
    }),
    incidentsShed: new Counter({
      name: 'status_incidents_shed_total',
      help: 'Open non-critical incidents deleted to keep the open ones within MAX_OPEN_INCIDENTS, oldest first.',
      registers: [metrics.registry],
    }),
  };
}

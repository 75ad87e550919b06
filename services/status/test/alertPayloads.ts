/** Alertmanager webhook payloads (version 4), shaped as Alertmanager sends them. */

export interface TestAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** Alertmanager's "not set" time (Go's zero time). */
const zeroTime = '0001-01-01T00:00:00Z';

export function firing(fingerprint: string, annotations: Record<string, string> = {}, labels: Record<string, string> = {}): TestAlert {
  return {
    status: 'firing',
    labels: { alertname: 'CourseHighErrorRate', severity: 'warning', namespace: 'courseops', ...labels },
    annotations,
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    endsAt: zeroTime,
    generatorURL: 'http://prometheus.test/graph?g0.expr=up',
    fingerprint,
  };
}

export const resolved = (alert: TestAlert, endsAt: string): TestAlert => ({ ...alert, status: 'resolved', endsAt });

export function webhookPayload(alerts: unknown[], status: 'firing' | 'resolved' = 'firing') {
  return {
    version: '4',
    groupKey: '{}:{alertname="CourseHighErrorRate"}',
    truncatedAlerts: 0,
    status,
    receiver: 'status-page',
    groupLabels: { alertname: 'CourseHighErrorRate' },
    commonLabels: { alertname: 'CourseHighErrorRate' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test',
    alerts,
  };
}

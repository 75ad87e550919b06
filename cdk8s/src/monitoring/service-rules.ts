/**
 * The rules of one service, derived from its declaration (services.ts): SLI recording rules, the
 * service's alerts and its multiwindow, multi-burn-rate SLO alerts. Label matchers follow what the
 * service's ServiceMonitor produces (microservice/monitoring.ts): `job` and `service` are the service
 * name, `namespace` its namespace; its PostgreSQL's exporter is job `<service>-postgresql`.
 */
import type { ServiceDecl } from '../services.js';
import {
  leMatcher,
  NON_SLI_ROUTE_MATCHER,
  percent as pct,
  selector,
  type AlertingRule,
  type RecordingRule,
  type RuleGroup,
  type Severity,
} from './rules.js';
import { databaseName } from '../data/postgresql.js';
import { thresholdsOf } from '../slo.js';

/** SLI windows of the recording rules: the Google SRE workbook's multiwindow pairs (5m/1h, 30m/6h, 2h/1d, 6h/3d). */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

/** Recorded SLI error ratio per window: `slo:sli_error:ratio_rate<window>{slo="availability"|"latency"}`. */
export const sliRecord = (window: SliWindow) => `slo:sli_error:ratio_rate${window}`;
export const P95_RECORD = 'service:http_request_duration_seconds:p95_rate5m';
export const REQUEST_RATE_RECORD = 'instance:http_requests:rate1m';

/**
 * Burn-rate alerts of the SRE workbook for a 30-day budget: page when 2 % of the budget goes in an hour
 * (14.4x over 5m and 1h) or 5 % in 6 hours (6x over 30m and 6h); ticket when 10 % goes in 3 days
 * (1x over 6h and 3d) or 5 % in a day (3x over 2h and 1d).
 */
export const BURN_RATES = {
  fast: { severity: 'critical', for: '2m', pairs: [{ factor: 14.4, short: '5m', long: '1h' }, { factor: 6, short: '30m', long: '6h' }] },
  slow: { severity: 'warning', for: '15m', pairs: [{ factor: 3, short: '2h', long: '1d' }, { factor: 1, short: '6h', long: '3d' }] },
} as const satisfies Record<string, { severity: Severity; for: string; pairs: readonly { factor: number; short: SliWindow; long: SliWindow }[] }>;

export interface ServiceRuleOptions {
  readonly namespace: string;
  /** Its database is the user's own (no postgres-exporter here): no DatabaseDown; readiness and errors still show it. */
  readonly externalDatabase?: boolean;
}

/** The job name of the service's PostgreSQL exporter (the ServiceMonitor's jobName is the database's name). */
export const databaseJob = databaseName;

/** The rule groups of one service: `<name>-sli` (recording rules) then `<name>-alerts`. */
export function serviceRuleGroups(decl: ServiceDecl, options: ServiceRuleOptions): RuleGroup[] {
  // The declaration's own thresholds (slo.ts): the dashboard and the canary gates read the same.
  const t = thresholdsOf(decl);
  const { namespace } = options;
  const name = decl.name;
  const target = { job: name, namespace };
  const sel = (...extra: string[]) => selector(target, ...extra);
  const traffic = sel(NON_SLI_ROUTE_MATCHER);
  const by = 'namespace, job, service';
  // Rule labels: every alert of the service carries `service` and `namespace` (routing, grouping, inhibition),
  // whatever the expression keeps (absent(), the database exporter's own `service` label, probes).
  const labels = (severity: Severity, extra: Record<string, string> = {}) => ({ severity, service: name, namespace, ...extra });
  const sloSel = (slo: 'availability' | 'latency') => selector({ ...target, slo });

  // --- recording rules
  const recording: RecordingRule[] = [];
  for (const w of SLI_WINDOWS) {
    const total = `sum by (${by}) (rate(http_requests_total${traffic}[${w}]))`;
    const errors = `sum by (${by}) (rate(http_requests_total${sel(NON_SLI_ROUTE_MATCHER, 'status_code=~"5.."')}[${w}]))`;
    recording.push({
      record: sliRecord(w),
      // `or ... * 0`: 0 instead of no series while no 5xx has been counted yet (prom-client creates a label set on first use).
      expr: `(${errors} or ${total} * 0) / ${total}`,
      labels: { slo: 'availability' },
    });
  }
  const le = leMatcher(t.latencyObjective.thresholdSeconds);
  for (const w of SLI_WINDOWS) {
    const fast = `sum by (${by}) (rate(http_request_duration_seconds_bucket${sel(NON_SLI_ROUTE_MATCHER, le)}[${w}]))`;
    const all = `sum by (${by}) (rate(http_request_duration_seconds_count${traffic}[${w}]))`;
    recording.push({ record: sliRecord(w), expr: `1 - ${fast} / ${all}`, labels: { slo: 'latency' } });
  }
  recording.push({
    record: P95_RECORD,
    expr: `histogram_quantile(0.95, sum by (${by}, le) (rate(http_request_duration_seconds_bucket${traffic}[5m])))`,
  });
  recording.push({
    record: REQUEST_RATE_RECORD,
    expr: `sum by (${by}, pod, instance) (rate(http_requests_total${traffic}[1m]))`,
  });

  // --- alerts
  const alerts: AlertingRule[] = [
    {
      alert: 'ServiceDown',
      expr: `max by (${by}) (up${sel()}) == 0`,
      for: '1m',
      labels: labels('critical'),
      annotations: {
        summary: `${name} is down: no instance answers scrapes`,
        description: `No ${name} target in namespace {{ $labels.namespace }} has answered a scrape for 1 minute: every pod is down or unreachable.`,
      },
    },
    {
      alert: 'ServiceInstanceDown',
      expr: `up${sel()} == 0`,
      for: '2m',
      labels: labels('warning'),
      annotations: {
        summary: `${name} instance {{ $labels.pod }} is down`,
        description: `Target {{ $labels.instance }} (pod {{ $labels.pod }}) of ${name} has failed its scrapes for 2 minutes; the other instances keep serving.`,
      },
    },
    {
      alert: 'ServiceTargetsAbsent',
      expr: `absent(up${sel()})`,
      for: '5m',
      labels: labels('critical'),
      annotations: {
        summary: `Prometheus has no ${name} target`,
        description: `No series up{job="${name}", namespace="{{ $labels.namespace }}"} for 5 minutes: the ServiceMonitor ${name} was not picked up, or the service has no pod at all.`,
      },
    },
    {
      alert: 'HighErrorRatio',
      expr: `${sliRecord('5m')}${sloSel('availability')} > ${t.errorRatio}`,
      for: '5m',
      labels: labels('warning'),
      annotations: {
        summary: `${name} answers more than ${pct(t.errorRatio)} of requests with 5xx`,
        description: `{{ $value | humanizePercentage }} of ${name} requests (without /healthz, /readyz, /metrics) failed with a 5xx status over the last 5 minutes (threshold ${pct(t.errorRatio)}).`,
      },
    },
    {
      alert: 'HighLatencyP95',
      expr: `${P95_RECORD}${sel()} > ${t.latencyP95Seconds}`,
      for: '5m',
      labels: labels('warning'),
      annotations: {
        summary: `${name} p95 latency above ${t.latencyP95Seconds}s`,
        description: `95 % of ${name} requests took up to {{ $value | humanizeDuration }} over the last 5 minutes (threshold ${t.latencyP95Seconds}s).`,
      },
    },
    {
      alert: 'HighRequestRate',
      expr: `${REQUEST_RATE_RECORD}${sel()} > ${t.requestsPerSecondPerInstance}`,
      for: '1m',
      labels: labels('info'),
      annotations: {
        summary: `${name} instance {{ $labels.pod }} serves more than ${t.requestsPerSecondPerInstance} requests/s`,
        description: `Pod {{ $labels.pod }} of ${name} has served {{ $value | humanize }} requests per second for a minute (threshold ${t.requestsPerSecondPerInstance}/s per instance).`,
      },
    },
    {
      alert: 'EndpointProbeFailing',
      // Blackbox exporter probes of the service carry `service="<name>"` (Probe staticConfig labels).
      expr: `probe_success${selector({ service: name })} == 0`,
      for: '1m',
      labels: labels('critical'),
      annotations: {
        summary: `Probe of ${name} endpoint {{ $labels.instance }} failing`,
        description: `The blackbox probe of {{ $labels.instance }} (${name}) has failed for 1 minute: the endpoint is unreachable or answers with an error from where the probe runs.`,
      },
    },
    {
      alert: 'ErrorLogSpike',
      expr: `sum by (${by}) (rate(log_messages_total${sel('level="error"')}[5m])) > ${t.errorLogsPerSecond}`,
      for: '5m',
      labels: labels('warning'),
      annotations: {
        summary: `${name} writes error logs at {{ $value | humanize }}/s`,
        description: `${name} has logged {{ $value | humanize }} error lines per second over the last 5 minutes (threshold ${t.errorLogsPerSecond}/s).`,
      },
    },
  ];

  if (decl.database && !options.externalDatabase) {
    const db = selector({ job: databaseJob(name), namespace });
    alerts.push({
      alert: 'DatabaseDown',
      expr: `max by (namespace, job) (pg_up${db}) == 0 or absent(pg_up${db})`,
      for: '1m',
      labels: labels('critical'),
      annotations: {
        summary: `${name}'s PostgreSQL is down`,
        description: `postgres-exporter ({{ $labels.job }}) has not reached ${name}'s database for 1 minute (pg_up is 0 or missing): ${name} is not ready and answers 503.`,
      },
    });
  }

  if ((decl.calls ?? []).length > 0) {
    alerts.push({
      alert: 'CircuitBreakerOpen',
      // The breaker half-opens after its reset timeout and re-opens on the next failure: "not closed once
      // in 2 minutes" (min >= 1) catches the open/half-open cycle of a dependency that stays down.
      expr: `max by (${by}, target) (min_over_time(circuit_breaker_state${sel()}[2m])) >= 1`,
      for: '1m',
      labels: labels('warning'),
      annotations: {
        summary: `${name}'s circuit breaker to {{ $labels.target }} is open`,
        description: `${name} has not closed its circuit breaker to {{ $labels.target }} for 3 minutes (state {{ $value }}: 1 half-open, 2 open): calls fail fast and answers are degraded.`,
      },
    });
  }

  const objectives = [
    { slo: 'availability', budget: 1 - t.availabilityObjective, what: `${pct(t.availabilityObjective)} availability (non-5xx answers)` },
    {
      slo: 'latency',
      budget: 1 - t.latencyObjective.ratio,
      what: `${pct(t.latencyObjective.ratio)} of requests within ${t.latencyObjective.thresholdSeconds}s`,
    },
  ] as const;
  for (const o of objectives) {
    const budget = Number(o.budget.toFixed(6));
    for (const [speed, b] of Object.entries(BURN_RATES) as [keyof typeof BURN_RATES, (typeof BURN_RATES)[keyof typeof BURN_RATES]][]) {
      const alert = `${o.slo === 'availability' ? 'Availability' : 'Latency'}BudgetBurn${speed === 'fast' ? 'Fast' : 'Slow'}`;
      const expr = b.pairs
        .map(
          (p) =>
            `(${sliRecord(p.short)}${sloSel(o.slo)} > (${p.factor} * ${budget}) and ${sliRecord(p.long)}${sloSel(o.slo)} > (${p.factor} * ${budget}))`,
        )
        .join(' or ');
      const pairs = b.pairs.map((p, i) => `${p.factor}x${i === 0 ? ' the sustainable rate' : ''} over ${p.short} and ${p.long}`).join(', or ');
      alerts.push({
        alert,
        expr,
        for: b.for,
        labels: labels(b.severity, { slo: o.slo }),
        annotations: {
          summary: `${name} is burning its ${o.slo} error budget ${speed === 'fast' ? 'fast' : 'steadily'}`,
          description:
            `${name}'s SLO (${o.what}) is spending its 30-day error budget (${pct(budget)}) at ${pairs}: ` +
            `SLI error ratio {{ $value | humanizePercentage }} over the short window.`,
        },
      });
    }
  }

  return [
    { name: `${name}-sli`, rules: recording },
    { name: `${name}-alerts`, rules: alerts },
  ];
}

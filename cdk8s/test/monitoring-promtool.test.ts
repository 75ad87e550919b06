import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ns } from '../src/namespaces.js';
import { RULES_DIR } from '../src/monitoring/files.js';
import { PLATFORM_GROUP } from '../src/monitoring/platform-rules.js';
import { databaseJob } from '../src/monitoring/service-rules.js';
import { services, type ServiceDecl } from '../src/services.js';
import { synthesized } from './support/platform.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../../scripts/box/build.js';

/**
 * promtool unit tests of every alert, on the rules files synth writes (dist/prometheus/rules/): for each
 * alert at least one case where it fires (labels and annotations checked exactly) and one where it stays
 * silent; SLI recording rules checked by value. The promtool of the Prometheus the chart runs (3.13.2,
 * built from its module: scripts/box/build.ts) runs them. Series follow API.md and what the
 * ServiceMonitors and kube-prometheus-stack's exporters produce (including the exporters' own `service`
 * target label, which the platform rules must drop).
 */
const run = promisify(execFile);
let PROMTOOL = '';
beforeAll(async () => {
  PROMTOOL = (await ensureTool('prometheus')).promtool!;
}, TOOL_BUILD_TIMEOUT_MS);
const { out } = synthesized();

type Labels = Record<string, string>;
interface RuleDef {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}

const ruleFiles = new Map([...out.files].filter(([f]) => f.startsWith(`${RULES_DIR}/`)).map(([f, c]) => [f.slice(RULES_DIR.length + 1), c]));
const groupsOf = (file: string) => (parse(ruleFiles.get(file)!) as { groups: { name: string; rules: RuleDef[] }[] }).groups;

// --- a small builder of promtool test files -------------------------------------------------------

const series = (metric: string, labels: Labels, values: string) => ({
  series: `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`,
  values,
});
type Series = ReturnType<typeof series>;

/** Scrape interval of the service and container cases (the platform scrapes every 15 s; 30 s halves promtool's work). */
const STEP = 30;
const steps = (minutes: number) => (minutes * 60) / STEP;
/** A counter growing `perSecond` for `minutes` (promtool's expanding notation `a+bxn`). */
const counter = (perSecond: number, minutes: number) => `0+${Number((perSecond * STEP).toFixed(6))}x${steps(minutes)}`;
const gauge = (value: number, minutes: number) => `${value}+0x${steps(minutes)}`;
const flat = (value: number, samples: number) => `${value}+0x${samples}`;
/** One value per scrape, from a list repeated to fill `minutes`. */
const cycle = (values: number[], minutes: number) => Array.from({ length: steps(minutes) + 1 }, (_, i) => values[i % values.length]).join(' ');

interface Expected {
  /** Every label of the alert but alertname. */
  labels: Labels;
  /** Text `{{ $value ... }}` renders to, when the annotations use it. */
  value?: string;
}
interface AlertCheck {
  alert: string;
  at: string;
  /** Empty: the alert must be silent at `at`. */
  fires: Expected[];
}
interface ExprCheck {
  expr: string;
  at: string;
  samples: { labels: Labels; value: number }[];
}
interface Case {
  name: string;
  interval: string;
  series: Series[];
  alerts: AlertCheck[];
  exprs?: ExprCheck[];
}

/** Fills a rule's annotation templates with the expected labels and value: what Prometheus must render. */
function expandAnnotations(rule: RuleDef, e: Expected): Record<string, string> {
  const labels = { ...e.labels };
  return Object.fromEntries(
    Object.entries(rule.annotations ?? {}).map(([k, template]) => {
      let text = template.replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_m, l: string) => {
        if (!(l in labels)) throw new Error(`${rule.alert}.${k} uses $labels.${l}, which the expected labels lack`);
        return labels[l]!;
      });
      text = text.replace(/\{\{[^}]*\$value[^}]*\}\}/g, () => {
        if (e.value === undefined) throw new Error(`${rule.alert}.${k} renders $value: give the expected value text`);
        return e.value;
      });
      if (text.includes('{{')) throw new Error(`${rule.alert}.${k}: template the test cannot expand: ${text}`);
      return [k, text];
    }),
  );
}

/** Coverage: alert name -> which outcomes the cases check. */
const coverage = new Map<string, { fires: number; silent: number }>();

function testFile(ruleFileNames: string[], dir: string, cases: Case[], options: { count?: boolean } = {}): string {
  const rules = ruleFileNames.flatMap((f) => groupsOf(f).flatMap((g) => g.rules)).filter((r) => r.alert);
  const ruleFor = (alert: string, labels: Labels) => {
    const candidates = rules.filter((r) => r.alert === alert);
    if (candidates.length === 0) throw new Error(`no alert ${alert} in ${ruleFileNames.join(', ')}`);
    // the rule whose own labels the expected alert carries (e.g. BackupTooOld's `reason`), else by severity
    return (
      candidates.find((r) => Object.entries(r.labels ?? {}).every(([k, v]) => labels[k] === v)) ??
      candidates.find((r) => r.labels?.severity === labels.severity) ??
      candidates[0]!
    );
  };
  const tests = cases.map((c) => ({
    name: c.name,
    interval: c.interval,
    input_series: c.series,
    alert_rule_test: c.alerts.map((a) => {
      if (options.count !== false) {
        const cov = coverage.get(a.alert) ?? { fires: 0, silent: 0 };
        if (a.fires.length > 0) cov.fires++;
        else cov.silent++;
        coverage.set(a.alert, cov);
      }
      return {
        eval_time: a.at,
        alertname: a.alert,
        exp_alerts: a.fires.map((e) => ({ exp_labels: e.labels, exp_annotations: expandAnnotations(ruleFor(a.alert, e.labels), e) })),
      };
    }),
    ...(c.exprs
      ? { promql_expr_test: c.exprs.map((x) => ({ expr: x.expr, eval_time: x.at, exp_samples: x.samples.map((s) => ({ labels: labelString(s.labels), value: s.value })) })) }
      : {}),
  }));
  return stringify(
    { rule_files: ruleFileNames.map((f) => join(dir, 'rules', f)), evaluation_interval: `${STEP}s`, tests },
    { lineWidth: 0 },
  );
}

const labelString = (labels: Labels) => {
  const { __name__: name, ...rest } = labels;
  return `${name ?? ''}{${Object.entries(rest)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;
};

// --- per-service cases -------------------------------------------------------------------------------

const namespace = ns.apps.name;

function serviceCases(decl: ServiceDecl): Case[] {
  const name = decl.name;
  const target = { job: name, namespace, service: name };
  const pod = (n: number) => `${name}-7c9d8f6b5-${['abcde', 'fghij'][n - 1]}`;
  const inst = (n: number) => ({ ...target, pod: pod(n), instance: `10.244.0.${n}:${decl.port}` });
  const route = `/api/${name}`;
  const http = (n: number, status: string, r = route) => ({ ...inst(n), method: 'GET', route: r, status_code: status });
  const alertLabels = (severity: string, extra: Labels = {}) => ({ job: name, namespace, service: name, severity, ...extra });

  const cases: Case[] = [
    {
      name: `${name}: every target down`,
      interval: `${STEP}s`,
      series: [series('up', inst(1), gauge(0, 4)), series('up', inst(2), gauge(0, 4))],
      alerts: [
        { alert: 'ServiceDown', at: '3m', fires: [{ labels: alertLabels('critical') }] },
        {
          alert: 'ServiceInstanceDown',
          at: '3m',
          fires: [1, 2].map((n) => ({ labels: { ...inst(n), severity: 'warning' } })),
        },
        { alert: 'ServiceTargetsAbsent', at: '3m', fires: [] },
      ],
    },
    {
      name: `${name}: one target down`,
      interval: `${STEP}s`,
      series: [series('up', inst(1), gauge(1, 4)), series('up', inst(2), gauge(0, 4))],
      alerts: [
        { alert: 'ServiceDown', at: '3m', fires: [] },
        { alert: 'ServiceInstanceDown', at: '3m', fires: [{ labels: { ...inst(2), severity: 'warning' } }] },
        // pending, not yet firing after 1 minute
        { alert: 'ServiceInstanceDown', at: '1m', fires: [] },
      ],
    },
    {
      name: `${name}: no target at all (ServiceMonitor not picked up)`,
      interval: `${STEP}s`,
      series: [series('up', { job: 'other', namespace, service: 'other', instance: '10.244.0.9:80' }, gauge(1, 10))],
      alerts: [
        { alert: 'ServiceTargetsAbsent', at: '4m', fires: [] },
        { alert: 'ServiceTargetsAbsent', at: '6m', fires: [{ labels: alertLabels('critical') }] },
        { alert: 'ServiceDown', at: '6m', fires: [] },
      ],
    },
    {
      name: `${name}: every target up`,
      interval: `${STEP}s`,
      series: [series('up', inst(1), gauge(1, 10)), series('up', inst(2), gauge(1, 10))],
      alerts: [
        { alert: 'ServiceTargetsAbsent', at: '8m', fires: [] },
        { alert: 'ServiceInstanceDown', at: '8m', fires: [] },
        { alert: 'ServiceDown', at: '8m', fires: [] },
      ],
    },
    {
      // 2 requests/s, 10 % of them 5xx; /readyz answering 503 at 20/s must not count (not user traffic).
      name: `${name}: 10% of requests fail`,
      interval: `${STEP}s`,
      series: [
        series('http_requests_total', http(1, '200'), counter(1.8, 20)),
        series('http_requests_total', http(1, '500'), counter(0.2, 20)),
        series('http_requests_total', http(1, '503', '/readyz'), counter(20, 20)),
      ],
      alerts: [
        { alert: 'HighErrorRatio', at: '4m', fires: [] },
        { alert: 'HighErrorRatio', at: '15m', fires: [{ labels: alertLabels('warning', { slo: 'availability' }), value: '10%' }] },
        { alert: 'AvailabilityBudgetBurnFast', at: '15m', fires: [{ labels: alertLabels('critical', { slo: 'availability' }), value: '10%' }] },
        { alert: 'AvailabilityBudgetBurnSlow', at: '20m', fires: [{ labels: alertLabels('warning', { slo: 'availability' }), value: '10%' }] },
        { alert: 'HighRequestRate', at: '15m', fires: [] },
      ],
      exprs: [
        ...(['5m', '1h', '3d'] as const).map((w) => ({
          expr: `slo:sli_error:ratio_rate${w}{job="${name}", slo="availability"}`,
          at: '10m',
          samples: [{ labels: { __name__: `slo:sli_error:ratio_rate${w}`, job: name, namespace, service: name, slo: 'availability' }, value: 0.1 }],
        })),
        {
          expr: `instance:http_requests:rate1m{job="${name}"}`,
          at: '10m',
          samples: [{ labels: { __name__: 'instance:http_requests:rate1m', ...inst(1) }, value: 2 }],
        },
      ],
    },
    {
      // 2 % errors: over the ticket thresholds (3x and 1x of a 0.5 % budget), under the page ones (14.4x, 6x).
      name: `${name}: 2% of requests fail`,
      interval: `${STEP}s`,
      series: [series('http_requests_total', http(1, '200'), counter(0.98, 20)), series('http_requests_total', http(1, '500'), counter(0.02, 20))],
      alerts: [
        { alert: 'HighErrorRatio', at: '20m', fires: [] },
        { alert: 'AvailabilityBudgetBurnFast', at: '20m', fires: [] },
        { alert: 'AvailabilityBudgetBurnSlow', at: '10m', fires: [] },
        { alert: 'AvailabilityBudgetBurnSlow', at: '20m', fires: [{ labels: alertLabels('warning', { slo: 'availability' }), value: '2%' }] },
      ],
    },
    {
      name: `${name}: no 5xx at all`,
      interval: `${STEP}s`,
      series: [series('http_requests_total', http(1, '200'), counter(2, 20)), series('http_requests_total', http(1, '404'), counter(0.2, 20))],
      alerts: [
        { alert: 'HighErrorRatio', at: '20m', fires: [] },
        { alert: 'AvailabilityBudgetBurnFast', at: '20m', fires: [] },
        { alert: 'AvailabilityBudgetBurnSlow', at: '20m', fires: [] },
      ],
      exprs: [
        {
          // 0, not "no data", while no 5xx series exists yet
          expr: `slo:sli_error:ratio_rate5m{job="${name}", slo="availability"}`,
          at: '10m',
          samples: [{ labels: { __name__: 'slo:sli_error:ratio_rate5m', job: name, namespace, service: name, slo: 'availability' }, value: 0 }],
        },
      ],
    },
    {
      // 6 requests/s on one pod, 2/s on the other; probes and scrapes (20/s) do not count.
      name: `${name}: request rate per instance`,
      interval: `${STEP}s`,
      series: [
        series('http_requests_total', http(1, '200'), counter(6, 10)),
        series('http_requests_total', http(2, '200'), counter(2, 10)),
        series('http_requests_total', http(2, '200', '/healthz'), counter(20, 10)),
      ],
      alerts: [
        { alert: 'HighRequestRate', at: '1m', fires: [] },
        { alert: 'HighRequestRate', at: '5m', fires: [{ labels: { ...inst(1), severity: 'info' }, value: '6' }] },
      ],
    },
    latencyCase(decl, '20% of requests slower than 0.5s', { count: 4, le025: 2.4, le05: 3.2, le1: 4 }, [
      { alert: 'HighLatencyP95', at: '4m', fires: [] },
      // p95 interpolated in the (0.5, 1] bucket: 0.5 + (3.8 - 3.2) / 0.8 * 0.5
      { alert: 'HighLatencyP95', at: '12m', fires: [{ labels: { job: name, namespace, service: name, severity: 'warning' }, value: '875ms' }] },
      { alert: 'LatencyBudgetBurnFast', at: '12m', fires: [{ labels: alertLabels('critical', { slo: 'latency' }), value: '20%' }] },
      { alert: 'LatencyBudgetBurnSlow', at: '20m', fires: [{ labels: alertLabels('warning', { slo: 'latency' }), value: '20%' }] },
    ]),
    latencyCase(decl, '2% of requests slower than 0.5s', { count: 5, le025: 4.5, le05: 4.9, le1: 5 }, [
      { alert: 'HighLatencyP95', at: '20m', fires: [] },
      { alert: 'LatencyBudgetBurnFast', at: '20m', fires: [] },
      // 2h/1d at 3x (3 %) stay silent; 6h/3d at 1x (1 %) fire, with the 6h ratio as value
      { alert: 'LatencyBudgetBurnSlow', at: '20m', fires: [{ labels: alertLabels('warning', { slo: 'latency' }), value: '2%' }] },
    ]),
    latencyCase(decl, 'every request within 0.25s', { count: 5, le025: 5, le05: 5, le1: 5 }, [
      { alert: 'HighLatencyP95', at: '20m', fires: [] },
      { alert: 'LatencyBudgetBurnFast', at: '20m', fires: [] },
      { alert: 'LatencyBudgetBurnSlow', at: '20m', fires: [] },
    ]),
    {
      name: `${name}: error logs at 2/s`,
      interval: `${STEP}s`,
      series: [
        series('log_messages_total', { ...inst(1), level: 'error' }, counter(2, 15)),
        series('log_messages_total', { ...inst(1), level: 'info' }, counter(40, 15)),
      ],
      alerts: [
        { alert: 'ErrorLogSpike', at: '3m', fires: [] },
        { alert: 'ErrorLogSpike', at: '12m', fires: [{ labels: { job: name, namespace, service: name, severity: 'warning' }, value: '2' }] },
      ],
    },
    {
      name: `${name}: a few error logs, many warnings`,
      interval: `${STEP}s`,
      series: [
        series('log_messages_total', { ...inst(1), level: 'error' }, counter(0.05, 15)),
        series('log_messages_total', { ...inst(1), level: 'warn' }, counter(20, 15)),
      ],
      alerts: [{ alert: 'ErrorLogSpike', at: '12m', fires: [] }],
    },
    {
      name: `${name}: blackbox probe fails`,
      interval: `${STEP}s`,
      series: [
        series('probe_success', { job: 'blackbox', instance: `https://api.courseops.test/${name}`, service: name }, gauge(0, 4)),
        series('probe_success', { job: 'blackbox', instance: 'https://status.courseops.test/', service: 'elsewhere' }, gauge(0, 4)),
      ],
      alerts: [
        { alert: 'EndpointProbeFailing', at: '30s', fires: [] },
        {
          alert: 'EndpointProbeFailing',
          at: '3m',
          fires: [{ labels: { job: 'blackbox', instance: `https://api.courseops.test/${name}`, namespace, service: name, severity: 'critical' } }],
        },
      ],
    },
    {
      name: `${name}: blackbox probe succeeds`,
      interval: `${STEP}s`,
      series: [series('probe_success', { job: 'blackbox', instance: `https://api.courseops.test/${name}`, service: name }, gauge(1, 4))],
      alerts: [{ alert: 'EndpointProbeFailing', at: '3m', fires: [] }],
    },
  ];

  if (decl.database) {
    const dbJob = databaseJob(name);
    const exporter = { job: dbJob, namespace, service: dbJob, pod: `${dbJob}-0`, instance: '10.244.0.20:9187' };
    const fires = [{ labels: { job: dbJob, namespace, service: name, severity: 'critical' } }];
    cases.push(
      {
        name: `${name}: database down (pg_up 0)`,
        interval: `${STEP}s`,
        series: [series('pg_up', exporter, gauge(0, 4))],
        alerts: [
          { alert: 'DatabaseDown', at: '30s', fires: [] },
          { alert: 'DatabaseDown', at: '3m', fires },
        ],
      },
      {
        name: `${name}: database exporter gone (pg_up absent)`,
        interval: `${STEP}s`,
        series: [series('up', inst(1), gauge(1, 4))],
        alerts: [{ alert: 'DatabaseDown', at: '3m', fires }],
      },
      {
        name: `${name}: database up`,
        interval: `${STEP}s`,
        series: [series('pg_up', exporter, gauge(1, 4))],
        alerts: [{ alert: 'DatabaseDown', at: '3m', fires: [] }],
      },
    );
  }

  for (const call of decl.calls ?? []) {
    const breaker = { ...inst(1), target: call.service };
    cases.push(
      {
        // open (2) and half-open (1) in turns: the dependency keeps failing the trial calls
        name: `${name}: circuit breaker to ${call.service} keeps opening`,
        interval: `${STEP}s`,
        series: [series('circuit_breaker_state', breaker, cycle([2, 2, 1], 5))],
        alerts: [
          { alert: 'CircuitBreakerOpen', at: '30s', fires: [] },
          { alert: 'CircuitBreakerOpen', at: '4m', fires: [{ labels: { job: name, namespace, service: name, target: call.service, severity: 'warning' }, value: '1' }] },
        ],
      },
      {
        name: `${name}: circuit breaker to ${call.service} opens briefly, then closes`,
        interval: `${STEP}s`,
        series: [series('circuit_breaker_state', breaker, '0 0 2 1 0 0 0 0 0 0 0')],
        alerts: [{ alert: 'CircuitBreakerOpen', at: '4m', fires: [] }],
      },
    );
  }
  return cases;
}

/** Requests per second to the service's API, by bucket; /metrics requests (all slow) must not count. */
function latencyCase(
  decl: ServiceDecl,
  what: string,
  perStep: { count: number; le025: number; le05: number; le1: number },
  alerts: AlertCheck[],
): Case {
  const base = { job: decl.name, namespace, service: decl.name, pod: `${decl.name}-7c9d8f6b5-abcde`, instance: `10.244.0.1:${decl.port}`, method: 'GET', status_code: '200' };
  const api = { ...base, route: `/api/${decl.name}` };
  const metrics = { ...base, route: '/metrics' };
  const n = 20; // minutes
  const buckets = (labels: Labels, per: { le025: number; le05: number; le1: number; count: number }) => [
    series('http_request_duration_seconds_bucket', { ...labels, le: '0.25' }, counter(per.le025, n)),
    series('http_request_duration_seconds_bucket', { ...labels, le: '0.5' }, counter(per.le05, n)),
    series('http_request_duration_seconds_bucket', { ...labels, le: '1' }, counter(per.le1, n)),
    series('http_request_duration_seconds_bucket', { ...labels, le: '2.5' }, counter(per.count, n)),
    series('http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }, counter(per.count, n)),
    series('http_request_duration_seconds_count', labels, counter(per.count, n)),
  ];
  return {
    name: `${decl.name}: ${what}`,
    interval: `${STEP}s`,
    series: [...buckets(api, perStep), ...buckets(metrics, { le025: 0, le05: 0, le1: 0, count: 10 })],
    alerts,
  };
}

// --- backup cases (cdk8s/src/data/backup.ts) -------------------------------------------------------------

/**
 * The backup Jobs push to the Pushgateway, scraped with honorLabels: the series carry the pushed grouping
 * key (job, namespace, service, database) plus the scrape's own target labels. Samples every 5 minutes
 * over 27 hours: the last success, as a timestamp in seconds of the simulated clock (promtool starts at 0).
 */
function backupCases(decl: ServiceDecl): Case[] {
  const name = decl.name;
  const pushed = { job: 'courseops-backup', namespace, service: name, database: name, endpoint: 'http', container: 'pushgateway', pod: 'prometheus-pushgateway-5d8f9c7b6-abcde' };
  const samples = 27 * 12; // 27 h at 5 m
  const fired = (extra: Labels) => ({ namespace, service: name, severity: 'warning', ...extra });
  return [
    {
      // one backup at t=0, then none: 27 h later the last good one is older than 26 h
      name: `${name}: the nightly backup stopped succeeding`,
      interval: '5m',
      series: [
        series('backup_last_success_timestamp_seconds', pushed, flat(0, samples)),
        series('backup_last_status', pushed, `1x144 0x${samples - 144}`),
      ],
      alerts: [
        { alert: 'BackupTooOld', at: '25h', fires: [] },
        { alert: 'BackupTooOld', at: '27h', fires: [{ labels: fired({ database: name, reason: 'stale' }), value: '1d 3h 0m 0s' }] },
        { alert: 'BackupFailed', at: '11h', fires: [] },
        { alert: 'BackupFailed', at: '13h', fires: [{ labels: fired({ database: name }), value: '0' }] },
      ],
    },
    {
      // a backup at t=0 and one at 24 h, every run successful
      name: `${name}: nightly backups succeed`,
      interval: '5m',
      series: [
        series('backup_last_success_timestamp_seconds', pushed, `0x287 86400x${samples - 287}`),
        series('backup_last_status', pushed, flat(1, samples)),
      ],
      alerts: [
        { alert: 'BackupTooOld', at: '23h', fires: [] },
        { alert: 'BackupTooOld', at: '27h', fires: [] },
        { alert: 'BackupFailed', at: '27h', fires: [] },
      ],
    },
    {
      // every run fails from the start: no success series at all (the status is pushed, the success time never)
      name: `${name}: no backup ever succeeded`,
      interval: '5m',
      series: [series('backup_last_status', pushed, flat(0, samples))],
      alerts: [
        { alert: 'BackupTooOld', at: '25h', fires: [] },
        { alert: 'BackupTooOld', at: '27h', fires: [{ labels: fired({ reason: 'missing' }) }] },
        { alert: 'BackupFailed', at: '27h', fires: [{ labels: fired({ database: name }), value: '0' }] },
      ],
    },
    {
      // another service's success does not count for this one
      name: `${name}: only another service has backups`,
      interval: '5m',
      series: [series('backup_last_success_timestamp_seconds', { ...pushed, service: 'elsewhere', database: 'elsewhere' }, flat(90000, samples))],
      alerts: [{ alert: 'BackupTooOld', at: '27h', fires: [{ labels: fired({ reason: 'missing' }) }] }],
    },
  ];
}

// --- platform cases ---------------------------------------------------------------------------------

function platformCases(): Case[] {
  const kubelet = { job: 'kubelet', service: 'kube-prometheus-stack-kubelet', metrics_path: '/metrics/cadvisor', instance: '172.18.0.2:10250', node: 'courseops-control-plane' };
  const ksm = { job: 'kube-state-metrics', service: 'kube-prometheus-stack-kube-state-metrics', instance: '10.244.0.30:8080' };
  const c = (namespace: string, pod: string, container: string) => ({ namespace, pod, container });
  const course = c(namespace, 'course-7c9d8f6b5-abcde', 'course');
  const db = c(namespace, 'teacher-postgresql-0', 'postgresql');
  const stray = c(namespace, 'debug-shell', 'shell');
  const system = c('kube-system', 'coredns-5d78c9869d-abcde', 'coredns');
  const n = 15; // minutes
  const cpu = (who: Labels, cores: number) => series('container_cpu_usage_seconds_total', { ...kubelet, ...who }, counter(cores, n));
  const limit = (who: Labels, resource: string, value: number) =>
    series('kube_pod_container_resource_limits', { ...ksm, ...who, resource, unit: resource === 'cpu' ? 'core' : 'byte' }, gauge(value, n));
  const mem = (who: Labels, bytes: number) => series('container_memory_working_set_bytes', { ...kubelet, ...who }, gauge(bytes, n));
  const Mi = 2 ** 20;
  const fired = (who: Labels, service: string | undefined, value?: string): Expected => ({
    labels: { ...who, ...(service ? { service } : {}), severity: 'warning' },
    ...(value ? { value } : {}),
  });

  const volume = (pvc: string, available: string, namespaceName: string = namespace) => {
    const labels = { ...kubelet, metrics_path: '/metrics', namespace: namespaceName, persistentvolumeclaim: pvc };
    return [series('kubelet_volume_stats_capacity_bytes', labels, flat(1e9, 96)), series('kubelet_volume_stats_available_bytes', labels, available)];
  };

  return [
    {
      name: 'platform: CPU near the limit',
      interval: `${STEP}s`,
      series: [
        cpu(course, 0.45),
        limit(course, 'cpu', 0.5),
        cpu(db, 0.2),
        limit(db, 'cpu', 1),
        cpu(stray, 0.95),
        limit(stray, 'cpu', 1),
        cpu(system, 2),
        limit(system, 'cpu', 0.1),
        // the pod-level cgroup (container="") is not a container
        series('container_cpu_usage_seconds_total', { ...kubelet, namespace, pod: course.pod, container: '' }, counter(2, n)),
      ],
      alerts: [
        { alert: 'ContainerCpuNearLimit', at: '4m', fires: [] },
        { alert: 'ContainerCpuNearLimit', at: '12m', fires: [fired(course, 'course', '90%'), fired(stray, undefined, '95%')] },
      ],
    },
    {
      name: 'platform: CPU well under the limit',
      interval: `${STEP}s`,
      series: [cpu(course, 0.2), limit(course, 'cpu', 0.5)],
      alerts: [{ alert: 'ContainerCpuNearLimit', at: '12m', fires: [] }],
    },
    {
      name: 'platform: memory near the limit',
      interval: `${STEP}s`,
      series: [
        mem(c(namespace, 'course-postgresql-0', 'postgresql'), 480 * Mi),
        limit(c(namespace, 'course-postgresql-0', 'postgresql'), 'memory', 512 * Mi),
        mem(course, 128 * Mi),
        limit(course, 'memory', 256 * Mi),
      ],
      alerts: [
        { alert: 'ContainerMemoryNearLimit', at: '4m', fires: [] },
        { alert: 'ContainerMemoryNearLimit', at: '12m', fires: [fired(c(namespace, 'course-postgresql-0', 'postgresql'), 'course', '93.75%')] },
      ],
    },
    {
      name: 'platform: memory at half the limit',
      interval: `${STEP}s`,
      series: [mem(course, 128 * Mi), limit(course, 'memory', 256 * Mi)],
      alerts: [{ alert: 'ContainerMemoryNearLimit', at: '12m', fires: [] }],
    },
    {
      name: 'platform: crash loops (restarts, CrashLoopBackOff)',
      interval: `${STEP}s`,
      series: [
        series('kube_pod_container_status_restarts_total', { ...ksm, ...c(namespace, 'teacher-7c9d8f6b5-abcde', 'teacher') }, '0 0 1 1 2 2 3 3 4 4 5'),
        series('kube_pod_container_status_restarts_total', { ...ksm, ...c(namespace, 'status-7c9d8f6b5-abcde', 'status') }, gauge(5, 5)),
        series('kube_pod_container_status_waiting_reason', { ...ksm, ...c(namespace, 'status-7c9d8f6b5-abcde', 'status'), reason: 'CrashLoopBackOff' }, gauge(1, 5)),
        series('kube_pod_container_status_restarts_total', { ...ksm, ...c('kube-system', 'kube-proxy-abcde', 'kube-proxy') }, counter(0.1, 5)),
      ],
      alerts: [
        {
          alert: 'PodCrashLooping',
          at: '5m',
          fires: [fired(c(namespace, 'teacher-7c9d8f6b5-abcde', 'teacher'), 'teacher'), fired(c(namespace, 'status-7c9d8f6b5-abcde', 'status'), 'status')],
        },
      ],
    },
    {
      name: 'platform: old restarts, a container starting',
      interval: `${STEP}s`,
      series: [
        series('kube_pod_container_status_restarts_total', { ...ksm, ...course }, gauge(7, 5)),
        series('kube_pod_container_status_waiting_reason', { ...ksm, ...course, reason: 'ContainerCreating' }, gauge(1, 5)),
      ],
      alerts: [{ alert: 'PodCrashLooping', at: '5m', fires: [] }],
    },
    {
      // 5-minute samples over 8 hours: course's volume loses 1 MB every 5 minutes from 20 % free (fills
      // within 4 days once under 15 %); teacher's sits at 2 % free; status's is flat at 50 %.
      name: 'platform: volumes filling up',
      interval: '5m',
      series: [
        ...volume('data-course-postgresql-0', `200000000-1000000x96`),
        ...volume('data-teacher-postgresql-0', flat(20000000, 96)),
        ...volume('data-status-postgresql-0', flat(500000000, 96)),
        ...volume('prometheus-data', flat(10000000, 96), 'monitoring'),
      ],
      alerts: [
        { alert: 'PersistentVolumeFillingUp', at: '3h', fires: [{ labels: { namespace, persistentvolumeclaim: 'data-teacher-postgresql-0', service: 'teacher', severity: 'critical' }, value: '2%' }] },
        {
          alert: 'PersistentVolumeFillingUp',
          at: '7h',
          fires: [
            { labels: { namespace, persistentvolumeclaim: 'data-course-postgresql-0', service: 'course', severity: 'warning' }, value: '11.6%' },
            { labels: { namespace, persistentvolumeclaim: 'data-teacher-postgresql-0', service: 'teacher', severity: 'critical' }, value: '2%' },
          ],
        },
      ],
    },
    {
      name: 'platform: volumes with room',
      interval: '5m',
      series: volume('data-status-postgresql-0', flat(500000000, 96)),
      alerts: [{ alert: 'PersistentVolumeFillingUp', at: '7h', fires: [] }],
    },
  ];
}

// --- run -----------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'courseops-promtool-'));
// KEEP_PROMTOOL_DIR=1 keeps the generated rules and test files (path printed) to run promtool by hand.
afterAll(() => (process.env.KEEP_PROMTOOL_DIR ? console.log(dir) : rmSync(dir, { recursive: true, force: true })));
mkdirSync(join(dir, 'rules'));
mkdirSync(join(dir, 'tests'));
for (const [file, content] of ruleFiles) writeFileSync(join(dir, 'rules', file), content);

const suites = [
  ...services.map((decl) => ({
    name: decl.name,
    file: testFile([`${decl.name}-sli.rules.yaml`, `${decl.name}-alerts.rules.yaml`], dir, serviceCases(decl)),
  })),
  ...services
    .filter((decl) => decl.database)
    .map((decl) => ({ name: `${decl.name}-backup`, file: testFile([`${decl.name}-backup.rules.yaml`], dir, backupCases(decl)) })),
  { name: 'platform', file: testFile([`${PLATFORM_GROUP}.rules.yaml`], dir, platformCases()) },
];
for (const s of suites) writeFileSync(join(dir, 'tests', `${s.name}.test.yaml`), s.file);

const promtool = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: dir });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: string | number; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error(`${PROMTOOL} not found`);
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
};

describe.concurrent('promtool check rules', () => {
  it.each([...ruleFiles.keys()])('%s', async (file) => {
    const r = await promtool('check', 'rules', join(dir, 'rules', file));
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.ok, r.output).toBe(true);
  });
});

describe('promtool test rules', () => {
  // One promtool per suite, side by side (each takes a few seconds of simulated evaluation).
  it.concurrent.each(suites.map((s) => [s.name] as const))('%s', async (name) => {
    const r = await promtool('test', 'rules', join(dir, 'tests', `${name}.test.yaml`));
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toContain('SUCCESS');
    // CPU-bound simulated evaluation, all suites at once beside the rest of the test run: past 30 s on a busy machine.
  }, 120_000);

  it('every alert of every rules file has a case where it fires and one where it stays silent', () => {
    const alerts = [...ruleFiles.keys()].flatMap((f) => groupsOf(f).flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => !!a)));
    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of new Set(alerts)) {
      const cov = coverage.get(alert);
      expect(cov?.fires ?? 0, `${alert} fires in a case`).toBeGreaterThan(0);
      expect(cov?.silent ?? 0, `${alert} stays silent in a case`).toBeGreaterThan(0);
    }
  });

  it('a wrong expectation fails (the harness is not vacuous)', async () => {
    const wrong = testFile(
      [`course-sli.rules.yaml`, `course-alerts.rules.yaml`],
      dir,
      [
        {
          name: 'ServiceDown expected while every target is up',
          interval: `${STEP}s`,
          series: [series('up', { job: 'course', namespace, service: 'course', instance: 'x' }, gauge(1, 4))],
          alerts: [{ alert: 'ServiceDown', at: '3m', fires: [{ labels: { job: 'course', namespace, service: 'course', severity: 'critical' } }] }],
        },
      ],
      { count: false },
    );
    writeFileSync(join(dir, 'tests', 'wrong.test.yaml'), wrong);
    const r = await promtool('test', 'rules', join(dir, 'tests', 'wrong.test.yaml'));
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/FAILED/);
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildPlatform } from '../src/app.js';
import { DASHBOARD_LABEL, DASHBOARDS_DIR } from '../src/monitoring/dashboards/configmaps.js';
import { PLATFORM_DASHBOARD_UIDS } from '../src/monitoring/dashboards/platform.js';
import { serviceDashboardUid } from '../src/monitoring/dashboards/service.js';
import { ns } from '../src/namespaces.js';
import { services, type ServiceDecl } from '../src/services.js';
import { render } from '../src/synth.js';
import { ofKind, synthesized, type K8sObject } from './support/platform.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../../scripts/box/build.js';

/**
 * Grafana dashboards (monitoring/dashboards): ConfigMaps for the sidecar, dashboard conventions, the
 * metric names every panel query uses, PromQL syntax (promtool), and the dist/grafana/dashboards files.
 */
const run = promisify(execFile);
const { out, objects } = synthesized();

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  fieldConfig?: { defaults?: { unit?: string } };
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  panels: Panel[];
  templating: { list: { type: string; name: string; query?: unknown }[] };
}

const dashboardMaps = ofKind(objects, 'ConfigMap').filter((o) => o.metadata.labels?.[DASHBOARD_LABEL] !== undefined);
const dataOf = (o: K8sObject) => (o as unknown as { data: Record<string, string> }).data;
const dashboards: { map: K8sObject; key: string; json: string; d: Dashboard }[] = dashboardMaps.flatMap((map) =>
  Object.entries(dataOf(map)).map(([key, json]) => ({ map, key, json, d: JSON.parse(json) as Dashboard })),
);
const panelsOf = (d: Dashboard): Panel[] => d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
const allExprs = dashboards.flatMap(({ d }) => panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => ({ uid: d.uid, panel: p.title, expr: t.expr ?? '' }))));

// --- metric names --------------------------------------------------------------------------------

/** ../shared/API.md "Metrics every service exposes" and the service-specific counters. */
const API_COUNTERS_AND_GAUGES = [
  'http_requests_total',
  'http_requests_in_flight',
  'log_messages_total',
  'courses_created_total',
  'courses_deleted_total',
  'teachers_created_total',
  'teacher_course_assignments_total',
  'http_client_requests_total',
  'circuit_breaker_state',
];
const API_HISTOGRAMS = ['http_request_duration_seconds', 'db_query_duration_seconds', 'http_client_request_duration_seconds'];
/** prom-client default metrics (API.md: nodejs_*, process_*) and the exporters kube-prometheus-stack and the databases run. */
const KNOWN_PREFIXES = ['nodejs_', 'process_', 'node_', 'kube_', 'container_', 'pg_'];
/** Prometheus' own per-target series. */
const PROMETHEUS_SERIES = ['up'];
const recorded = new Set(
  ofKind(objects, 'PrometheusRule').flatMap((o) =>
    ((o.spec as { groups: { rules: { record?: string }[] }[] }).groups ?? []).flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))),
  ),
);
const allowed = new Set([
  ...API_COUNTERS_AND_GAUGES,
  ...API_HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_count`, `${h}_sum`]),
  ...PROMETHEUS_SERIES,
  ...recorded,
]);
const isAllowed = (metric: string) => allowed.has(metric) || KNOWN_PREFIXES.some((p) => metric.startsWith(p));

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * Metric names of a PromQL expression: strings, label matchers, ranges and grouping clauses are dropped,
 * then every identifier that is not a function call (followed by `(`), a keyword or part of a number is a metric.
 */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/'(?:[^'\\]|\\.)*'/g, "''");
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  const token = /(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/gi;
  for (const m of s.matchAll(token)) {
    if (m[1] || !m[2] || m[3]) continue;
    if (KEYWORDS.has(m[2].toLowerCase())) continue;
    names.push(m[2]);
  }
  return [...new Set(names)];
}

/** Grafana variables an expr may use, and what promtool sees instead. */
const SUBSTITUTIONS: Record<string, string> = { $__rate_interval: '5m', $__range: '1h', $service: 'course' };
const substitute = (expr: string) => expr.replace(/\$(__rate_interval|__range|service)\b/g, (v) => SUBSTITUTIONS[v]!);

describe('metric name tokenizer', () => {
  it('finds metrics, not functions, labels, keywords or numbers', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket{job="a", route!~"/x|/y"}[5m]))) / on (job) group_left up or vector(1e3)',
      ),
    ).toEqual(['http_request_duration_seconds_bucket', 'up']);
    expect(metricNames('1 - max by (job) (avg_over_time(slo:sli_error:ratio_rate1h{slo="latency"}[30d])) / 0.01')).toEqual(['slo:sli_error:ratio_rate1h']);
    expect(isAllowed('http_requests_total') && isAllowed('slo:sli_error:ratio_rate5m') && isAllowed('pg_up')).toBe(true);
    expect(isAllowed('http_requests_seconds') || isAllowed('foo_total') || isAllowed('http_request_duration_seconds')).toBe(false);
    expect(metricNames('label_replace(foo_total, "service", "$1", "pod", "(a|b)-.+")')).toEqual(['foo_total']);
  });
});

// --- ConfigMaps and conventions --------------------------------------------------------------------

describe('Grafana dashboards', () => {
  it('ships every dashboard as a ConfigMap labelled grafana_dashboard="1" holding <uid>.json', () => {
    expect(dashboardMaps.length).toBeGreaterThanOrEqual(services.length + Object.keys(PLATFORM_DASHBOARD_UIDS).length);
    for (const { map, key, d } of dashboards) {
      expect(map.metadata.labels?.[DASHBOARD_LABEL], map.metadata.name).toBe('1');
      expect(Object.keys(dataOf(map)), map.metadata.name).toHaveLength(1);
      expect(key).toBe(`${d.uid}.json`);
      expect([ns.monitoring.name, ns.apps.name]).toContain(map.metadata.namespace);
    }
  });

  it('gives every dashboard a unique stable uid, a title and the courseops tag', () => {
    const uids = dashboards.map(({ d }) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids).toEqual(expect.arrayContaining([...Object.values(PLATFORM_DASHBOARD_UIDS), ...services.map((s) => serviceDashboardUid(s.name))]));
    for (const { d } of dashboards) {
      expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(d.title).toMatch(/^courseops \/ /);
      expect(d.tags).toEqual(['courseops']);
    }
  });

  it('selects Prometheus through a datasource variable used by every panel and target', () => {
    for (const { d } of dashboards) {
      const v = d.templating.list.find((x) => x.type === 'datasource');
      expect(v, d.uid).toMatchObject({ name: 'datasource', query: 'prometheus' });
      for (const p of panelsOf(d)) {
        expect(p.datasource, `${d.uid} / ${p.title}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
        for (const t of p.targets ?? []) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
  });

  it('gives every panel a unit and at least one target with an expr, with distinct refIds', () => {
    for (const { d } of dashboards) {
      for (const p of panelsOf(d)) {
        const where = `${d.uid} / ${p.title}`;
        expect(p.fieldConfig?.defaults?.unit, where).toBeTruthy();
        const targets = (p.targets ?? []).filter((t) => (t.expr ?? '').trim() !== '');
        expect(targets.length, where).toBeGreaterThan(0);
        const refIds = targets.map((t) => t.refId);
        expect(new Set(refIds).size, where).toBe(refIds.length);
      }
    }
  });

  it('uses only metrics from API.md, the recording rules and the known exporters', () => {
    expect(allExprs.length).toBeGreaterThan(50);
    for (const { uid, panel, expr } of allExprs) {
      const names = metricNames(expr);
      expect(names.length, `${uid} / ${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(isAllowed(name), `${uid} / ${panel}: ${name} in ${expr}`).toBe(true);
    }
  });

  it('uses only the documented template variables, and defines $service where it is used', () => {
    for (const { d } of dashboards) {
      const exprs = panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
      for (const e of exprs) {
        for (const v of e.match(/\$\{?\w+\}?/g) ?? []) expect(Object.keys(SUBSTITUTIONS), `${d.uid}: ${e}`).toContain(v);
      }
      const usesService = exprs.some((e) => e.includes('$service'));
      expect(d.templating.list.some((v) => v.name === 'service'), d.uid).toBe(usesService);
    }
  });

  it('keeps /healthz, /readyz and /metrics out of the RED request rates except the panel that shows them', () => {
    for (const s of services) {
      const d = dashboards.find((x) => x.d.uid === serviceDashboardUid(s.name))!.d;
      for (const p of panelsOf(d)) {
        for (const t of p.targets ?? []) {
          // Raw series only: the recorded ones (slo:*, service:*) exclude these routes in the recording rules.
          if (!/\bhttp_requests?_(total|duration_seconds_\w+)\{/.test(t.expr ?? '')) continue;
          if (p.title.startsWith('Probe and scrape')) expect(t.expr).toContain('route=~"/healthz|/readyz|/metrics"');
          else expect(t.expr, p.title).toContain('route!~"/healthz|/readyz|/metrics"');
        }
      }
    }
  });

  it('has a RED dashboard per declared service, in its namespace and manifest file, matching its job', () => {
    for (const s of services) {
      const found = dashboards.find((x) => x.d.uid === serviceDashboardUid(s.name));
      expect(found, s.name).toBeDefined();
      expect(found!.map.metadata.namespace).toBe(ns.apps.name);
      const manifest = [...out.files].find(([f]) => f.startsWith('manifests/') && f.endsWith(`-${s.name}.yaml`))![1];
      expect(manifest).toContain(`name: dashboard-${serviceDashboardUid(s.name)}`);
      const exprs = panelsOf(found!.d).flatMap((p) => (p.targets ?? []).map((t) => t.expr!));
      expect(exprs.join('\n')).toContain(`job="${s.name}"`);
      for (const q of ['0.5', '0.95', '0.99']) expect(exprs.some((e) => e.startsWith(`histogram_quantile(${q}, sum by (route, le)`))).toBe(true);
      expect(exprs.some((e) => e.includes('http_requests_in_flight'))).toBe(true);
      // Dependency and database panels only where the declaration has them.
      expect(exprs.some((e) => e.includes('circuit_breaker_state'))).toBe((s.calls ?? []).length > 0);
      expect(exprs.some((e) => e.includes('pg_up'))).toBe(Boolean(s.database));
    }
  });

  it('derives the RED dashboards from the declarations: a new service gets one', () => {
    const extra: ServiceDecl = { ...services[0]!, name: 'grading', ingress: { host: 'api', path: '/api/grades' } };
    const o = render(buildPlatform({ services: [...services, extra] }));
    expect(o.files.has(`${DASHBOARDS_DIR}/${serviceDashboardUid('grading')}.json`)).toBe(true);
    const overview = JSON.parse(o.files.get(`${DASHBOARDS_DIR}/${PLATFORM_DASHBOARD_UIDS.overview}.json`)!) as Dashboard;
    expect(JSON.stringify(overview.panels)).toContain('grading');
  });

  it('writes dist/grafana/dashboards/<uid>.json equal to the ConfigMap contents', () => {
    const files = [...out.files.keys()].filter((f) => f.startsWith(`${DASHBOARDS_DIR}/`));
    expect(files.sort()).toEqual(dashboards.map(({ d }) => `${DASHBOARDS_DIR}/${d.uid}.json`).sort());
    for (const { d, json } of dashboards) expect(out.files.get(`${DASHBOARDS_DIR}/${d.uid}.json`)).toBe(json);
  });
});

// --- PromQL syntax ----------------------------------------------------------------------------------

describe('dashboard queries (promtool)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'courseops-dashboards-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Prometheus' own promtool at the chart's version, built from its module (cached; see scripts/box/build.ts).
  let promtool = '';
  beforeAll(async () => {
    promtool = (await ensureTool('prometheus')).promtool!;
  }, TOOL_BUILD_TIMEOUT_MS);

  it('are valid PromQL once the Grafana variables are substituted', async () => {
    const rules = allExprs.map((e, i) => ({ record: `courseops_dashboard:check:${i}`, expr: substitute(e.expr) }));
    for (const r of rules) expect(r.expr, r.expr).not.toContain('$');
    const file = join(dir, 'dashboards.rules.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard-queries', rules }] }, { lineWidth: 0 }));
    const { stdout } = await run(promtool, ['check', 'rules', file]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});

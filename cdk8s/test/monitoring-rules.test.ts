import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildPlatform } from '../src/app.js';
import { BACKUP_METRICS } from '../../services/kit/src/contract.js';
import { backupRuleGroups } from '../src/data/backup.js';
import { RULES_DIR } from '../src/monitoring/files.js';
import { PLATFORM_GROUP, platformRuleGroups } from '../src/monitoring/platform-rules.js';
import { DURATION_BUCKETS, fileGroup, leMatcher, NON_SLI_ROUTES, RUNBOOK_BASE_URL } from '../src/monitoring/rules.js';
import { serviceRuleGroups, SLI_WINDOWS, sliRecord } from '../src/monitoring/service-rules.js';
import { ns } from '../src/namespaces.js';
import { render } from '../src/synth.js';
import { course, services } from '../src/services.js';
import { ofKind, synthesized, type K8sObject } from './support/platform.js';

/** The rules as data: one source for PrometheusRule objects and rules files, labels and matchers that fit the scrape setup, runbooks. */
const { out, objects } = synthesized();
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const API_MD = fileURLToPath(new URL('../../../shared/API.md', import.meta.url));

type FileRule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const ruleFiles = [...out.files].filter(([f]) => f.startsWith(`${RULES_DIR}/`));
const fileGroups = ruleFiles.flatMap(([, c]) => (parse(c) as { groups: { name: string; rules: FileRule[] }[] }).groups);
const allRules = fileGroups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
const alerts = allRules.filter((r) => r.alert) as (FileRule & { alert: string; group: string; labels: Record<string, string>; annotations: Record<string, string> })[];
const prometheusRules = ofKind(objects, 'PrometheusRule');

describe('one source: PrometheusRule objects and dist/prometheus/rules', () => {
  it('writes one rules file per group of every PrometheusRule, and nothing else', () => {
    const groups = prometheusRules.flatMap((o) => (o.spec as { groups: { name: string }[] }).groups.map((g) => g.name));
    expect(ruleFiles.map(([f]) => f).sort()).toEqual(groups.map((g) => `${RULES_DIR}/${g}.rules.yaml`).sort());
    expect(new Set(groups).size).toBe(groups.length);
  });

  it('the files hold exactly the groups the rule builders make (CRD spelling converted back)', () => {
    const expected = [
      ...services.flatMap((decl) => serviceRuleGroups(decl, { namespace: ns.apps.name })),
      // the backup mixin's group (cdk8s/src/data/backup.ts), for every service with a database
      ...services.filter((decl) => decl.database).flatMap((decl) => backupRuleGroups(decl.name, ns.apps.name)),
      ...platformRuleGroups({ namespaces: [ns.apps.name], services: services.map((s) => s.name) }),
    ].map(fileGroup);
    const byName = (a: { name?: unknown }, b: { name?: unknown }) => String(a.name).localeCompare(String(b.name));
    expect(JSON.parse(JSON.stringify([...fileGroups].sort(byName)))).toEqual(JSON.parse(JSON.stringify(expected.sort(byName))));
  });

  it('each service gets its PrometheusRule from the mixin; the platform rules live in the monitoring namespace', () => {
    for (const decl of services) {
      const own = prometheusRules.filter((o) => o.metadata.name === `${decl.name}-rules`);
      expect(own.map((o) => o.metadata.namespace), decl.name).toEqual([ns.apps.name]);
    }
    expect(prometheusRules.find((o) => o.metadata.name === PLATFORM_GROUP)?.metadata.namespace).toBe(ns.monitoring.name);
  });
});

describe('every alert', () => {
  it.each(alerts.map((a) => [`${a.group}/${a.alert}/${a.labels.severity}`, a] as const))('%s: severity, summary, templated description, runbook', (_n, a) => {
    expect(['critical', 'warning', 'info']).toContain(a.labels.severity);
    expect(Object.keys(a.annotations).sort()).toEqual(['description', 'runbook_url', 'summary']);
    expect(a.annotations.summary?.length).toBeGreaterThan(10);
    expect(a.annotations.description).toMatch(/\{\{ \$(labels\.\w+|value)/);
    expect(a.annotations.runbook_url).toBe(`${RUNBOOK_BASE_URL}/${a.alert}.md`);
    if (a.for) expect(a.for).toMatch(/^\d+[smh]$/);
  });

  it('service alerts carry the service and namespace labels of the ServiceMonitor targets', () => {
    for (const decl of services) {
      const own = alerts.filter((a) => a.group === `${decl.name}-alerts`);
      expect(own.length).toBeGreaterThan(10);
      for (const a of own) expect(a.labels, `${decl.name} ${a.alert}`).toMatchObject({ service: decl.name, namespace: ns.apps.name });
    }
  });

  // The alerts there are (each has docs/runbooks/<name>.md, checked below): what a service gets, and the platform's.
  const SERVICE_ALERTS = [
    'ServiceDown', 'ServiceInstanceDown', 'ServiceTargetsAbsent', 'HighErrorRatio', 'HighLatencyP95', 'HighRequestRate', 'EndpointProbeFailing',
    'ErrorLogSpike', 'DatabaseDown', 'CircuitBreakerOpen', 'AvailabilityBudgetBurnFast', 'AvailabilityBudgetBurnSlow', 'LatencyBudgetBurnFast', 'LatencyBudgetBurnSlow',
  ];
  const PLATFORM_ALERTS = ['ContainerCpuNearLimit', 'ContainerMemoryNearLimit', 'PodCrashLooping', 'PersistentVolumeFillingUp'];

  it('each service has the alerts its declaration calls for', () => {
    for (const decl of services) {
      const names = new Set(alerts.filter((a) => a.group === `${decl.name}-alerts`).map((a) => a.alert));
      const expected = SERVICE_ALERTS.filter((n) => (n !== 'DatabaseDown' || decl.database) && (n !== 'CircuitBreakerOpen' || (decl.calls ?? []).length > 0));
      expect([...names].sort(), decl.name).toEqual([...expected].sort());
    }
    expect(new Set(alerts.filter((a) => a.group === PLATFORM_GROUP).map((a) => a.alert))).toEqual(new Set(PLATFORM_ALERTS));
  });
});

describe('matchers fit what Prometheus scrapes', () => {
  const serviceMonitors = ofKind(objects, 'ServiceMonitor').map((m) => {
    const spec = m.spec as { endpoints: { relabelings: { targetLabel: string; replacement: string }[] }[] };
    return { namespace: m.metadata.namespace, job: spec.endpoints[0]!.relabelings.find((r) => r.targetLabel === 'job')!.replacement };
  });

  it('every job="..." of the service rules is the job label of a synthesized ServiceMonitor, in its namespace', () => {
    const serviceRules = allRules.filter((r) => r.group !== PLATFORM_GROUP);
    const selectors = serviceRules.flatMap((r) => [...r.expr.matchAll(/\{job="([^"]+)", namespace="([^"]+)"/g)].map((m) => ({ job: m[1]!, namespace: m[2]! })));
    expect(selectors.length).toBeGreaterThan(50);
    for (const s of selectors) expect(serviceMonitors, JSON.stringify(s)).toContainEqual(s);
  });

  it('service rules only use metrics of API.md, of the exporters (pg_up, probe_success), of the backup jobs, up and their own records', () => {
    const api = readFileSync(API_MD, 'utf8');
    const records = new Set(allRules.filter((r) => r.record).map((r) => r.record!));
    const keywords = new Set(['by', 'or', 'and', 'sum', 'max', 'rate', 'absent', 'histogram_quantile', 'min_over_time', 'on', 'le']);
    for (const r of allRules.filter((x) => x.group !== PLATFORM_GROUP)) {
      const metrics = [...r.expr.replace(/"[^"]*"/g, '""').matchAll(/([a-zA-Z_:][\w:]*)\s*\{/g)].map((m) => m[1]!).filter((m) => !keywords.has(m));
      for (const m of metrics) {
        const base = m.replace(/_(bucket|count|sum)$/, '');
        const known =
          records.has(m) || ['up', 'pg_up', 'probe_success'].includes(m) || Object.values(BACKUP_METRICS).includes(m as never) || new RegExp(`\`${base}[\`{]`).test(api);
        expect(known, `${r.alert ?? r.record}: ${m}`).toBe(true);
      }
    }
  });

  it('SLIs and rates leave out /healthz, /readyz and /metrics', () => {
    for (const r of allRules.filter((x) => /http_request/.test(x.expr))) {
      for (const m of r.expr.matchAll(/http_request[\w]*\{([^}]*)\}/g)) {
        expect(m[1], r.alert ?? r.record).toContain(`route!~"${NON_SLI_ROUTES.join('|')}"`);
      }
    }
  });

  it('records the SLI error ratio of both SLOs for every window of the multiwindow alerts', () => {
    for (const decl of services) {
      const recs = allRules.filter((r) => r.group === `${decl.name}-sli` && r.record);
      for (const w of SLI_WINDOWS) {
        for (const slo of ['availability', 'latency']) {
          expect(recs.filter((r) => r.record === sliRecord(w) && r.labels?.slo === slo), `${decl.name} ${slo} ${w}`).toHaveLength(1);
        }
      }
    }
  });

  it('burn-rate alerts follow the SRE workbook (14.4x/6x page, 3x/1x ticket) for 99.5 % availability and 99 % latency', () => {
    const a = (name: string) => alerts.find((x) => x.group === 'course-alerts' && x.alert === name)!;
    const sel = (slo: string) => `{job="course", namespace="courseops", slo="${slo}"}`;
    const pair = (slo: string, budget: number, factor: number, short: string, long: string) =>
      `(slo:sli_error:ratio_rate${short}${sel(slo)} > (${factor} * ${budget}) and slo:sli_error:ratio_rate${long}${sel(slo)} > (${factor} * ${budget}))`;
    expect(a('AvailabilityBudgetBurnFast').expr).toBe(`${pair('availability', 0.005, 14.4, '5m', '1h')} or ${pair('availability', 0.005, 6, '30m', '6h')}`);
    expect(a('AvailabilityBudgetBurnSlow').expr).toBe(`${pair('availability', 0.005, 3, '2h', '1d')} or ${pair('availability', 0.005, 1, '6h', '3d')}`);
    expect(a('LatencyBudgetBurnFast').expr).toBe(`${pair('latency', 0.01, 14.4, '5m', '1h')} or ${pair('latency', 0.01, 6, '30m', '6h')}`);
    expect(a('AvailabilityBudgetBurnFast').labels.severity).toBe('critical');
    expect(a('AvailabilityBudgetBurnSlow').labels.severity).toBe('warning');
  });

  it('the latency threshold is a bucket the services histograms really expose (the kit, from the shared contract)', async () => {
    const { createMetrics } = await import('../../services/kit/src/metrics.js');
    const metrics = createMetrics();
    metrics.httpRequestDuration.observe({ method: 'GET', route: '/x', status_code: '200' }, 0.2);
    const exposed = [...(await metrics.registry.metrics()).matchAll(/^http_request_duration_seconds_bucket\{le="([^"]+)"/gm)].map((m) => m[1]);
    expect(exposed).toEqual([...DURATION_BUCKETS.map(String), '+Inf']);
    expect(leMatcher(0.5)).toBe('le="0.5"');
    expect(leMatcher(1)).toBe('le=~"1|1.0"');
    expect(() => leMatcher(0.3)).toThrow(/not a bucket boundary/);
  });

  it('platform alerts watch the courseops namespace only and drop the exporters own service label', () => {
    for (const a of alerts.filter((x) => x.group === PLATFORM_GROUP)) {
      const selectors = [...a.expr.matchAll(/\w+\{([^}]*)\}/g)].map((m) => m[1]!);
      expect(selectors.length).toBeGreaterThan(0);
      for (const s of selectors) expect(s, a.alert).toContain(`namespace=~"${ns.apps.name}"`);
      expect(a.expr).toMatch(/^label_replace\(/);
    }
  });
});

describe('thresholds per service, from the declaration', () => {
  it('the declaration\'s slo reaches its alerts (and only its own)', () => {
    const slowCourse = { ...course, slo: { latencyP95Seconds: 1, errorRatio: 0.1, latencyObjective: { thresholdSeconds: 1, ratio: 0.95 } } };
    const o = render(buildPlatform({ services: services.map((s) => (s.name === 'course' ? slowCourse : s)) }));
    const rules = (o.objects as K8sObject[]).filter((x) => x.kind === 'PrometheusRule' && x.metadata.name === 'course-rules');
    expect(rules).toHaveLength(1);
    const text = o.files.get(`${RULES_DIR}/course-alerts.rules.yaml`)!;
    expect(text).toContain('service:http_request_duration_seconds:p95_rate5m{job="course", namespace="courseops"} > 1\n');
    expect(text).toContain('slo:sli_error:ratio_rate5m{job="course", namespace="courseops", slo="availability"} > 0.1\n');
    expect(text).toContain('(14.4 * 0.05)');
    expect(o.files.get(`${RULES_DIR}/course-sli.rules.yaml`)).toContain('le=~"1|1.0"');
    // other services keep the defaults
    expect(o.files.get(`${RULES_DIR}/teacher-alerts.rules.yaml`)).toContain('p95_rate5m{job="teacher", namespace="courseops"} > 0.5\n');
  });

  it('rejects a latency objective between buckets', () => {
    const bad = { ...course, slo: { latencyObjective: { thresholdSeconds: 0.3 } } };
    expect(() => buildPlatform({ services: services.map((s) => (s.name === 'course' ? bad : s)) })).toThrow(/0.3s is not a bucket boundary/);
  });
});

describe('one set of thresholds per service: alerts, dashboard and canary gates read the same', () => {
  it('finds a declared 1 s p95 and 10 % error ratio in all three, and the defaults in the other services', () => {
    const slowCourse = { ...course, slo: { latencyP95Seconds: 1, errorRatio: 0.1 } };
    const o = render(buildPlatform({ services: services.map((s) => (s.name === 'course' ? slowCourse : s)) }));
    const objects = o.objects as (K8sObject & { spec?: { metrics?: { name: string; successCondition?: string }[] }; data?: Record<string, string> })[];
    const gate = (service: string, metric: string) =>
      objects.find((x) => x.kind === 'AnalysisTemplate' && x.metadata.name === `${service}-canary`)!.spec!.metrics!.find((m) => m.name === metric)!.successCondition;
    const dashboard = (service: string) => {
      const cm = objects.find((x) => x.kind === 'ConfigMap' && x.metadata.name === `dashboard-courseops-${service}-red`)!;
      return JSON.parse(Object.values(cm.data!)[0]!) as { panels: { title?: string; fieldConfig?: { defaults?: { thresholds?: { steps?: { value: number | null }[] } } } }[] };
    };
    const redAt = (service: string, title: string) =>
      dashboard(service).panels.find((p) => p.title === title)!.fieldConfig!.defaults!.thresholds!.steps!.map((s) => s.value).filter((v) => v !== null);

    expect(o.files.get(`${RULES_DIR}/course-alerts.rules.yaml`)).toContain('p95_rate5m{job="course", namespace="courseops"} > 1\n');
    expect(gate('course', 'latency-p95')).toContain('<= 1');
    expect(gate('course', 'success-ratio')).toContain('>= 0.9');
    expect(redAt('course', 'p95 duration')).toEqual([1]);
    expect(redAt('course', 'Error ratio (5xx)')).toEqual([0.1]);

    expect(gate('teacher', 'latency-p95')).toContain('<= 0.5');
    expect(gate('teacher', 'success-ratio')).toContain('>= 0.95');
    expect(redAt('teacher', 'p95 duration')).toEqual([0.5]);
  });
});

describe('runbooks (docs/runbooks/<AlertName>.md)', () => {
  const dir = `${REPO}docs/runbooks/`;
  const names = [...new Set(alerts.map((a) => a.alert))];

  it.each(names)('%s: meaning, impact, diagnosis with kubectl and PromQL, mitigation', (name) => {
    const file = `${dir}${name}.md`;
    expect(existsSync(file), file).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(`# ${name}\n`)).toBe(true);
    for (const h of ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation']) expect(text, h).toContain(`\n${h}\n`);
    const diagnosis = text.slice(text.indexOf('## Diagnosis'), text.indexOf('## Mitigation'));
    expect(diagnosis).toMatch(/```sh\n[^`]*kubectl /);
    expect(diagnosis).toMatch(/```promql\n/);
  });

  it('has no runbook for an alert that does not exist', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(files.map((f) => f.replace(/\.md$/, '')).sort()).toEqual([...names].sort());
    const index = readFileSync(`${dir}README.md`, 'utf8');
    for (const n of names) expect(index, n).toContain(`(${n}.md)`);
  });
});

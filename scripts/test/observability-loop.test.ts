/**
 * The observability loop, for real: the three services in-process on loopback (PGlite), Prometheus 3 at
 * the chart's version scraping them with the cluster's target labels and evaluating the generated rules,
 * Alertmanager with the generated routing posting to the status service (both the box's builds from their
 * Go modules, scripts/box/tools.ts), and the status page showing the incident open and close for two
 * forced faults: the course service going down and coming back, and a course release failing half its
 * requests (FAULT_RATE) rolled back.
 *
 * Test-only change to the generated rules: the `for` of ServiceDown (1m) and HighErrorRatio (5m) is
 * shortened to 2s so the faults fire within the test (rulesFiles({ alertFor })); every other rule, and
 * every expression and window, is as generated. Alertmanager's route timings (group_wait 30s,
 * group_interval 5m) are shortened to 1s the same way.
 */
import { Writable } from 'node:stream';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOnLoopback, type RunningApp } from '@courseops/kit/testing';
import { createCourseService } from '../../services/course/src/service.js';
import { createStatusService, type StatusService } from '../../services/status/src/service.js';
import { createTeacherService } from '../../services/teacher/src/service.js';
import type { BuiltService, ServiceSettings } from '@courseops/kit';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../box/build.js';
import { boxTools } from '../box/tools.js';
import { startLocalStack, type LocalStack } from '../observability/localStack.js';
import { rulesFiles, scrapeTargets, synthesized } from '../observability/prometheusConfig.js';

const TOKEN = 'observability-loop-token-0123456789';
const quiet = () => new Writable({ write: (_c, _e, cb) => cb() });
const settings = (): ServiceSettings => ({ logLevel: 'warn', rateLimitPerMinute: 100_000, logStream: quiet() });

interface Running {
  service: BuiltService;
  http: RunningApp;
  port: number;
}
const serve = async (service: BuiltService, port = 0): Promise<Running> => {
  const http = await serveOnLoopback(service.app, port);
  return { service, http, port: Number(new URL(http.url).port) };
};
const stopService = async (r: Running) => {
  await r.http.close();
  await r.service.close();
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually<T>(what: string, check: () => Promise<T>, timeoutMs = 20_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(everyMs);
    }
  }
}

// Generated rules (test copy: only the `for` of the alerts the faults fire shortened).
const alertFor = { ServiceDown: '2s', HighErrorRatio: '2s' };
const rules = rulesFiles({ alertFor });
type FileRule = { record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string> };
const groups = [...rules.values()].flatMap((c) => (parse(c) as { groups: { name: string; rules: FileRule[] }[] }).groups);

// Grafana dashboards, when synth renders them (cdk8s/src/monitoring/dashboards): every panel query.
type Panel = { title?: string; targets?: { expr?: string }[]; panels?: Panel[] };
const dashboardQueries = [...synthesized().files]
  .filter(([path]) => /^grafana\/dashboards\/.+\.json$/.test(path))
  .flatMap(([path, content]) => {
    const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
    return flat((JSON.parse(content) as { panels?: Panel[] }).panels ?? []).flatMap((p) =>
      (p.targets ?? []).filter((t) => t.expr).map((t) => ({ dashboard: path, panel: p.title ?? '', expr: t.expr! })),
    );
  });
/** Grafana's variables for an instant query: every service selected, windows the test's data fills. */
const withVariables = (expr: string) =>
  expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$__interval', '15s').replaceAll('$service', 'course|teacher|status');
/**
 * Panels with no data locally, and why: their metrics come from exporters that only run in the cluster.
 * - `pg_*`: the postgres-exporter next to each service's PostgreSQL (locally the services run on PGlite);
 * - `node_*`: node-exporter; `kube_*`: kube-state-metrics; `container_*`: the kubelet's cAdvisor.
 */
const CLUSTER_ONLY_METRICS = /\b(pg|node|kube|container)_[a-zA-Z]\w*/;
const noDataLocally = (expr: string) => CLUSTER_ONLY_METRICS.test(expr);

describe('the observability loop: services -> Prometheus -> Alertmanager -> status page', () => {
  let course: Running;
  let teacher: Running;
  let status: Running;
  let stack: LocalStack;
  let traffic: ReturnType<typeof setInterval> | undefined;
  const prom = async <T = unknown>(path: string): Promise<T> => {
    const res = await fetch(`${stack.prometheusUrl}/api/v1/${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  };
  const query = (q: string) => prom<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`query?query=${encodeURIComponent(q)}`);
  const incidents = async () =>
    ((await (await fetch(`http://127.0.0.1:${status.port}/api/status`)).json()) as { incidents: { title: string; severity: string; startedAt: string; resolvedAt: string | null }[] })
      .incidents;

  const drive = async () => {
    const c = `http://127.0.0.1:${course.port}`;
    const t = `http://127.0.0.1:${teacher.port}`;
    const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = (await (await post(`${c}/api/courses`, { title: 'Observability 101', credits: 3 })).json()) as { id: string };
    await fetch(`${c}/api/courses/${created.id}`);
    await fetch(`${c}/api/courses`);
    await fetch(`${c}/api/courses/00000000-0000-4000-8000-000000000000`); // 404
    const gone = (await (await post(`${c}/api/courses`, { title: 'Deleted soon' })).json()) as { id: string };
    await fetch(`${c}/api/courses/${gone.id}`, { method: 'DELETE' });
    const teacherRes = (await (await post(`${t}/api/teachers`, { name: 'Ada', email: `ada-${Date.now()}-${Math.random()}@example.org` })).json()) as { id: string };
    await post(`${t}/api/teachers/${teacherRes.id}/courses`, { courseId: created.id });
    await fetch(`${t}/api/teachers/${teacherRes.id}/courses`);
    await fetch(`${t}/api/teachers/00000000-0000-4000-8000-000000000000`); // 404
    await fetch(`http://127.0.0.1:${status.port}/api/status`);
    await fetch(`http://127.0.0.1:${status.port}/`);
  };

  // The box's module builds, never a program on PATH.
  let binaries: { prometheus: string; alertmanager: string };
  beforeAll(async () => {
    binaries = { prometheus: (await ensureTool('prometheus')).prometheus!, alertmanager: (await ensureTool('alertmanager')).alertmanager! };
  }, TOOL_BUILD_TIMEOUT_MS);

  beforeAll(async () => {
    course = await serve(await createCourseService(settings()));
    teacher = await serve(
      await createTeacherService({ ...settings(), courseServiceUrl: `http://127.0.0.1:${course.port}`, courseServiceTimeoutMs: 500, courseRetryDelaysMs: [] }),
    );
    const statusService: StatusService = await createStatusService(settings(), {
      targets: [
        { name: 'course', url: `http://127.0.0.1:${course.port}` },
        { name: 'teacher', url: `http://127.0.0.1:${teacher.port}` },
      ],
      probeIntervalMs: 1000,
      degradedLatencyMs: 1000,
      alertWebhookToken: TOKEN,
    });
    status = await serve(statusService);
    stack = await startLocalStack({
      binaries,
      addresses: { course: `127.0.0.1:${course.port}`, teacher: `127.0.0.1:${teacher.port}`, status: `127.0.0.1:${status.port}` },
      statusUrl: `http://127.0.0.1:${status.port}`,
      webhookToken: TOKEN,
      scrapeInterval: '1s',
      evaluationInterval: '1s',
      rules: { alertFor },
      alertmanagerRoute: { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      resolveTimeout: '5s',
    });
    await drive();
    // Keep traffic flowing so every rate() has samples on both sides of its window.
    traffic = setInterval(() => void drive().catch(() => undefined), 500);
  }, 60_000);

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    await stack?.stop();
    for (const r of [status, teacher, course]) if (r) await stopService(r).catch(() => undefined);
  });

  it(`runs the box's Prometheus ${boxTools.prometheus.version} and Alertmanager ${boxTools.alertmanager.version}`, async () => {
    const prometheus = (await (await fetch(`${stack.prometheusUrl}/api/v1/status/buildinfo`)).json()) as { data: { version: string } };
    expect(prometheus.data.version).toBe(boxTools.prometheus.version.replace(/^v/, ''));
    const alertmanager = (await (await fetch(`${stack.alertmanagerUrl}/api/v2/status`)).json()) as { versionInfo: { version: string } };
    expect(alertmanager.versionInfo.version).toBe(boxTools.alertmanager.version.replace(/^v/, ''));
  });

  it('scrapes every declared service, up, with the target labels of the ServiceMonitor', async () => {
    const expected = scrapeTargets();
    expect(expected.map((t) => t.service).sort()).toEqual(['course', 'status', 'teacher']);
    type Target = { labels: Record<string, string>; health: string; lastError: string };
    const active = await eventually('every target up', async () => {
      const data = await prom<{ activeTargets: Target[] }>('targets?state=active');
      expect(data.activeTargets).toHaveLength(expected.length);
      for (const t of data.activeTargets) expect(t.health, `${t.labels.job}: ${t.lastError}`).toBe('up');
      return data.activeTargets;
    });
    for (const t of expected) {
      const target = active.find((a) => a.labels.job === t.labels.job)!;
      expect(target.labels).toMatchObject({ job: t.service, service: t.service, namespace: 'courseops', pod: `${t.service}-local`, container: t.service, endpoint: 'http' });
    }
    // ...and the series carry them.
    const up = await query('up{namespace="courseops"}');
    expect(up.result.map((r) => r.metric.service).sort()).toEqual(['course', 'status', 'teacher']);
  });

  it('every recording rule of the generated rules files returns data for its service', async () => {
    const recorded = groups.flatMap((g) => g.rules.filter((r) => r.record).map((r) => ({ group: g.name, ...r })));
    expect(recorded.length).toBeGreaterThan(0);
    // Every window (5m ... 3d) returns data once two scrapes of the counters fall inside it: no rule here
    // needs more history than the test has; a window longer than the data just averages what exists.
    await eventually(
      'recording rules return data',
      async () => {
        const missing: string[] = [];
        for (const r of recorded) {
          const service = r.group.replace(/-sli$/, '');
          const labels = Object.entries({ job: service, ...r.labels }).map(([k, v]) => `${k}="${v}"`).join(',');
          const q = `${r.record}{${labels}}`;
          if ((await query(q)).result.length === 0) missing.push(q);
        }
        expect(missing).toEqual([]);
      },
      30_000,
      1000,
    );
  });

  it.skipIf(dashboardQueries.length === 0)('every dashboard panel query returns data (except metrics of cluster-only exporters)', async () => {
    await eventually(
      'dashboard queries return data',
      async () => {
        const empty: string[] = [];
        for (const q of dashboardQueries) {
          const { result } = await query(withVariables(q.expr));
          if (result.length === 0 && !noDataLocally(q.expr)) empty.push(`${q.dashboard} "${q.panel}": ${q.expr}`);
        }
        expect(empty, `no data:\n${empty.join('\n')}`).toEqual([]);
      },
      20_000,
      1000,
    );
  });

  it('every rule of every group evaluates without error', async () => {
    const data = await prom<{ groups: { name: string; file: string; rules: { name: string; health: string; lastError?: string }[] }[] }>('rules');
    expect(data.groups.map((g) => g.name).sort()).toEqual(groups.map((g) => g.name).sort());
    const unhealthy = data.groups.flatMap((g) => g.rules.filter((r) => r.health !== 'ok').map((r) => `${g.name}/${r.name}: ${r.health} ${r.lastError ?? ''}`));
    expect(unhealthy).toEqual([]);
  });

  it('course down: ServiceDown fires, reaches Alertmanager and opens an incident; course back: it resolves', async () => {
    const serviceDown = groups.find((g) => g.name === 'course-alerts')!.rules.find((r) => r.alert === 'ServiceDown')!;
    expect(serviceDown.expr).toContain('== 0');
    expect(serviceDown.for).toBe('2s'); // the test copy (generated: 1m)
    const port = course.port;
    await stopService(course);

    type PromAlert = { labels: Record<string, string>; state: string };
    await eventually('ServiceDown firing in Prometheus', async () => {
      const { alerts } = await prom<{ alerts: PromAlert[] }>('alerts');
      expect(alerts.find((a) => a.labels.alertname === 'ServiceDown' && a.labels.service === 'course')?.state).toBe('firing');
    });
    await eventually('ServiceDown in Alertmanager', async () => {
      const alerts = (await (await fetch(`${stack.alertmanagerUrl}/api/v2/alerts`)).json()) as { labels: Record<string, string>; status: { state: string } }[];
      expect(alerts.find((a) => a.labels.alertname === 'ServiceDown' && a.labels.service === 'course')?.status.state).toBe('active');
    });
    const isCourseDown = (i: { title: string }) => i.title === 'course is down: no instance answers scrapes';
    const opened = await eventually('an incident on the status page', async () => {
      const found = (await incidents()).find(isCourseDown);
      expect(found, stack.logs().slice(-2000)).toBeDefined();
      return found!;
    });
    expect(opened).toMatchObject({ severity: 'critical', resolvedAt: null });

    course = await serve(await createCourseService(settings()), port);
    await eventually('ServiceDown resolved in Prometheus', async () => {
      const { alerts } = await prom<{ alerts: PromAlert[] }>('alerts');
      expect(alerts.find((a) => a.labels.alertname === 'ServiceDown' && a.labels.service === 'course')).toBeUndefined();
    });
    const closed = await eventually('the incident resolved on the status page', async () => {
      const found = (await incidents()).find(isCourseDown);
      expect(found?.resolvedAt, stack.logs().slice(-2000)).toBeTruthy();
      return found!;
    });
    expect(Date.parse(closed.resolvedAt!)).toBeGreaterThan(0);
  }, 60_000);
  it('course failing half its requests: HighErrorRatio fires and opens an incident; rolled back: it resolves', async () => {
    const highErrorRatio = groups.find((g) => g.name === 'course-alerts')!.rules.find((r) => r.alert === 'HighErrorRatio')!;
    expect(highErrorRatio.expr).toMatch(/> 0\.05$/);
    expect(highErrorRatio.for).toBe('2s'); // the test copy (generated: 5m)
    type PromAlert = { labels: Record<string, string>; state: string };
    const alertState = async () =>
      (await prom<{ alerts: PromAlert[] }>('alerts')).alerts.find((a) => a.labels.alertname === 'HighErrorRatio' && a.labels.service === 'course')?.state;
    expect(await alertState()).toBeUndefined();

    // A bad release: the same service with FAULT_RATE=0.5, swapped in on the same port. It is built
    // before the healthy one stops, so no scrape sees the target down.
    const port = course.port;
    const faulty = await createCourseService({ ...settings(), faultRate: 0.5 });
    await stopService(course);
    course = await serve(faulty, port);

    await eventually('HighErrorRatio firing in Prometheus', async () => expect(await alertState()).toBe('firing'), 30_000);
    const ratio = await query('slo:sli_error:ratio_rate5m{service="course"}');
    expect(Number(ratio.result[0]?.value[1])).toBeGreaterThan(0.05);
    await eventually('HighErrorRatio in Alertmanager', async () => {
      const alerts = (await (await fetch(`${stack.alertmanagerUrl}/api/v2/alerts`)).json()) as { labels: Record<string, string>; status: { state: string } }[];
      expect(alerts.find((a) => a.labels.alertname === 'HighErrorRatio' && a.labels.service === 'course')?.status.state).toBe('active');
    });
    const isErrorRatio = (i: { title: string }) => i.title.startsWith('course answers more than 5') && i.title.endsWith('of requests with 5xx');
    const opened = await eventually('an incident on the status page', async () => {
      const found = (await incidents()).find(isErrorRatio);
      expect(found, stack.logs().slice(-2000)).toBeDefined();
      return found!;
    });
    expect(opened).toMatchObject({ severity: 'warning', resolvedAt: null });

    // The rollback: a healthy build again, then enough good traffic that the errors fall under 5 %
    // of the 5-minute window (the generated window; the test does not wait it out).
    const healthy = await createCourseService(settings());
    await stopService(course);
    course = await serve(healthy, port);
    const c = `http://127.0.0.1:${course.port}`;
    // (A pooled keep-alive connection may still point at the stopped build: such a request just fails.)
    const get = () => fetch(`${c}/api/courses?limit=1`).then((r) => (r.status === 200 ? 1 : 0), () => 0);
    let answered = 0;
    for (let batch = 0; batch < 60; batch++) answered += (await Promise.all(Array.from({ length: 50 }, get))).reduce((a: number, b) => a + b, 0);
    expect(answered).toBeGreaterThan(2500);

    await eventually('HighErrorRatio resolved in Prometheus', async () => expect(await alertState()).toBeUndefined(), 30_000);
    const closed = await eventually('the incident resolved on the status page', async () => {
      const found = (await incidents()).find(isErrorRatio);
      expect(found?.resolvedAt, stack.logs().slice(-2000)).toBeTruthy();
      return found!;
    });
    expect(Date.parse(closed.resolvedAt!)).toBeGreaterThan(Date.parse(closed.startedAt));
  }, 90_000);
});

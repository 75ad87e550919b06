/**
 * The canary analysis for real: the chart's Prometheus 3 (built from its module, scripts/box/tools.ts)
 * scrapes a stable and three canary instances of the real course service, labelled as the ServiceMonitor
 * labels pods in the cluster (each with its own `rollouts_pod_template_hash`), while traffic runs. Then every query of the generated AnalysisTemplates
 * runs with the arguments the Rollout would pass, and its condition decides as Argo Rollouts would:
 * a healthy canary passes, a canary with FAULT_RATE=0.2 fails, a canary that got no traffic fails.
 *
 * Not here: `gateway-success-ratio` reads Traefik's metrics, which exist only in the cluster and the box
 * (cdk8s/test/delivery-gateway-metrics.test.ts evaluates it with promtool on Traefik-shaped series).
 * The conditions are written in the part of Argo Rollouts' expression language that JavaScript reads the
 * same way (cdk8s/src/delivery/analysis.ts), so they are evaluated as JavaScript.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltService, ServiceSettings } from '@courseops/kit';
import { serveOnLoopback, type RunningApp } from '@courseops/kit/testing';
import { createCourseService } from '../../services/course/src/service.js';
import { ANALYSIS_WINDOW, CANARY_HASH_LABEL, canaryMetrics, withArgs, type AnalysisMetric } from '../../cdk8s/src/delivery/analysis.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../box/build.js';
import { boxTools } from '../box/tools.js';
import { startLocalStack, type LocalStack } from '../observability/localStack.js';
import { scrapeTargets, type ScrapeTarget } from '../observability/prometheusConfig.js';

const quiet = () => new Writable({ write: (_c, _e, cb) => cb() });
const settings = (faultRate = 0): ServiceSettings => ({ logLevel: 'warn', rateLimitPerMinute: 1_000_000, logStream: quiet(), faultRate });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pod-template hashes, as the Rollout controller would name them. */
const hashes = { stable: '7c9d5b8f6', healthy: '5f8b6d9c4', faulty: '6d4c8f7b5', idle: '8b5f4c6d7' } as const;
type Instance = keyof typeof hashes;

/** Argo Rollouts' verdict on one measurement: the condition applied to the query's vector. */
function holds(condition: string, result: number[]): boolean {
  const evaluate = new Function('result', 'len', `return (${condition});`) as (r: number[], len: (a: unknown[]) => number) => unknown;
  return evaluate(result, (a) => a.length) === true;
}

describe('canary analysis against a real Prometheus scraping a stable and canary instances of the course service', () => {
  const running: { service: BuiltService; http: RunningApp }[] = [];
  const urls = {} as Record<Instance, string>;
  let stack: LocalStack;
  // Built in each test, not while the file loads: mutation testing then knows which test reads which
  // part of them, and tries a changed query on the running Prometheus instead of starting it again.
  const localMetrics = () => canaryMetrics().filter((m) => !m.clusterOnly);

  const query = async (q: string): Promise<number[]> => {
    const res = await fetch(`${stack.prometheusUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: { value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
    expect(body.data.resultType).toBe('vector');
    return body.data.result.map((r) => Number(r.value[1]));
  };
  const measure = (m: AnalysisMetric, instance: Instance) =>
    query(withArgs(m.query, { service: 'course', namespace: 'courseops', 'canary-hash': hashes[instance], 'canary-service': 'course-canary' }));

  // The box's module builds, never a program on PATH: Prometheus at the chart's version.
  let binaries: { prometheus: string; alertmanager: string };
  beforeAll(async () => {
    binaries = { prometheus: (await ensureTool('prometheus')).prometheus!, alertmanager: (await ensureTool('alertmanager')).alertmanager! };
  }, TOOL_BUILD_TIMEOUT_MS);

  beforeAll(async () => {
    for (const instance of Object.keys(hashes) as Instance[]) {
      const service = await createCourseService(settings(instance === 'faulty' ? 0.2 : 0));
      const http = await serveOnLoopback(service.app, 0);
      running.push({ service, http });
      urls[instance] = http.url;
    }
    // The ServiceMonitor's labels for the course service, one target per pod, each with its pod-template hash.
    const [course] = scrapeTargets({ course: '127.0.0.1:1' }, {}).filter((t) => t.service === 'course');
    expect(course!.labels[CANARY_HASH_LABEL]).toBe('local'); // the ServiceMonitor copies the pod label
    const targets: ScrapeTarget[] = (Object.keys(hashes) as Instance[]).map((instance) => ({
      ...course!,
      address: new URL(urls[instance]).host,
      labels: { ...course!.labels, pod: `course-${hashes[instance]}-${instance}`, [CANARY_HASH_LABEL]: hashes[instance] },
    }));
    stack = await startLocalStack({ binaries, targets, statusUrl: 'http://127.0.0.1:9', webhookToken: 'unused-token-0123456789', scrapeInterval: '1s', evaluationInterval: '1s' });

    // Traffic as the ingress would split it, and the kubelet's probes on every pod (the idle canary gets only those).
    const post = (url: string) => fetch(`${url}/api/courses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Canary 101' }) });
    const deadline = Date.now() + 12_000;
    while (Date.now() < deadline) {
      await Promise.all([
        ...(['stable', 'stable', 'stable', 'healthy', 'faulty'] as const).flatMap((i) => [post(urls[i]), fetch(`${urls[i]}/api/courses?limit=5`)]),
        ...(Object.keys(hashes) as Instance[]).map((i) => fetch(`${urls[i]}/readyz`)),
      ].map((p) => p.then((r) => r.arrayBuffer(), () => undefined)));
      await sleep(50);
    }
    await sleep(2500); // two more scrapes
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    for (const r of running) {
      await r.http.close();
      await r.service.close();
    }
  });

  it(`runs the box's Prometheus ${boxTools.prometheus.version}`, async () => {
    const info = (await (await fetch(`${stack.prometheusUrl}/api/v1/status/buildinfo`)).json()) as { data: { version: string } };
    expect(info.data.version).toBe(boxTools.prometheus.version.replace(/^v/, ''));
  });

  it('sees every instance as its own series, by pod-template hash', async () => {
    const series = await query(`count by (${CANARY_HASH_LABEL}) (up{service="course"} == 1)`);
    expect(series).toHaveLength(4);
  });

  it('passes a healthy canary: every gated metric holds', async () => {
    for (const m of localMetrics()) {
      const result = await measure(m, 'healthy');
      expect(holds(m.successCondition, result), `${m.name} = ${JSON.stringify(result)} against ${m.successCondition}`).toBe(true);
      if (m.failureCondition) expect(holds(m.failureCondition, result), `${m.name} background`).toBe(false);
    }
  });

  it('fails a canary with FAULT_RATE=0.2 on its success ratio, in the gated and the background analysis', async () => {
    const successRatio = localMetrics().find((m) => m.name === 'success-ratio')!;
    const result = await measure(successRatio, 'faulty');
    expect(result[0]).toBeGreaterThan(0.6);
    expect(result[0]).toBeLessThan(0.95);
    expect(holds(successRatio.successCondition, result)).toBe(false);
    expect(holds(successRatio.failureCondition!, result)).toBe(true);
    // It did get traffic: the no-data guard alone would not have stopped it.
    const traffic = localMetrics().find((m) => m.name === 'canary-traffic')!;
    expect(holds(traffic.successCondition, await measure(traffic, 'faulty'))).toBe(true);
  });

  it('fails a canary that got no user traffic (only probes): no data never passes the gate', async () => {
    const verdicts = await Promise.all(localMetrics().map(async (m) => [m.name, holds(m.successCondition, await measure(m, 'idle'))] as const));
    expect(Object.fromEntries(verdicts)).toEqual({ 'canary-traffic': false, 'success-ratio': false, 'latency-p95': false });
    // ...but in the background analysis a quiet canary is not a failure.
    for (const m of localMetrics().filter((x) => x.failureCondition)) expect(holds(m.failureCondition!, await measure(m, 'idle')), m.name).toBe(false);
  });

  it(`measures only the canary: the stable instance's traffic is not counted for it (window ${ANALYSIS_WINDOW})`, async () => {
    const traffic = localMetrics().find((m) => m.name === 'canary-traffic')!;
    const [stable, healthy] = [await measure(traffic, 'stable'), await measure(traffic, 'healthy')];
    expect(stable[0]).toBeGreaterThan(healthy[0]! * 2);
  });
});

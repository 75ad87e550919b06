/**
 * The canary's own-metrics gates (canary-traffic, success-ratio, latency-p95) evaluated by Prometheus' engine
 * (`promtool test rules`) on series shaped as the services export them and the ServiceMonitor labels them,
 * then turned into verdicts by their conditions as Argo Rollouts applies them. Fast, and exact where the
 * real-Prometheus test (scripts/test/canary-analysis.test.ts) can only see a healthy and a faulty canary:
 * a canary with a handful of requests, one slow in its tail only, another canary's or a probe's series.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../../scripts/box/build.js';
import { DURATION_BUCKETS, PROBE_ROUTES } from '../../services/kit/src/contract.js';
import { ANALYSIS_WINDOW, canaryMetrics, canaryThresholdsFrom, defaultCanaryThresholds, withArgs, type AnalysisMetric } from '../src/delivery/analysis.js';
import { defaultThresholds } from '../src/slo.js';

const canaryHash = '5f8b6d9c4';
const stableHash = '7c9d5b8f6';
const args = { service: 'course', namespace: 'courseops', 'canary-hash': canaryHash, 'canary-service': 'course-canary' };
const byName = (name: string, metrics = canaryMetrics()) => metrics.find((m) => m.name === name)!;

/** Argo Rollouts' verdict on one measurement: the condition (JavaScript-compatible expr) on the query's vector. */
function holds(condition: string, result: number[]): boolean {
  const evaluate = new Function('result', 'len', `return (${condition});`) as (r: number[], len: (a: unknown[]) => number) => unknown;
  return evaluate(result, (a) => a.length) === true;
}
const verdicts = (m: AnalysisMetric, result: number[]) => ({ gate: holds(m.successCondition, result), background: m.failureCondition ? holds(m.failureCondition, result) : undefined });

/** The labels a service pod's series carry in Prometheus (ServiceMonitor: namespace, service, the pod-template hash). */
const podLabels = (hash: string, route = '/api/courses') => `namespace="courseops",service="course",rollouts_pod_template_hash="${hash}",route="${route}",method="GET"`;
/** A counter rising by `per15s` every 15 s scrape, for 10 minutes. */
const counter = (series: string, per15s: number) => ({ series, values: `0+${per15s}x40` });
const requests = (hash: string, status: number, per15s: number, route?: string) => counter(`http_requests_total{${podLabels(hash, route)},status_code="${status}"}`, per15s);
/** A duration histogram where `fast` requests (or queries) per scrape take 40 ms and `slow` ones 2 s. */
const durations = (hash: string, fast: number, slow: number, metric = 'http_request_duration_seconds_bucket') =>
  [...DURATION_BUCKETS.map(String), '+Inf'].map((le) =>
    counter(`${metric}{${podLabels(hash)},status_code="200",le="${le}"}`, (Number(le) >= 0.04 || le === '+Inf' ? fast : 0) + (Number(le) >= 2 || le === '+Inf' ? slow : 0)),
  );

describe('canary gates on the services’ own metrics, evaluated by promtool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'courseops-canary-gates-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let promtool = '';
  beforeAll(async () => {
    promtool = (await ensureTool('prometheus')).promtool!;
  }, TOOL_BUILD_TIMEOUT_MS);

  /** Asserts, with Prometheus' engine, that `metric`'s query gives `expected` (undefined: no data) on `input` at 8 minutes. */
  function expectQuery(metric: AnalysisMetric, cases: { name: string; input: ReturnType<typeof counter>[]; expected: number | undefined }[]) {
    const tests = cases.map((c) => ({
      name: c.name,
      interval: '15s',
      input_series: c.input,
      promql_expr_test: [{ expr: withArgs(metric.query, args), eval_time: '8m', exp_samples: c.expected === undefined ? [] : [{ labels: '{}', value: c.expected }] }],
    }));
    const file = join(dir, `${metric.name}.test.yaml`);
    writeFileSync(file, stringify({ rule_files: [], evaluation_interval: '15s', tests }));
    expect(execFileSync(promtool, ['test', 'rules', file], { encoding: 'utf8' })).toMatch(/SUCCESS/);
  }

  it(`canary-traffic counts the canary's user requests over ${ANALYSIS_WINDOW}, not the stable pods' nor the probes'`, () => {
    expectQuery(byName('canary-traffic'), [
      // One request every 15 s: 8 in two minutes.
      // The pod's other series (its duration histogram) are not requests.
      { name: 'a trickle', input: [requests(canaryHash, 200, 1), requests(stableHash, 200, 50), ...PROBE_ROUTES.map((r) => requests(canaryHash, 200, 20, r)), ...durations(canaryHash, 1, 0)], expected: 8 },
      { name: 'busy', input: [requests(canaryHash, 200, 3), requests(canaryHash, 500, 1)], expected: 32 },
      { name: 'only probes', input: PROBE_ROUTES.map((r) => requests(canaryHash, 200, 20, r)), expected: undefined },
    ]);
  });

  it('canary-traffic passes the gate only from 20 user requests in the window: a trickle or no data proves nothing', () => {
    const traffic = byName('canary-traffic');
    expect([8, 19, 20, 32].map((n) => holds(traffic.successCondition, [n]))).toEqual([false, false, true, true]);
    expect(holds(traffic.successCondition, [])).toBe(false);
    // A quiet minute is not a fault: the background analysis does not run it.
    expect(traffic.failureCondition).toBeUndefined();
  });

  it("success-ratio is the share of the canary's user requests not answered with a 5xx", () => {
    expectQuery(byName('success-ratio'), [
      { name: 'healthy canary, failing stable', input: [requests(canaryHash, 200, 10), requests(stableHash, 500, 10)], expected: 1 },
      { name: '20 % 5xx', input: [requests(canaryHash, 200, 8), requests(canaryHash, 503, 2)], expected: 0.8 },
      { name: '4xx are answers', input: [requests(canaryHash, 200, 6), requests(canaryHash, 404, 4)], expected: 1 },
      { name: '5xx probes do not count', input: [requests(canaryHash, 200, 10), requests(canaryHash, 503, 10, '/readyz')], expected: 1 },
      { name: 'no traffic', input: [requests(stableHash, 200, 10)], expected: undefined },
    ]);
    const ratio = byName('success-ratio');
    // The default threshold is 1 − the HighErrorRatio alert's 5 %: 95 % passes, below fails, no data fails the gate only.
    expect([1, 0.95, 0.8].map((v) => verdicts(ratio, [v]))).toEqual([
      { gate: true, background: false },
      { gate: true, background: false },
      { gate: false, background: true },
    ]);
    expect(verdicts(ratio, [])).toEqual({ gate: false, background: false });
    expect(verdicts(ratio, [NaN])).toEqual({ gate: false, background: false });
  });

  it("latency-p95 is the canary's 95th percentile: a slow tail of 10 % fails it while its median is fast", () => {
    const latency = byName('latency-p95');
    expectQuery(latency, [
      // 9 fast (40 ms, bucket ≤ 50 ms) and 1 slow (2 s, bucket 1–2.5 s) per scrape: the 95th percentile is halfway into the slow bucket.
      { name: 'slow tail', input: durations(canaryHash, 9, 1), expected: 1.75 },
      // All fast: the 95th percentile is 95 % into the 25–50 ms bucket; the stable pods' slowness is not the canary's.
      // ...nor the canary's slow database queries, another histogram of the same pod.
      { name: 'fast canary, slow stable', input: [...durations(canaryHash, 10, 0), ...durations(stableHash, 0, 10), ...durations(canaryHash, 0, 10, 'db_query_duration_seconds_bucket')], expected: 0.04875 },
      { name: 'no traffic', input: durations(stableHash, 10, 0), expected: undefined },
    ]);
    // Default threshold: the HighLatencyP95 alert's 500 ms.
    expect(verdicts(latency, [1.75])).toEqual({ gate: false, background: true });
    expect(verdicts(latency, [0.5])).toEqual({ gate: true, background: false });
    expect(verdicts(latency, [0.04875])).toEqual({ gate: true, background: false });
    expect(verdicts(latency, [])).toEqual({ gate: false, background: false });
  });
});

describe('canary thresholds', () => {
  it("hold a canary to its service's alert thresholds, and to at least 20 user requests", () => {
    expect(canaryThresholdsFrom({ ...defaultThresholds, errorRatio: 0.1, latencyP95Seconds: 0.3 })).toEqual({ minSuccessRatio: 0.9, maxLatencyP95Seconds: 0.3, minRequests: 20 });
    expect(defaultCanaryThresholds).toEqual(canaryThresholdsFrom(defaultThresholds));
  });

  it('reach the conditions: custom thresholds move every verdict', () => {
    const metrics = canaryMetrics({ minSuccessRatio: 0.9, maxLatencyP95Seconds: 0.3, minRequests: 50 });
    expect([49, 50].map((n) => holds(byName('canary-traffic', metrics).successCondition, [n]))).toEqual([false, true]);
    for (const name of ['success-ratio', 'gateway-success-ratio']) {
      expect([0.89, 0.9].map((v) => verdicts(byName(name, metrics), [v]))).toEqual([
        { gate: false, background: true },
        { gate: true, background: false },
      ]);
    }
    expect([0.3, 0.31].map((v) => verdicts(byName('latency-p95', metrics), [v]))).toEqual([
      { gate: true, background: false },
      { gate: false, background: true },
    ]);
  });

  it('mark only the gateway metric as needing the cluster', () => {
    expect(canaryMetrics().filter((m) => m.clusterOnly).map((m) => m.name)).toEqual(['gateway-success-ratio']);
    expect(canaryMetrics().filter((m) => m.clusterOnly !== true).map((m) => m.clusterOnly)).toEqual([undefined, undefined, undefined]);
  });
});

describe('withArgs', () => {
  it('fills in every argument, each occurrence, and leaves the rest of the query alone', () => {
    expect(withArgs('a{x="{{args.service}}",y="{{args.canary-hash}}"} / b{x="{{args.service}}"}', { ...args, service: 'teacher' })).toBe(
      `a{x="teacher",y="${canaryHash}"} / b{x="teacher"}`,
    );
    expect(withArgs('up', args)).toBe('up');
  });

  it('refuses an argument it has no value for, naming it', () => {
    expect(() => withArgs('up{x="{{args.nope}}"}', args)).toThrow('no value for {{args.nope}}');
  });

  it('leaves no argument unfilled in any query', () => {
    for (const m of canaryMetrics()) expect(withArgs(m.query, args)).not.toMatch(/\{\{|\}\}/);
  });
});

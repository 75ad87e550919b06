/**
 * The gateway-success-ratio gate evaluated by Prometheus' own engine (`promtool test rules`) on series
 * shaped exactly as Traefik v3.7.11 names them (see src/delivery/gateway-metrics.ts for the source facts):
 * it counts the canary Service's backend only, reads 5xx as failures, gives 0 (not "no data") when every
 * answer is a 5xx, gives no data without canary traffic, and is empty when the scrape renamed Traefik's
 * `service` label (a ServiceMonitor without honorLabels), which the gate then reads as a failure.
 * The real Traefik's series are checked in the box test.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../../scripts/box/build.js';
import { canaryMetrics, withArgs } from '../src/delivery/analysis.js';
import { TRAEFIK_GATEWAY_PROVIDER, traefikBackendPattern } from '../src/delivery/gateway-metrics.js';

/**
 * Traefik's name for the service of one backendRef of an HTTPRoute rule: makeRouterName
 * (pkg/provider/kubernetes/gateway/kubernetes.go) + `-svc-<ns>-<backend>-<index>` (httproute.go loadService)
 * + `@kubernetesgateway` (MakeQualifiedName).
 */
function traefikBackendService(route: { ns: string; name: string; rule: string; ruleIndex?: number; entryPoint?: string }, backend: string, index: number): string {
  const [gwNs, gw, ep, ri] = ['traefik', 'courseops', route.entryPoint ?? 'websecure', String(route.ruleIndex ?? 0)];
  const label = `httproute-${route.ns}-${route.name}-gw-${gwNs}-${gw}-ep-${ep}-${ri}`.split(/[^\p{L}\p{N}]+/u).filter(Boolean).join('-');
  const h = createHash('sha256');
  for (const c of [route.ns, route.name, gwNs, gw, ep, ri]) h.update(`${c.length}:${c}`);
  h.update(route.rule);
  return `${label}-${h.digest('hex').slice(0, 20)}-svc-${route.ns}-${backend}-${index}@${TRAEFIK_GATEWAY_PROVIDER}`;
}

const course = { ns: 'courseops', name: 'course', rule: 'Host(`api.courseops.test`) && PathPrefix(`/api/courses`)' };
const stable = traefikBackendService(course, 'course', 0);
const canary = traefikBackendService(course, 'course-canary', 1);
const args = { service: 'course', namespace: 'courseops', 'canary-service': 'course-canary', 'canary-hash': 'unused' };

describe('the canary backend pattern on real-shaped Traefik service names', () => {
  const matches = (name: string) => new RegExp(`^(?:${traefikBackendPattern('courseops', 'course-canary')})$`).test(name);

  it('matches the canary backend in any listener or rule, never the stable one or another namespace', () => {
    expect(canary).toMatch(/^httproute-courseops-course-gw-traefik-courseops-ep-websecure-0-[0-9a-f]{20}-svc-courseops-course-canary-1@kubernetesgateway$/);
    expect(matches(canary)).toBe(true);
    expect(matches(traefikBackendService({ ...course, ruleIndex: 2, entryPoint: 'web' }, 'course-canary', 0))).toBe(true);
    expect(matches(stable)).toBe(false);
    expect(matches(traefikBackendService({ ...course, ns: 'other' }, 'course-canary', 1))).toBe(false);
    // The weighted-round-robin parent has no series, and its name would not match anyway.
    expect(matches(canary.replace(/-svc-.*@/, '-wrr@'))).toBe(false);
  });
});

describe('gateway-success-ratio evaluated by promtool on Traefik-shaped series', () => {
  const dir = mkdtempSync(join(tmpdir(), 'courseops-gateway-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Prometheus' own promtool at the chart's version, built from its module (cached; see scripts/box/build.ts).
  let promtool = '';
  beforeAll(async () => {
    promtool = (await ensureTool('prometheus')).promtool!;
  }, TOOL_BUILD_TIMEOUT_MS);
  const gate = canaryMetrics().find((m) => m.name === 'gateway-success-ratio')!;
  const query = withArgs(gate.query, args);

  /** A counter rising by `perSecond` every second, scraped every 15 s, as Traefik's with honorLabels. */
  const series = (service: string, code: number, perSecond: number, labelName = 'service') => ({
    series: `traefik_service_requests_total{${labelName}="${service}",code="${code}",method="GET",protocol="http",namespace="traefik",job="traefik"${labelName === 'service' ? '' : ',service="traefik"'}}`,
    values: `0+${perSecond * 15}x40`,
  });
  const group = (name: string, input: ReturnType<typeof series>[], expected: number | undefined) => ({
    name,
    interval: '15s',
    input_series: input,
    promql_expr_test: [{ expr: query, eval_time: '8m', exp_samples: expected === undefined ? [] : [{ labels: '{}', value: expected }] }],
  });

  it('passes a healthy canary, fails a faulty or dead one, and has no data without canary traffic or honoured labels', () => {
    const tests = [
      // The stable backend's 5xx do not count against the canary.
      group('healthy canary', [series(canary, 200, 10), series(stable, 200, 90), series(stable, 500, 10)], 1),
      group('faulty canary: 20 % 5xx', [series(canary, 200, 8), series(canary, 500, 2), series(stable, 200, 90)], 0.8),
      // A canary that answers nothing: 502 from Traefik for every request, a ratio of 0 rather than no data.
      group('dead canary: only 502', [series(canary, 502, 5), series(stable, 200, 90)], 0),
      // Two listeners or rules reaching the canary Service: their series add up.
      group('two routers', [series(canary, 200, 4), series(traefikBackendService({ ...course, ruleIndex: 1 }, 'course-canary', 1), 503, 1)], 0.8),
      group('no canary traffic', [series(stable, 200, 90)], undefined),
      group('labels renamed by a scrape without honorLabels', [series(canary, 200, 10, 'exported_service')], undefined),
    ];
    const file = join(dir, 'gateway.test.yaml');
    writeFileSync(file, stringify({ rule_files: [], evaluation_interval: '15s', tests }));
    const out = execFileSync(promtool, ['test', 'rules', file], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
  });

  it('turns those values into the verdicts Argo Rollouts applies (no data fails the gate, not the background)', () => {
    const holds = (condition: string, result: number[]) =>
      (new Function('result', 'len', `return (${condition});`) as (r: number[], len: (a: unknown[]) => number) => unknown)(result, (a) => a.length) === true;
    expect([1, 0.8, 0, undefined].map((v) => holds(gate.successCondition, v === undefined ? [] : [v]))).toEqual([true, false, false, false]);
    expect([1, 0.8, 0, undefined].map((v) => holds(gate.failureCondition!, v === undefined ? [] : [v]))).toEqual([false, true, true, false]);
  });
});

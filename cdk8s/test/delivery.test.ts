import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../../scripts/box/build.js';
import { ANALYSIS_ARGS, ANALYSIS_WINDOW, CANARY_HASH_LABEL, canaryMetrics, withArgs } from '../src/delivery/analysis.js';
import { CANARY_WEIGHTS, canaryStrategy, gatewayTrafficRouting, STEP_PAUSE } from '../src/delivery/strategy.js';
import { PROMETHEUS_URL } from '../src/delivery/templates.js';
import { gatewayApiPlugin } from '../src/helm/releases/argo-rollouts.js';
import { serviceNames } from '../src/microservice/mixin.js';
import { peers } from '../src/networking/peers.js';
import { services } from '../src/services.js';
import { ofKind, synthesized, type K8sObject } from './support/platform.js';

type Step = { setWeight?: number; pause?: { duration?: string }; analysis?: { templates: { templateName: string }[]; args: Arg[] } };
type Arg = { name: string; value?: string; valueFrom?: { podTemplateHashValue?: string } };
type Canary = {
  stableService: string;
  canaryService: string;
  trafficRouting?: { plugins?: Record<string, { httpRoute?: string; namespace?: string }> };
  analysis: { templates: { templateName: string }[]; args: Arg[]; startingStep: number };
  steps: Step[];
};
type Metric = { name: string; successCondition?: string; failureCondition?: string; count?: number; failureLimit?: number; provider: { prometheus: { address: string; query: string } } };

const { objects } = synthesized();
const find = (kind: string, namespace: string | undefined, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
const seconds = (d: string) => Number(/^(\d+)([sm])$/.exec(d)![1]) * (d.endsWith('m') ? 60 : 1);

describe.each(services.map((s) => s.name))('canary delivery of %s', (service) => {
  const rollout = ofKind(objects, 'Rollout').find((r) => r.metadata.name === service)!;
  const namespace = rollout.metadata.namespace;
  const canary = (rollout.spec as { strategy: { canary: Canary } }).strategy.canary;

  it('steps 10 % → pause → analysis → 25 % → pause → 50 % → pause → analysis → 100 %', () => {
    const shape = canary.steps.map((s) => (s.setWeight !== undefined ? s.setWeight : s.pause ? 'pause' : s.analysis ? 'analysis' : '?'));
    expect(shape).toEqual([CANARY_WEIGHTS[0], 'pause', 'analysis', CANARY_WEIGHTS[1], 'pause', CANARY_WEIGHTS[2], 'pause', 'analysis', 100]);
    // Every pause outlasts the analysis window, so an analysis after it sees traffic at that weight only.
    for (const s of canary.steps.filter((x) => x.pause)) expect(seconds(s.pause!.duration!)).toBeGreaterThan(seconds(ANALYSIS_WINDOW));
    expect(STEP_PAUSE).toBe(canary.steps[1]!.pause!.duration);
  });

  it("splits traffic through the Gateway API plugin, on the service's HTTPRoute, between the Services it names", () => {
    const names = serviceNames(service);
    // Only the plugin the controller loads: the Rollout names it exactly as the chart values do.
    expect(canary.trafficRouting).toEqual({ plugins: { [gatewayApiPlugin.name]: { httpRoute: names.httpRoute, namespace } } });
    expect([canary.stableService, canary.canaryService]).toEqual([names.stableService, names.canaryService]);
    expect(find('Service', namespace, canary.stableService)).toBeDefined();
    expect(find('Service', namespace, canary.canaryService)).toBeDefined();
  });

  it('has that HTTPRoute, whose rule lists the stable and canary Services with no weights (the plugin owns them)', () => {
    type Route = { spec: { rules: { backendRefs?: { name: string; weight?: number }[] }[] } };
    const route = find('HTTPRoute', namespace, serviceNames(service).httpRoute) as (K8sObject & Route) | undefined;
    expect(route, `HTTPRoute ${namespace}/${serviceNames(service).httpRoute}`).toBeDefined();
    const refs = route!.spec.rules.flatMap((r) => r.backendRefs ?? []);
    expect(refs.map((r) => r.name).sort()).toEqual([canary.canaryService, canary.stableService].sort());
    expect(refs.filter((r) => r.weight !== undefined)).toEqual([]);
  });

  it('runs the gated template at both analysis steps and the background one from the first step', () => {
    const gated = canary.steps.filter((s) => s.analysis).map((s) => s.analysis!.templates.map((t) => t.templateName));
    expect(gated).toEqual([[`${service}-canary`], [`${service}-canary`]]);
    expect(canary.analysis.templates.map((t) => t.templateName)).toEqual([`${service}-canary-background`]);
    expect(canary.analysis.startingStep).toBe(1);
  });

  it("passes every argument the templates take, with the canary's pod-template hash from the Rollout", () => {
    for (const args of [canary.analysis.args, ...canary.steps.filter((s) => s.analysis).map((s) => s.analysis!.args)]) {
      expect(args.map((a) => a.name).sort()).toEqual([...ANALYSIS_ARGS].sort());
      const byName = Object.fromEntries(args.map((a) => [a.name, a]));
      expect(byName['canary-hash']).toEqual({ name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } });
      expect(byName.service!.value).toBe(service);
      expect(byName.namespace!.value).toBe(namespace);
      expect(byName['canary-service']!.value).toBe(canary.canaryService);
    }
    for (const name of [`${service}-canary`, `${service}-canary-background`]) {
      const template = find('AnalysisTemplate', namespace, name) as K8sObject & { spec: { args: { name: string }[] } };
      expect(template, name).toBeDefined();
      expect(template.spec.args.map((a) => a.name).sort()).toEqual([...ANALYSIS_ARGS].sort());
    }
  });

  it('gates on traffic, success ratio (pods and gateway) and p95; one failed measurement aborts', () => {
    const template = find('AnalysisTemplate', namespace, `${service}-canary`) as K8sObject & { spec: { metrics: Metric[] } };
    expect(template.spec.metrics.map((m) => m.name)).toEqual(['canary-traffic', 'success-ratio', 'gateway-success-ratio', 'latency-p95']);
    for (const m of template.spec.metrics) {
      expect(m.provider.prometheus.address).toBe(PROMETHEUS_URL);
      // No data (an empty vector, or NaN from 0/0) must fail the gate, never pass it.
      expect(m.successCondition).toMatch(/^len\(result\) > 0 && result\[0\] [<>]= [\d.]+$/);
      expect(m.failureLimit).toBe(0);
      expect(m.count).toBe(2);
    }
    const background = find('AnalysisTemplate', namespace, `${service}-canary-background`) as K8sObject & { spec: { metrics: Metric[] } };
    expect(background.spec.metrics.map((m) => m.name)).toEqual(['success-ratio', 'gateway-success-ratio', 'latency-p95']);
    for (const m of background.spec.metrics) {
      expect(m.successCondition).toBeUndefined();
      expect(m.failureCondition).toMatch(/^len\(result\) > 0 && result\[0\] [<>] [\d.]+$/);
    }
  });

  it("keeps the Rollout's pods available: no pod below the replicas, a quarter more while the canary starts", () => {
    const strategy = canary as Canary & { maxUnavailable: number; maxSurge: string };
    expect(strategy.maxUnavailable).toBe(0);
    expect(strategy.maxSurge).toBe('25%');
  });

  it('measures twice 30 s apart at each gate and every minute in the background, with the limits that abort', () => {
    type Measured = Metric & { interval: string; consecutiveErrorLimit: number; provider: { prometheus: { timeout: number } } };
    const metricsOf = (name: string) => (find('AnalysisTemplate', namespace, name) as K8sObject & { spec: { metrics: Measured[] } }).spec.metrics;
    for (const m of metricsOf(`${service}-canary`)) {
      // One failed measurement aborts; Prometheus unreachable twice in a row is an error, and aborts too.
      expect([m.count, m.interval, m.failureLimit, m.consecutiveErrorLimit], m.name).toEqual([2, '30s', 0, 2]);
      expect(m.provider.prometheus.timeout).toBe(10);
    }
    for (const m of metricsOf(`${service}-canary-background`)) {
      // Runs until the rollout ends (no count); the second failed measurement aborts, or three errors in a row.
      expect([m.count, m.interval, m.failureLimit, m.consecutiveErrorLimit], m.name).toEqual([undefined, '1m', 1, 3]);
      expect(m.provider.prometheus.timeout).toBe(10);
    }
  });

  it("labels both AnalysisTemplates as the service's delivery objects", () => {
    for (const name of [`${service}-canary`, `${service}-canary-background`]) {
      const labels = find('AnalysisTemplate', namespace, name)!.metadata.labels;
      expect(labels, name).toEqual({ ...rollout.metadata.labels, 'app.kubernetes.io/component': 'delivery' });
    }
  });

  it("queries the same expressions in both templates, each with this service's canary arguments only", () => {
    const queries = (name: string) => Object.fromEntries((find('AnalysisTemplate', namespace, name) as K8sObject & { spec: { metrics: Metric[] } }).spec.metrics.map((m) => [m.name, m.provider.prometheus.query]));
    const gated = queries(`${service}-canary`);
    expect(queries(`${service}-canary-background`)).toEqual({ 'success-ratio': gated['success-ratio'], 'gateway-success-ratio': gated['gateway-success-ratio'], 'latency-p95': gated['latency-p95'] });
    expect(Object.values(gated)).toEqual(canaryMetrics().map((m) => m.query));
  });
});

describe('canary strategy without a public route', () => {
  const props = { service: 'worker', namespace: 'courseops', names: serviceNames('worker'), publicRoute: false };

  it('has no traffic routing: the canary gets its share by pod count, with the same steps and analyses', () => {
    const withRoute = canaryStrategy({ ...props, publicRoute: true }).canary!;
    const without = canaryStrategy(props).canary!;
    expect(withRoute.trafficRouting).toEqual(gatewayTrafficRouting(props));
    expect(without).not.toHaveProperty('trafficRouting');
    const { trafficRouting: _routing, ...rest } = withRoute;
    expect(without).toEqual(rest);
  });
});

describe('canary analysis queries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'courseops-canary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Prometheus' own promtool at the chart's version, built from its module (cached; see scripts/box/build.ts).
  let promtool = '';
  beforeAll(async () => {
    promtool = (await ensureTool('prometheus')).promtool!;
  }, TOOL_BUILD_TIMEOUT_MS);

  it("select the canary pods by the pod-template hash label the ServiceMonitor copies from the pod", () => {
    const monitors = ofKind(objects, 'ServiceMonitor').filter((m) => services.some((s) => s.name === m.metadata.name));
    for (const m of monitors) expect((m.spec as { podTargetLabels?: string[] }).podTargetLabels).toContain('rollouts-pod-template-hash');
    // Prometheus turns the pod label's dashes into underscores.
    expect(CANARY_HASH_LABEL).toBe('rollouts-pod-template-hash'.replaceAll('-', '_'));
    for (const m of canaryMetrics().filter((x) => !x.clusterOnly)) expect(m.query).toContain(`${CANARY_HASH_LABEL}="{{args.canary-hash}}"`);
  });

  it('are valid PromQL once the Rollout fills in the arguments (promtool check rules)', () => {
    const args = { service: 'course', namespace: 'courseops', 'canary-hash': '6d4f8b7c9', 'canary-service': 'course-canary' };
    const rules = canaryMetrics().map((m, i) => ({ record: `canary:check_${i}`, expr: withArgs(m.query, args) }));
    const file = join(dir, 'canary.rules.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'canary', rules }] }));
    const out = execFileSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
    expect(out).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('fill in every argument or refuse', () => {
    expect(() => withArgs('up{x="{{args.nope}}"}', { service: 's', namespace: 'n', 'canary-hash': 'h', 'canary-service': 'c' })).toThrow(/args.nope/);
  });
});

describe('network path of the analysis', () => {
  it("queries the Prometheus Operator's governing Service, prometheus-operated, on Prometheus' web port 9090", () => {
    const url = new URL(PROMETHEUS_URL);
    expect([url.protocol, url.hostname, url.port]).toEqual(['http:', 'prometheus-operated.monitoring.svc.cluster.local', '9090']);
  });

  it('lets the Argo Rollouts controller reach Prometheus, and nothing else reach it on 9090 except the gateway', () => {
    const policies = ofKind(objects, 'NetworkPolicy').filter((p) => p.metadata.namespace === 'monitoring');
    type Rule = { from?: { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> } }[]; ports?: { port: number }[] };
    const allowed = policies.flatMap((p) => ((p.spec as { ingress?: Rule[] }).ingress ?? []).filter((r) => r.ports?.some((x) => x.port === 9090)));
    const sources = allowed.flatMap((r) => (r.from ?? []).map((f) => `${f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']}/${f.podSelector?.matchLabels?.['app.kubernetes.io/name']}`));
    const source = (p: { namespace: string; podLabels: Readonly<Record<string, string>> }) => `${p.namespace}/${p.podLabels['app.kubernetes.io/name']}`;
    expect(sources).toContain('argo-rollouts/argo-rollouts');
    expect(sources.sort()).toEqual([source(peers.rolloutsController), source(peers.gateway)].sort());
  });
});

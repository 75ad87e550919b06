import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { blackboxService, INGRESS_PROBE_MODULE, type BlackboxExporterValues } from '../src/helm/releases/prometheus-blackbox-exporter.js';
import { traefikEntryPoints } from '../src/helm/releases/traefik.js';
import { RULES_DIR } from '../src/monitoring/files.js';
import { PROBE_INTERVAL } from '../src/monitoring/probes.js';
import { ns } from '../src/namespaces.js';
import { peers } from '../src/networking/peers.js';
import { services } from '../src/services.js';
import { ofKind, synthesized, type K8sObject } from './support/platform.js';

/** Blackbox probes of the public endpoints: one Probe per public route, labelled as EndpointProbeFailing selects. */
const { platform, out, objects } = synthesized();

interface ProbeSpec {
  interval: string;
  module: string;
  prober: { url: string; scheme?: string; path?: string };
  targets: { staticConfig: { static: string[]; labels: Record<string, string> } };
}
const probes = ofKind(objects, 'Probe') as (K8sObject & { spec: ProbeSpec })[];
const blackbox = platform.releases.find((r) => r.chart === 'prometheus-blackbox-exporter')!;

type FileRule = { alert?: string; expr: string; labels?: Record<string, string> };
const alerts = [...out.files]
  .filter(([f]) => f.startsWith(`${RULES_DIR}/`))
  .flatMap(([, c]) => (parse(c) as { groups: { rules: FileRule[] }[] }).groups.flatMap((g) => g.rules))
  .filter((r) => r.alert === 'EndpointProbeFailing');

/** The label matchers of the rule's `probe_success{...}` selector. */
function matchers(expr: string): { name: string; op: string; value: string }[] {
  const sel = /probe_success\{([^}]*)\}/.exec(expr);
  if (!sel) throw new Error(`no probe_success selector in ${expr}`);
  return [...sel[1]!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((m) => ({ name: m[1]!, op: m[2]!, value: m[3]! }));
}
const satisfies = (labels: Record<string, string>, m: { name: string; op: string; value: string }) => {
  const v = labels[m.name] ?? '';
  if (m.op === '=') return v === m.value;
  if (m.op === '!=') return v !== m.value;
  const re = new RegExp(`^(?:${m.value})$`);
  return m.op === '=~' ? re.test(v) : !re.test(v);
};

describe('Probes of the public endpoints', () => {
  it('every service with a public route has a Probe of its URL through the ingress', () => {
    const expected = services
      .filter((s) => s.ingress)
      .map((s) => ({ service: s.name, url: `https://${platform.hosts[s.ingress!.host]}${s.ingress!.path}` }));
    expect(expected.length).toBeGreaterThan(0);
    const actual = probes.map((p) => ({ service: p.spec.targets.staticConfig.labels.service, url: p.spec.targets.staticConfig.static[0] }));
    expect(actual.sort((a, b) => a.service!.localeCompare(b.service!))).toEqual(expected.sort((a, b) => a.service.localeCompare(b.service)));
  });

  it('every public host that serves an app is probed (api, status)', () => {
    const appHosts = new Set(services.flatMap((s) => (s.ingress ? [platform.hosts[s.ingress.host]] : [])));
    const probed = new Set(probes.flatMap((p) => p.spec.targets.staticConfig.static.map((u) => new URL(u).host)));
    expect([...appHosts].sort()).toEqual([...probed].sort());
    expect(appHosts).toContain(platform.hosts.api);
    expect(appHosts).toContain(platform.hosts.status);
  });

  it("each Probe's labels satisfy its service's EndpointProbeFailing selector", () => {
    for (const p of probes) {
      const labels = p.spec.targets.staticConfig.labels;
      const rule = alerts.find((a) => a.labels?.service === labels.service);
      expect(rule, `EndpointProbeFailing for ${labels.service}`).toBeDefined();
      const ms = matchers(rule!.expr);
      expect(ms.map((m) => m.name)).toContain('service');
      for (const m of ms) expect(satisfies(labels, m), `${p.metadata.name}: ${m.name}${m.op}"${m.value}"`).toBe(true);
    }
    // and no alert is left without a Probe to feed it
    expect(alerts.map((a) => a.labels?.service).sort()).toEqual(probes.map((p) => p.spec.targets.staticConfig.labels.service).sort());
  });

  it('the matcher check rejects a wrong label', () => {
    expect(satisfies({ service: 'course' }, { name: 'service', op: '=', value: 'teacher' })).toBe(false);
  });

  it('Probes use the blackbox exporter release, an existing module, every 30s', () => {
    const modules = (blackbox.values as BlackboxExporterValues).config.modules;
    for (const p of probes) {
      expect(p.metadata.namespace).toBe(ns.monitoring.name);
      expect(p.spec.interval).toBe(PROBE_INTERVAL);
      expect(PROBE_INTERVAL).toBe('30s');
      expect(p.spec.prober.url).toBe(`${blackbox.name}.${blackbox.namespace}.svc:${blackboxService.port}`);
      expect(Object.keys(modules)).toContain(p.spec.module);
    }
    expect(modules[INGRESS_PROBE_MODULE]!.http.fail_if_not_ssl).toBe(true);
  });
});

describe('blackbox exporter release', () => {
  it('is installed in monitoring after kube-prometheus-stack and traefik', () => {
    const order = (chart: string) => platform.releases.find((r) => r.chart === chart)!.order;
    expect(blackbox.namespace).toBe(ns.monitoring.name);
    expect(blackbox.order).toBeGreaterThan(order('kube-prometheus-stack'));
    expect(blackbox.order).toBeGreaterThan(order('traefik'));
  });

  it('is hardened and resourced', () => {
    const v = blackbox.values as BlackboxExporterValues;
    expect(v.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(v.podSecurityContext.seccompProfile?.type).toBe('RuntimeDefault');
    expect(v.resources.requests.cpu).toBeTruthy();
    expect(v.resources.limits?.memory).toBeTruthy();
    expect(blackbox.footprint.length).toBe(1);
  });
});

describe('network paths of the probes', () => {
  const policies = ofKind(objects, 'NetworkPolicy') as (K8sObject & {
    spec: { podSelector: { matchLabels?: Record<string, string> }; ingress?: { from: Record<string, any>[]; ports?: { port: number }[] }[] };
  })[];
  /** Ingress rules of a namespace's policies that admit `from` pods on `port`. */
  const admits = (namespace: string, from: { namespace: string; podLabels: Record<string, string> }, port: number) =>
    policies
      .filter((p) => p.metadata.namespace === namespace)
      .some((p) =>
        (p.spec.ingress ?? []).some(
          (r) =>
            (r.ports ?? []).some((x) => x.port === port) &&
            r.from.some(
              (f) =>
                f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === from.namespace &&
                Object.entries(from.podLabels).every(([k, v]) => f.podSelector?.matchLabels?.[k] === v),
            ),
        ),
      );

  it('Prometheus reaches the blackbox exporter on 9115', () => {
    expect(admits(ns.monitoring.name, peers.prometheus, blackboxService.port)).toBe(true);
  });

  // Its Service's 80/443 lead to the web/websecure entry points: policies see the pod's ports.
  it("the blackbox exporter reaches Traefik's entry points 8000 and 8443, not its internal API port", () => {
    for (const port of [traefikEntryPoints.web.port, traefikEntryPoints.websecure.port]) expect(admits(ns.ingress.name, peers.blackboxExporter, port), String(port)).toBe(true);
    expect(admits(ns.ingress.name, peers.blackboxExporter, traefikEntryPoints.traefik.port)).toBe(false);
  });
});

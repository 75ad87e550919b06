import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { allNamespaces, ns } from '../src/namespaces.js';
import { AllowPolicy } from '../src/networking/policies.js';
import { ofKind, PROFILES_UNDER_TEST, synthesized, type K8sObject } from './support/platform.js';

/**
 * The namespace-wide NetworkPolicies (src/networking: default deny, DNS, each platform namespace's profile),
 * on the synthesized output of both profiles, and how AllowPolicy writes each kind of peer and port.
 */

type Peer = { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> }; ipBlock?: { cidr: string } };
type Port = { protocol: string; port: number };
type Rule = { from?: Peer[]; to?: Peer[]; ports?: Port[] };
type PolicySpec = { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] };
const specOf = (p: K8sObject) => p.spec as unknown as PolicySpec;

/** A peer as people write it: `world`, `any namespace`, `<namespace>` or `<namespace>/<label>=<value>,...`. */
function peerText(peer: Peer): string {
  if (peer.ipBlock) return peer.ipBlock.cidr === '0.0.0.0/0' ? 'world' : `ipBlock ${peer.ipBlock.cidr}`;
  const labels = peer.podSelector?.matchLabels;
  const pods = labels ? `/${Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}` : peer.podSelector ? '/all pods' : '';
  const namespaceLabels = peer.namespaceSelector?.matchLabels;
  if (!namespaceLabels) return `any namespace${pods}`;
  expect(Object.keys(namespaceLabels)).toEqual(['kubernetes.io/metadata.name']);
  return `${namespaceLabels['kubernetes.io/metadata.name']}${pods}`;
}
const portsText = (ports: Port[] | undefined) =>
  ports === undefined ? 'all ports' : ports.map((p) => `${p.protocol} ${p.port}`).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join(', ');
/** Each rule of a policy as `ingress from <peers>: <ports>` / `egress to <peers>: <ports>`, sorted. */
const flows = (spec: PolicySpec) =>
  [
    ...(spec.ingress ?? []).map((r) => `ingress from ${(r.from ?? []).map(peerText).join(' | ')}: ${portsText(r.ports)}`),
    ...(spec.egress ?? []).map((r) => `egress to ${(r.to ?? []).map(peerText).join(' | ')}: ${portsText(r.ports)}`),
  ].sort();

// Pods of the platform, by the labels their charts and operators give them.
const traefik = 'traefik/app.kubernetes.io/instance=traefik-traefik,app.kubernetes.io/name=traefik';
const prometheus = 'monitoring/app.kubernetes.io/name=prometheus';
const grafana = 'monitoring/app.kubernetes.io/name=grafana';
const blackboxExporter = 'monitoring/app.kubernetes.io/name=prometheus-blackbox-exporter';
const rolloutsController = 'argo-rollouts/app.kubernetes.io/name=argo-rollouts';
const backupJobs = 'courseops/app.kubernetes.io/name=backup';
const apiServer = 'egress to world: TCP 443, TCP 6443';

/** What each platform namespace allows besides DNS, with a self-signed CA (the kind profile). */
const platformFlows: Record<string, { sameNamespace: boolean; prometheusScrape: boolean; ingress: string[]; egress: string[] }> = {
  monitoring: {
    sameNamespace: true,
    prometheusScrape: false,
    ingress: [
      `ingress from ${traefik}: TCP 3000, TCP 9090, TCP 9093`,
      'ingress from world: TCP 10250',
      `ingress from ${prometheus}: TCP 9115`,
      `ingress from ${rolloutsController}: TCP 9090`,
      `ingress from ${backupJobs}: TCP 9091`,
    ],
    egress: [
      apiServer,
      'egress to any namespace: all ports',
      'egress to world: TCP 2381, TCP 9100, TCP 10249, TCP 10250, TCP 10257, TCP 10259',
      'egress to world: TCP 587',
    ],
  },
  traefik: {
    sameNamespace: true,
    prometheusScrape: true,
    ingress: ['ingress from world: TCP 8000, TCP 8443', `ingress from ${blackboxExporter}: TCP 8000, TCP 8443`],
    egress: [apiServer, 'egress to any namespace: all ports'],
  },
  'cert-manager': { sameNamespace: true, prometheusScrape: true, ingress: ['ingress from world: TCP 10250'], egress: [apiServer] },
  'elastic-system': {
    sameNamespace: true,
    prometheusScrape: true,
    ingress: ['ingress from world: TCP 9443'],
    egress: [apiServer, 'egress to any namespace: TCP 5601, TCP 9200, TCP 9600'],
  },
  'argo-rollouts': {
    sameNamespace: true,
    prometheusScrape: true,
    ingress: [`ingress from ${traefik}: TCP 3100`],
    egress: [apiServer, `egress to ${prometheus}: TCP 9090`],
  },
  auth: {
    sameNamespace: true,
    prometheusScrape: true,
    ingress: [`ingress from ${traefik}: TCP 4180, TCP 5556`, `ingress from ${grafana}: TCP 5556`],
    egress: [],
  },
  'metrics-server': {
    sameNamespace: false,
    prometheusScrape: false,
    ingress: ['ingress from world: TCP 10250'],
    egress: [apiServer, 'egress to world: TCP 10250'],
  },
  // Their services, databases and the Elastic Stack allow their flows pod by pod, nothing namespace-wide.
  courseops: { sameNamespace: false, prometheusScrape: false, ingress: [], egress: [] },
  logging: { sameNamespace: false, prometheusScrape: false, ingress: [], egress: [] },
  'logging-agents': { sameNamespace: false, prometheusScrape: false, ingress: [], egress: [] },
};

/** With Let's Encrypt (the cluster profile's config), cert-manager also reaches the ACME server and self-checks HTTP-01. */
const acmeEgress = ['egress to world: TCP 443', 'egress to world: TCP 80', `egress to ${traefik}: TCP 8000`];

for (const profile of PROFILES_UNDER_TEST) {
  describe(`${profile} profile: namespace-wide policies`, () => {
    const { objects, platform } = synthesized(profile);
    const policies = ofKind(objects, 'NetworkPolicy');
    const policy = (namespace: string, name: string) => policies.find((p) => p.metadata.namespace === namespace && p.metadata.name === name);

    it('covers every namespace of the platform', () => {
      expect(Object.keys(platformFlows).sort()).toEqual(allNamespaces.map((n) => n.name).sort());
      expect(Object.values(ns).map((n) => n.name).sort()).toEqual(allNamespaces.map((n) => n.name).sort());
    });

    it.each(allNamespaces.map((n) => n.name))("%s: lets every pod resolve names through the cluster DNS (CoreDNS's kube-dns pods, UDP and TCP 53), and nothing more", (namespace) => {
      const dns = policy(namespace, 'allow-dns');
      expect(dns, `${namespace}/allow-dns`).toBeDefined();
      expect(dns!.metadata.annotations?.['courseops.dev/why']).toBe('cluster DNS');
      const spec = specOf(dns!);
      expect(spec.podSelector).toEqual({});
      expect(spec.policyTypes).toEqual(['Egress']);
      expect(spec.ingress).toBeUndefined();
      expect(spec.egress).toHaveLength(1);
      const [rule] = spec.egress!;
      expect(rule!.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
      expect([...rule!.ports!].sort((a, b) => a.protocol.localeCompare(b.protocol))).toEqual([
        { protocol: 'TCP', port: 53 },
        { protocol: 'UDP', port: 53 },
      ]);
    });

    it.each(Object.keys(platformFlows))('%s: allows exactly its profile on top of the default deny', (namespace) => {
      const expected = platformFlows[namespace]!;
      const deny = policy(namespace, 'default-deny')!;
      expect(deny.metadata.annotations?.['courseops.dev/why']).toMatch(/\S/);

      const same = policy(namespace, 'allow-same-namespace');
      if (expected.sameNamespace) {
        expect(same, `${namespace}/allow-same-namespace`).toBeDefined();
        expect(specOf(same!).policyTypes).toEqual(['Ingress', 'Egress']);
        expect(flows(specOf(same!))).toEqual([`egress to ${namespace}: all ports`, `ingress from ${namespace}: all ports`]);
      } else expect(same).toBeUndefined();

      const scrape = policy(namespace, 'allow-prometheus-scrape');
      if (expected.prometheusScrape) {
        expect(scrape, `${namespace}/allow-prometheus-scrape`).toBeDefined();
        expect(flows(specOf(scrape!))).toEqual([`ingress from ${prometheus}: all ports`]);
      } else expect(scrape).toBeUndefined();

      const ingress = policy(namespace, 'allow-ingress');
      if (expected.ingress.length > 0) {
        expect(specOf(ingress!).policyTypes).toEqual(['Ingress']);
        expect(flows(specOf(ingress!))).toEqual([...expected.ingress].sort());
      } else expect(ingress).toBeUndefined();

      const egress = policy(namespace, 'allow-egress');
      const egressFlows = [...expected.egress, ...(namespace === 'cert-manager' && platform.config.tls.kind === 'acme' ? acmeEgress : [])];
      if (egressFlows.length > 0) {
        expect(specOf(egress!).policyTypes).toEqual(['Egress']);
        expect(flows(specOf(egress!))).toEqual(egressFlows.sort());
      } else expect(egress).toBeUndefined();

      // Every namespace-wide policy selects all pods of its namespace.
      for (const p of [deny, same, scrape, ingress, egress].filter((x) => x !== undefined)) expect(specOf(p).podSelector).toEqual({});
    });

    it('explains every rule of every allow policy in its annotation: one non-empty reason per rule', () => {
      for (const p of policies.filter((x) => x.metadata.name !== 'default-deny')) {
        const spec = specOf(p);
        const why = p.metadata.annotations?.['courseops.dev/why'] ?? '';
        const where = `${p.metadata.namespace}/${p.metadata.name}: ${why}`;
        // The reasons are joined with '; ' (a reason may hold one too): an empty reason leaves an empty segment.
        expect(why, where).toMatch(/^\S.*\S$/);
        expect(why, where).not.toMatch(/;\s*;|^;|;\s*$/);
        expect(why.split('; ').length, where).toBeGreaterThanOrEqual((spec.ingress?.length ?? 0) + (spec.egress?.length ?? 0));
      }
    });
  });
}

it('the kind profile uses its own CA and the cluster profile Let\'s Encrypt (both cert-manager egress cases are covered)', () => {
  expect(synthesized('kind').platform.config.tls.kind).not.toBe('acme');
  expect(synthesized('cluster').platform.config.tls.kind).toBe('acme');
});

describe('AllowPolicy', () => {
  const render = (props: Omit<ConstructorParameters<typeof AllowPolicy>[2], 'namespace' | 'name'>) => {
    const chart = Testing.chart();
    new AllowPolicy(chart, 'p', { namespace: 'ns1', name: 'allow-x', ...props });
    const [manifest] = Testing.synth(chart) as K8sObject[];
    return manifest!;
  };

  it('selects the given pods, keeps the given labels, and writes each kind of peer as Kubernetes reads it', () => {
    const manifest = render({
      podLabels: { app: 'a' },
      labels: { team: 't' },
      ingress: [
        { peers: [{ world: true }], ports: [443], why: 'w1' },
        { peers: [{ anyNamespace: true }], why: 'w2' },
        { peers: [{ anyNamespace: true, podLabels: { role: 'scraper' } }], udpPorts: [8125], why: 'w3' },
      ],
      egress: [{ peers: [{ namespace: 'other' }, { namespace: 'other', podLabels: { app: 'b' } }], ports: [5432], udpPorts: [53], why: 'w4' }],
    });
    expect(manifest.kind).toBe('NetworkPolicy');
    expect(manifest.metadata).toMatchObject({ name: 'allow-x', namespace: 'ns1', labels: { team: 't' }, annotations: { 'courseops.dev/why': 'w1; w2; w3; w4' } });
    expect(manifest.spec).toEqual({
      podSelector: { matchLabels: { app: 'a' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] },
        { from: [{ namespaceSelector: {} }] },
        { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'scraper' } } }], ports: [{ protocol: 'UDP', port: 8125 }] },
      ],
      egress: [
        {
          to: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } } },
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } }, podSelector: { matchLabels: { app: 'b' } } },
          ],
          ports: [
            { protocol: 'TCP', port: 5432 },
            { protocol: 'UDP', port: 53 },
          ],
        },
      ],
    });
  });

  it('without pod labels applies to every pod, and without labels writes none', () => {
    const manifest = render({ egress: [{ peers: [{ world: true }], why: 'w' }] });
    expect(manifest.metadata.labels).toBeUndefined();
    expect(manifest.spec).toEqual({ podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] });
  });

  it('an empty rule list still names its direction (allowing nothing there) but writes no list, as the API server stores it', () => {
    const manifest = render({ ingress: [], egress: [{ peers: [{ namespace: 'x' }], ports: [80], why: 'w' }] });
    expect((manifest.spec as unknown as PolicySpec).policyTypes).toEqual(['Ingress', 'Egress']);
    expect(manifest.spec).not.toHaveProperty('ingress');
    const onlyIngress = render({ ingress: [] });
    expect(onlyIngress.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
  });
});

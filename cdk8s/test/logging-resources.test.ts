/**
 * The logging stack's Kubernetes side: the ECK resources (validated against the CRD schemas by
 * schema.test.ts; here, that the validation rejects unknown fields in them too), their wiring (file
 * realm Secrets, Kibana behind the TLS ingress, Logstash's beats Service, Filebeat's input, output and
 * RBAC), hardening, the NetworkPolicy flows, and the resource budget.
 */
import { describe, expect, it } from 'vitest';
import { ns } from '../src/namespaces.js';
import { LOGSTASH_INIT_CONTAINER } from '../src/logging/logstash.js';
import { users } from '../src/logging/users.js';
import { names, ports, urls } from '../src/logging/names.js';
import { SecretRegistry } from '../src/secrets.js';
import { BUDGET_MEMORY, platformRequests } from '../src/summary.js';
import { parseMemory } from '../src/resources.js';
import { crdValidators } from './support/crd-schemas.js';
import { eckPodTemplates, matches, ofKind, synthesized, type K8sObject, type PodSpec } from './support/platform.js';

const { objects, platform } = synthesized();
const one = (kind: string) => {
  const found = ofKind(objects, kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const es = one('Elasticsearch');
const kibana = one('Kibana');
const logstash = one('Logstash');
const beat = one('Beat');
const spec = <T>(o: K8sObject) => o.spec as T;

describe('ECK resources against their CRD schemas', () => {
  const validators = crdValidators([
    'eck/resources/elasticsearch.k8s.elastic.co_elasticsearches.yaml',
    'eck/resources/kibana.k8s.elastic.co_kibanas.yaml',
    'eck/resources/logstash.k8s.elastic.co_logstashes.yaml',
    'eck/resources/beat.k8s.elastic.co_beats.yaml',
  ]);
  const validate = (o: K8sObject) => validators.get(`${o.apiVersion} ${o.kind}`)!;

  it('the four resources are valid', () => {
    for (const o of [es, kibana, logstash, beat]) expect(validate(o)(o), `${o.kind}: ${JSON.stringify(validate(o).errors)}`).toBe(true);
  });

  it('an unknown field is rejected, in the spec and deep in a pod template', () => {
    expect(validate(es)({ ...es, spec: { ...es.spec, nodeSet: [] } })).toBe(false);
    const podTemplate = spec<{ podTemplate: { spec: { containers: Record<string, unknown>[] } } }>(kibana).podTemplate;
    const bad = { ...podTemplate, spec: { ...podTemplate.spec, containers: [{ ...podTemplate.spec.containers[0], resourcez: {} }] } };
    expect(validate(kibana)({ ...kibana, spec: { ...kibana.spec, podTemplate: bad } })).toBe(false);
    expect(validate(beat)({ ...beat, spec: { ...beat.spec, type: undefined } })).toBe(false);
  });

  it('every component runs the same stack version, ECK picks the images', () => {
    const versions = [es, kibana, logstash, beat].map((o) => spec<{ version: string }>(o).version);
    expect(new Set(versions).size).toBe(1);
    expect(versions[0]).toMatch(/^9\.\d+\.\d+$/);
  });
});

describe('Elasticsearch', () => {
  const s = spec<{ nodeSets: { count: number; config: Record<string, unknown> }[]; http: { tls?: { selfSignedCertificate?: { disabled?: boolean } } }; auth: { fileRealm: { secretName: string }[] } }>(es);

  it('one node that fits kind, TLS on, no mmap', () => {
    expect(s.nodeSets.map((n) => n.count)).toEqual([1]);
    expect(s.http.tls?.selfSignedCertificate?.disabled ?? false).toBe(false);
    expect(s.nodeSets[0]!.config['node.store.allow_mmap']).toBe(false);
  });

  it('users come from the file realm: basic-auth Secrets generated at deploy time', () => {
    expect(s.auth.fileRealm.map((r) => r.secretName).sort()).toEqual(Object.values(users).map((u) => u.secret).sort());
    for (const r of s.auth.fileRealm) {
      const secret = platform.secrets.find((x) => x.namespace === es.metadata.namespace && x.name === r.secretName)!;
      expect(secret.type).toBe('kubernetes.io/basic-auth');
      expect(secret.keys.find((k) => k.key === 'password')).toEqual({ key: 'password', generate: 'password' });
    }
  });

  it('a basic-auth Secret without a password is refused', () => {
    const registry = new SecretRegistry();
    expect(() => registry.add({ namespace: 'x', name: 'y', type: 'kubernetes.io/basic-auth', keys: [{ key: 'username', value: 'u' }] })).toThrow(/password/);
  });
});

describe('Kibana', () => {
  it('2Gi limit, at most 1Gi requested, connected to the log store', () => {
    const c = spec<{ podTemplate: { spec: PodSpec } }>(kibana).podTemplate.spec.containers[0]!;
    expect(c.resources?.limits?.memory).toBe('2Gi');
    expect(parseMemory(c.resources!.requests!.memory!)).toBeLessThanOrEqual(2 ** 30);
    expect(spec<{ elasticsearchRef: { name: string } }>(kibana).elasticsearchRef).toEqual({ name: names.elasticsearch });
  });

  it("routed by the Gateway on the kibana host, to Kibana's HTTPS Service (TLS validated: gateway.test.ts)", () => {
    const route = ofKind(objects, 'HTTPRoute').find((i) => i.metadata.namespace === ns.logging.name)!;
    const s = spec<{ hostnames: string[]; parentRefs: { sectionName: string }[]; rules: { backendRefs: { name: string; port: number }[] }[] }>(route);
    expect(s.hostnames).toEqual([platform.hosts.kibana]);
    expect(s.parentRefs.map((p) => p.sectionName)).toEqual(['https-kibana']);
    expect(s.rules[0]!.backendRefs).toEqual([{ name: `${names.kibana}-kb-http`, port: ports.kibana }]);
    expect(ofKind(objects, 'BackendTLSPolicy').map((p) => p.metadata.name)).toEqual([`${names.kibana}-kb-http`]);
  });
});

describe('Filebeat', () => {
  const s = spec<{ type: string; config: Record<string, unknown>; daemonSet: { podTemplate: { spec: PodSpec & { serviceAccountName: string } } } }>(beat);
  const input = (s.config['filebeat.inputs'] as { type: string; paths: string[]; parsers: Record<string, Record<string, unknown>>[]; processors: Record<string, unknown>[] }[])[0]!;

  it('a DaemonSet reading the node\'s container logs', () => {
    expect(s.type).toBe('filebeat');
    expect(input.paths).toEqual(['/var/log/containers/*.log']);
    const hostPaths = (s.daemonSet.podTemplate.spec.volumes ?? []).map((v) => (v.hostPath as { path: string } | undefined)?.path);
    expect(hostPaths).toEqual(['/var/log/containers', '/var/log/pods']);
  });

  it('decodes ECS lines with the ndjson parser (keys expanded) after the container parser, adds Kubernetes metadata', () => {
    expect(input.parsers.map((p) => Object.keys(p)[0])).toEqual(['container', 'ndjson']);
    expect(input.parsers[1]!.ndjson).toMatchObject({ target: '', expand_keys: true, overwrite_keys: true });
    expect(input.processors.map((p) => Object.keys(p)[0])).toEqual(['add_kubernetes_metadata']);
  });

  it('ships to Logstash\'s beats Service', () => {
    expect(s.config['output.logstash']).toEqual({ hosts: [urls.logstashBeats] });
    expect(urls.logstashBeats).toBe(`${logstash.metadata.name}-ls-${names.beatsService}.${logstash.metadata.namespace}.svc:${ports.beats}`);
    expect(Object.keys(s.config).filter((k) => k.startsWith('output.'))).toEqual(['output.logstash']);
  });

  it('may read pods, namespaces and nodes cluster-wide, through its own service account', () => {
    const role = ofKind(objects, 'ClusterRole').find((r) => r.metadata.name === `courseops-${names.filebeat}`) as K8sObject & { rules: { resources: string[]; verbs: string[] }[] };
    expect(role.rules.flatMap((r) => r.resources)).toEqual(expect.arrayContaining(['pods', 'namespaces', 'nodes']));
    expect(role.rules.every((r) => r.verbs.every((v) => ['get', 'list', 'watch'].includes(v)))).toBe(true);
    const binding = ofKind(objects, 'ClusterRoleBinding').find((b) => b.metadata.name === role.metadata.name) as K8sObject & { subjects: unknown[]; roleRef: { name: string } };
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: s.daemonSet.podTemplate.spec.serviceAccountName, namespace: beat.metadata.namespace }]);
    expect(s.daemonSet.podTemplate.spec.automountServiceAccountToken).toBe(true);
  });

  it('is the one root pod, in its own privileged namespace; the rest of the stack is restricted', () => {
    expect(beat.metadata.namespace).toBe(ns.loggingAgents.name);
    expect(ns.loggingAgents.psa).toBe('privileged');
    expect(ns.logging.psa).toBe('restricted');
    for (const o of [es, kibana, logstash]) expect(o.metadata.namespace).toBe(ns.logging.name);
  });
});

describe('pods of the ECK resources are hardened and resourced', () => {
  const templates = [es, kibana, logstash, beat].flatMap((o) => eckPodTemplates(o).map((t) => [o.kind, t.spec!] as const));

  it.each(templates)('%s', (kind, podSpec) => {
    for (const c of [...podSpec.containers, ...(podSpec.initContainers ?? [])]) {
      expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
      expect(c.securityContext?.capabilities?.drop).toEqual(['ALL']);
      expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
      expect(c.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      if (kind !== 'Beat') expect(c.securityContext?.runAsNonRoot).toBe(true);
    }
    // ECK sizes its own init containers; the main containers' sizes are ours (summary.ts counts them).
    for (const c of podSpec.containers) {
      expect(c.resources?.requests?.memory && c.resources.limits?.memory && c.resources.requests.cpu && c.resources.limits.cpu).toBeTruthy();
    }
    if (kind !== 'Beat') {
      expect(podSpec.securityContext?.runAsNonRoot).toBe(true);
      expect(podSpec.automountServiceAccountToken).toBe(false);
      expect((podSpec.volumes ?? []).filter((v) => v.hostPath)).toEqual([]);
    }
  });
});

describe('ECK\'s own init containers that lack restricted settings are hardened through the template', () => {
  it('Logstash names logstash-internal-init-config with the restricted security context', () => {
    const init = spec<{ podTemplate: { spec: PodSpec } }>(logstash).podTemplate.spec.initContainers ?? [];
    expect(init.map((c) => c.name)).toEqual([LOGSTASH_INIT_CONTAINER]);
    expect(init[0]!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
  });
});

describe('NetworkPolicies: only the logging flows', () => {
  const loggingNamespaces: string[] = [ns.logging.name, ns.loggingAgents.name];
  type Peer = { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> }; ipBlock?: { cidr: string } };
  type Rule = { from?: Peer[]; to?: Peer[]; ports?: { port: number }[] };
  const podsOf = (namespace: string, selector?: Record<string, string>) =>
    objects
      .filter((o) => o.metadata.namespace === namespace)
      .flatMap((o) => eckPodTemplates(o).map((t) => ({ o, labels: t.metadata?.labels })).concat(o.kind === 'Job' ? [{ o, labels: (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels }] : []))
      .filter((p) => !selector || matches(selector, p.labels))
      .map((p) => (p.o.kind === 'Job' ? 'bootstrap' : p.o.kind.toLowerCase()));
  const peerName = (p: Peer): string => {
    if (p.ipBlock) return 'world';
    const namespace = p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? '*';
    if (loggingNamespaces.includes(namespace)) return podsOf(namespace, p.podSelector?.matchLabels).join('+') || `${namespace}/?`;
    return `${namespace}/${p.podSelector?.matchLabels?.['app.kubernetes.io/name'] ?? '*'}`;
  };
  const flows = ofKind(objects, 'NetworkPolicy')
    .filter((p) => loggingNamespaces.includes(p.metadata.namespace!) && p.metadata.name !== 'default-deny' && p.metadata.name !== 'allow-dns')
    .flatMap((p) => {
      const s = p.spec as { podSelector: { matchLabels?: Record<string, string> }; ingress?: Rule[]; egress?: Rule[] };
      const self = podsOf(p.metadata.namespace!, s.podSelector.matchLabels).join('+');
      return [
        ...(s.ingress ?? []).flatMap((r) => (r.from ?? []).map((f) => `${peerName(f)} -> ${self}:${(r.ports ?? []).map((x) => x.port).join(',')}`)),
        ...(s.egress ?? []).flatMap((r) => (r.to ?? []).map((t) => `${self} -> ${peerName(t)}:${(r.ports ?? []).map((x) => x.port).join(',')}`)),
      ];
    });

  it('allow exactly these flows (each seen from both ends where both are logging pods)', () => {
    expect([...new Set(flows)].sort()).toEqual(
      [
        'beat -> logstash:5044',
        'beat -> world:443,6443',
        'bootstrap -> elasticsearch:9200',
        'bootstrap -> kibana:5601',
        'elastic-system/* -> elasticsearch:9200',
        'elastic-system/* -> kibana:5601',
        'elastic-system/* -> logstash:9600',
        'elasticsearch -> elasticsearch:9300',
        'traefik/traefik -> kibana:5601',
        'kibana -> elasticsearch:9200',
        'logstash -> elasticsearch:9200',
      ].sort(),
    );
  });

  it('every namespace-wide allow of the two namespaces is DNS only', () => {
    const wide = ofKind(objects, 'NetworkPolicy').filter(
      (p) => loggingNamespaces.includes(p.metadata.namespace!) && !(p.spec as { podSelector: { matchLabels?: unknown } }).podSelector.matchLabels,
    );
    expect(wide.map((p) => p.metadata.name).sort()).toEqual(['allow-dns', 'allow-dns', 'default-deny', 'default-deny']);
  });

  it('the ECK operator may reach the ports it manages', () => {
    const egress = ofKind(objects, 'NetworkPolicy').find((p) => p.metadata.namespace === ns.elastic.name && p.metadata.name === 'allow-egress')!;
    expect(JSON.stringify(egress.spec)).toMatch(/9200.*5601.*9600/);
  });
});

describe('resource budget', () => {
  it('synth counts the logging pods, and the platform stays within 8 GiB', () => {
    const rows = platformRequests(objects as never, platform.releases, 1);
    const logging = rows.find((r) => r.namespace === ns.logging.name)!;
    const agents = rows.find((r) => r.namespace === ns.loggingAgents.name)!;
    expect(logging.pods).toBe(3); // Elasticsearch, Kibana, Logstash (the Job is not steady state)
    expect(agents.pods).toBe(1);
    expect(logging.memory).toBeGreaterThanOrEqual(parseMemory('2Gi'));
    expect(rows.reduce((t, r) => t + r.memory, 0)).toBeLessThanOrEqual(BUDGET_MEMORY);
  });
});

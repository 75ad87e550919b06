import { describe, expect, it } from 'vitest';
import { GATEWAY_GROUP } from '../src/gateway/api.js';
import { AUTH_RESPONSE_HEADERS, forwardAuthMiddlewareName, oauth2ForwardAuthAddress } from '../src/gateway/forward-auth.js';
import { groups } from '../src/helm/releases/dex.js';
import { protectedUiGroups } from '../src/platform/ui-routes.js';
import { GATEWAY_NAME, GATEWAY_NAMESPACE } from '../src/gateway/gateway.js';
import { TRAEFIK_METRICS_PORT, TRAEFIK_RELEASE, traefikEntryPoints, traefikPodLabels } from '../src/helm/releases/traefik.js';
import { caSecrets } from '../src/logging/names.js';
import { ns } from '../src/namespaces.js';
import { CA_CLUSTER_ISSUER } from '../src/tls/ca.js';
import { id, matches, ofKind, synthesized, type K8sObject } from './support/platform.js';

/**
 * The Gateway API map, checked on the synthesized output: listeners, certificates, route attachment, the
 * ForwardAuth protection of the admin UIs, the canary routes' missing weights, and Traefik's scrape.
 */
const { objects, platform } = synthesized();

interface Listener {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  tls?: { mode: string; certificateRefs: { name: string; kind?: string }[] };
  allowedRoutes: { namespaces: { from: string; selector?: { matchExpressions: { key: string; operator: string; values: string[] }[] } } };
}
interface Route {
  parentRefs: { group: string; kind: string; name: string; namespace: string; sectionName: string }[];
  hostnames?: string[];
  rules: { filters?: { type: string; extensionRef?: { group: string; kind: string; name: string }; requestRedirect?: { scheme: string; statusCode: number } }[]; backendRefs?: { name: string; port: number; weight?: number }[] }[];
}

const gateway = objects.find((o) => o.kind === 'Gateway')!;
const listeners = (gateway.spec as { listeners: Listener[] }).listeners;
const routes = ofKind(objects, 'HTTPRoute');
const routeSpec = (r: K8sObject) => r.spec as unknown as Route;

/** Why a listener would refuse a route of `namespace`, or undefined when it admits it (Gateway API allowedRoutes). */
function refusal(listener: Listener, namespace: string): string | undefined {
  const from = listener.allowedRoutes.namespaces;
  if (from.from === 'All') return undefined;
  if (from.from === 'Same') return namespace === GATEWAY_NAMESPACE ? undefined : `${listener.name} admits only ${GATEWAY_NAMESPACE}`;
  const admitted = (from.selector?.matchExpressions ?? []).every((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'In' && e.values.includes(namespace));
  return admitted ? undefined : `${listener.name} does not admit ${namespace}`;
}

/** Problems attaching a route to the courseops Gateway: unknown listener, host mismatch, namespace refused. */
function attachProblems(route: K8sObject): string[] {
  const spec = routeSpec(route);
  return spec.parentRefs.flatMap((p) => {
    if (p.group !== GATEWAY_GROUP || p.kind !== 'Gateway' || p.name !== GATEWAY_NAME || p.namespace !== GATEWAY_NAMESPACE) return [`${id(route)}: parent ${JSON.stringify(p)}`];
    const l = listeners.find((x) => x.name === p.sectionName);
    if (!l) return [`${id(route)}: no listener ${p.sectionName}`];
    const hostProblems = l.hostname ? (spec.hostnames ?? []).filter((h) => h !== l.hostname).map((h) => `${id(route)}: host ${h} on ${l.name} (${l.hostname})`) : [];
    if (l.hostname && !spec.hostnames?.length) hostProblems.push(`${id(route)}: no hostname on ${l.name}`);
    const refused = refusal(l, route.metadata.namespace!);
    return [...hostProblems, ...(refused ? [`${id(route)}: ${refused}`] : [])];
  });
}

describe('the Gateway', () => {
  it('is one Gateway on the GatewayClass the traefik chart creates, in Traefik namespace', () => {
    expect(ofKind(objects, 'Gateway').map(id)).toEqual([`Gateway ${GATEWAY_NAMESPACE}/${GATEWAY_NAME}`]);
    const traefik = platform.releases.find((r) => r.chart === 'traefik')!;
    const values = traefik.values as { gatewayClass: { enabled: boolean; name: string }; gateway: { enabled: boolean } };
    expect(values.gatewayClass.enabled).toBe(true);
    expect((gateway.spec as { gatewayClassName: string }).gatewayClassName).toBe(values.gatewayClass.name);
    // The chart's own Gateway would be a second one.
    expect(values.gateway.enabled).toBe(false);
    expect(traefik.namespace).toBe(GATEWAY_NAMESPACE);
  });

  it("names the platform CA issuer, so cert-manager's gateway-shim issues the listeners' certificates", () => {
    expect(gateway.metadata.annotations?.['cert-manager.io/cluster-issuer']).toBe(CA_CLUSTER_ISSUER);
    expect(objects.some((o) => o.kind === 'ClusterIssuer' && o.metadata.name === CA_CLUSTER_ISSUER)).toBe(true);
    const certManager = platform.releases.find((r) => r.chart === 'cert-manager')!.values as { config: { gatewayAPI: { enabled: boolean } } };
    expect(certManager.config.gatewayAPI.enabled).toBe(true);
  });

  it("has one HTTPS listener per host, on Traefik's websecure entry point, each with its own certificate Secret", () => {
    const https = listeners.filter((l) => l.protocol === 'HTTPS');
    expect(https.map((l) => l.hostname).sort()).toEqual(Object.values(platform.hosts).sort());
    for (const l of https) {
      expect(l.port, l.name).toBe(traefikEntryPoints.websecure.port);
      expect(l.tls?.mode, l.name).toBe('Terminate');
      expect(l.tls?.certificateRefs, l.name).toHaveLength(1);
    }
    const secrets = https.map((l) => l.tls!.certificateRefs[0]!.name);
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it("has one HTTP listener on Traefik's web entry point, for the redirect route of its own namespace only", () => {
    const http = listeners.filter((l) => l.protocol === 'HTTP');
    expect(http).toHaveLength(1);
    expect(http[0]!.port).toBe(traefikEntryPoints.web.port);
    expect(http[0]!.allowedRoutes.namespaces.from).toBe('Same');
  });

  it('admits on each host exactly the namespaces of the routes that serve it', () => {
    for (const l of listeners.filter((x) => x.protocol === 'HTTPS')) {
      const serving = routes.filter((r) => routeSpec(r).parentRefs.some((p) => p.sectionName === l.name)).map((r) => r.metadata.namespace!);
      expect(l.allowedRoutes.namespaces.selector!.matchExpressions[0]!.values, l.name).toEqual([...new Set(serving)].sort());
    }
  });
});

describe('HTTPRoutes', () => {
  it.each(routes.map((r) => [id(r), r] as const))('%s attaches to a listener whose host matches and which admits its namespace', (_n, r) => {
    expect(attachProblems(r)).toEqual([]);
  });

  it('the attachment check refuses a route from a namespace the listener does not admit, and a wrong host', () => {
    const course = routes.find((r) => r.metadata.name === 'course')!;
    expect(attachProblems({ ...course, metadata: { ...course.metadata, namespace: 'monitoring' } })).toEqual([
      `HTTPRoute monitoring/course: https-api does not admit monitoring`,
    ]);
    expect(attachProblems({ ...course, spec: { ...course.spec, hostnames: ['grafana.courseops.test'] } })).toHaveLength(1);
  });

  it('service routes list the stable and canary Services with no weights (the Rollouts plugin owns them)', () => {
    const appRoutes = routes.filter((r) => r.metadata.namespace === ns.apps.name);
    expect(appRoutes.map((r) => r.metadata.name).sort()).toEqual(['course', 'status', 'teacher']);
    for (const r of appRoutes) {
      const refs = routeSpec(r).rules.flatMap((rule) => rule.backendRefs ?? []);
      expect(refs.map((b) => b.name), id(r)).toEqual([r.metadata.name, `${r.metadata.name}-canary`]);
      for (const b of refs) {
        expect(b, id(r)).not.toHaveProperty('weight');
        const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === b.name && o.metadata.namespace === ns.apps.name);
        expect((svc?.spec as { ports: { port: number }[] } | undefined)?.ports.map((p) => p.port), `${id(r)} -> ${b.name}`).toContain(b.port);
      }
    }
  });

  it('plain HTTP is answered with a permanent redirect to https', () => {
    const redirect = routes.filter((r) => routeSpec(r).parentRefs.some((p) => p.sectionName === 'http'));
    expect(redirect).toHaveLength(1);
    expect(routeSpec(redirect[0]!).rules).toEqual([{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }]);
  });
});

describe('admin UIs behind oauth2-proxy (Traefik ForwardAuth)', () => {
  const middlewares = ofKind(objects, 'Middleware');
  const protectedHosts = ['prometheus', 'alertmanager', 'rollouts'] as const;

  /** Who gets in where: Alertmanager and Argo Rollouts change things (silences; promote, abort), Prometheus only reads. */
  const allowed = { prometheus: [groups.admins, groups.viewers], alertmanager: [groups.admins], rollouts: [groups.admins] } as const;
  const forwardAuthOf = (m: K8sObject) => (m.spec as { forwardAuth: { address: string; trustForwardHeader: boolean; authResponseHeaders: string[] } }).forwardAuth;

  it.each(protectedHosts)('%s: its route runs the ForwardAuth Middleware of its groups in its own namespace, and /oauth2 goes to oauth2-proxy', (key) => {
    const host = platform.hosts[key];
    const onHost = routes.filter((r) => routeSpec(r).hostnames?.includes(host));
    const ui = onHost.find((r) => r.metadata.namespace !== ns.auth.name)!;
    const filters = routeSpec(ui).rules.flatMap((rule) => rule.filters ?? []);
    const name = forwardAuthMiddlewareName(allowed[key]);
    expect(filters).toEqual([{ type: 'ExtensionRef', extensionRef: { group: 'traefik.io', kind: 'Middleware', name } }]);
    const middleware = middlewares.find((m) => m.metadata.name === name && m.metadata.namespace === ui.metadata.namespace);
    expect(middleware, id(ui)).toBeDefined();
    // oauth2-proxy reads the groups from the query of the address Traefik calls.
    const address = new URL(forwardAuthOf(middleware!).address);
    expect(address.searchParams.getAll('allowed_groups').flatMap((g) => g.split(',')).sort()).toEqual([...allowed[key]].sort());
    const signIn = onHost.find((r) => r.metadata.namespace === ns.auth.name)!;
    expect(routeSpec(signIn).rules.map((rule) => rule.backendRefs?.map((b) => b.name))).toEqual([['oauth2-proxy']]);
  });

  it('a Middleware per namespace and group set, each named after its groups; every one is used', () => {
    const used = routes.flatMap((r) => routeSpec(r).rules.flatMap((rule) => rule.filters ?? []).filter((f) => f.extensionRef?.kind === 'Middleware').map((f) => `${r.metadata.namespace}/${f.extensionRef!.name}`));
    expect(middlewares.map((m) => `${m.metadata.namespace}/${m.metadata.name}`).sort()).toEqual([...new Set(used)].sort());
    expect(middlewares.map((m) => `${m.metadata.namespace}/${m.metadata.name}`).sort()).toEqual([
      `${ns.monitoring.name}/oauth2-proxy-courseops-admins`,
      `${ns.monitoring.name}/oauth2-proxy-courseops-admins-courseops-viewers`,
      `${ns.rollouts.name}/oauth2-proxy-courseops-admins`,
    ].sort());
  });

  it("oauth2-proxy's own allowed_groups are exactly the groups some UI lets in (a group outside them would be refused everywhere)", () => {
    const toml = (platform.releases.find((r) => r.chart === 'oauth2-proxy')!.values as { config: { configFile: string } }).config.configFile;
    const line = /^allowed_groups = (\[.*\])$/m.exec(toml)?.[1];
    expect((JSON.parse(line ?? '[]') as string[]).sort()).toEqual(protectedUiGroups(platform.hosts));
  });

  it('every Middleware forwards to oauth2-proxy, sets the forwarded headers itself and strips every X-Auth-Request-* header clients send', () => {
    expect(middlewares.length).toBeGreaterThan(0);
    for (const m of middlewares) {
      const fa = forwardAuthOf(m);
      const groupsOf = new URL(fa.address).searchParams.get('allowed_groups')!.split(',');
      expect(fa.address).toBe(oauth2ForwardAuthAddress(groupsOf));
      expect(fa.address.startsWith(`http://oauth2-proxy.${ns.auth.name}.svc.cluster.local:80/?`)).toBe(true);
      expect(m.metadata.name).toBe(forwardAuthMiddlewareName(groupsOf));
      expect(fa.trustForwardHeader).toBe(false);
      expect(fa.authResponseHeaders).toEqual(expect.arrayContaining([...AUTH_RESPONSE_HEADERS]));
    }
    // The headers oauth2-proxy v7.15.3 sets with set_xauthrequest (and pass_access_token).
    expect([...AUTH_RESPONSE_HEADERS].sort()).toEqual(
      ['X-Auth-Request-Access-Token', 'X-Auth-Request-Email', 'X-Auth-Request-Groups', 'X-Auth-Request-Preferred-Username', 'X-Auth-Request-User'],
    );
  });

  it('oauth2-proxy is the static-upstream variant the Middleware address expects', () => {
    const toml = (platform.releases.find((r) => r.chart === 'oauth2-proxy')!.values as { config: { configFile: string } }).config.configFile;
    expect(toml).toContain('upstreams = ["static://202"]');
    expect(toml).toContain('reverse_proxy = true');
    expect(toml).toContain('set_xauthrequest = true');
    // Dex skips its approval page only when the sign-in does not ask for approval_prompt=force (oauth2-proxy's default).
    expect(toml).toContain('approval_prompt = "auto"');
  });
});

describe('Kibana behind the Gateway', () => {
  it("validates Kibana's HTTPS certificate against ECK's CA instead of turning ECK's TLS off", () => {
    const policy = ofKind(objects, 'BackendTLSPolicy').find((p) => p.metadata.namespace === ns.logging.name)!;
    const spec = policy.spec as { targetRefs: { kind: string; name: string }[]; validation: { caCertificateRefs: { kind: string; name: string }[]; hostname: string } };
    const route = routes.find((r) => r.metadata.namespace === ns.logging.name)!;
    const backend = routeSpec(route).rules[0]!.backendRefs![0]!.name;
    expect(spec.targetRefs).toEqual([{ group: '', kind: 'Service', name: backend }]);
    expect(spec.validation.caCertificateRefs).toEqual([{ group: '', kind: 'Secret', name: caSecrets.kibana }]);
    expect(spec.validation.hostname).toBe(`${backend}.${ns.logging.name}.svc`);
    const kibana = objects.find((o) => o.kind === 'Kibana')!;
    expect(JSON.stringify(kibana.spec)).not.toContain('selfSignedCertificate');
  });
});

describe("Traefik's scrape keeps Traefik's own labels", () => {
  const monitor = ofKind(objects, 'ServiceMonitor').find((m) => m.metadata.namespace === GATEWAY_NAMESPACE)!;
  const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; honorLabels?: boolean }[] };

  it('honours the scraped labels, so `service` stays the backend Traefik names (no exported_service)', () => {
    expect(spec.endpoints.map((e) => e.honorLabels)).toEqual([true]);
  });

  it("selects a headless Service over the pods the chart labels <name>=traefik, <instance>=<release>-<namespace>", () => {
    const release = platform.releases.find((r) => r.chart === 'traefik')!;
    expect(traefikPodLabels).toEqual({ 'app.kubernetes.io/name': 'traefik', 'app.kubernetes.io/instance': `${release.name}-${release.namespace}` });
    expect(release.name).toBe(TRAEFIK_RELEASE);
    const svc = ofKind(objects, 'Service').find((s) => s.metadata.namespace === GATEWAY_NAMESPACE && matches(spec.selector.matchLabels, s.metadata.labels))!;
    const svcSpec = svc.spec as { clusterIP?: string; selector: Record<string, string>; ports: { name: string; port: number }[] };
    expect(svcSpec.selector).toEqual(traefikPodLabels);
    expect(svcSpec.ports).toEqual([expect.objectContaining({ name: spec.endpoints[0]!.port, port: TRAEFIK_METRICS_PORT })]);
    // The chart's own ServiceMonitor (honorLabels false by default) stays off.
    expect((release.values as { metrics: { prometheus: { serviceMonitor: { enabled: boolean } } } }).metrics.prometheus.serviceMonitor.enabled).toBe(false);
  });
});

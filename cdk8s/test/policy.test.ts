import { describe, expect, it } from 'vitest';
import { allNamespaces, ns } from '../src/namespaces.js';
import { services } from '../src/services.js';
import { id, matches, ofKind, podTemplate, synthesized, type Container, type K8sObject } from './support/platform.js';

/** Platform policies, checked on the synthesized output (what the bring-up applies). */
const { objects, out, platform } = synthesized();
const workloads = objects.filter((o) => podTemplate(o));
const inNs = (namespace: string | undefined) => (o: K8sObject) => o.metadata.namespace === namespace;
const podLabelsOf = (o: K8sObject) => podTemplate(o)?.metadata?.labels;
const selectsPods = (selector: Record<string, string> | undefined, namespace: string | undefined) =>
  workloads.filter(inNs(namespace)).filter((w) => matches(selector, podLabelsOf(w)));

type ServiceSpec = { selector?: Record<string, string>; ports: { name?: string; port: number; targetPort?: string | number }[] };
type PolicyPeer = { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> }; ipBlock?: unknown };
type PolicySpec = {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes: string[];
  ingress?: { from?: PolicyPeer[]; ports?: { port: number }[] }[];
  egress?: { to?: PolicyPeer[]; ports?: { port: number }[] }[];
};

describe('every selector matches its pod labels', () => {
  it.each(workloads.map((w) => [id(w), w] as const))('%s: selector matches its pod template', (_n, w) => {
    const selector = (w.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    expect(matches(selector, podLabelsOf(w))).toBe(true);
  });

  it.each(ofKind(objects, 'Service').map((s) => [id(s), s] as const))('%s selects pods', (_n, s) => {
    const spec = s.spec as ServiceSpec;
    expect(selectsPods(spec.selector, s.metadata.namespace).length).toBeGreaterThan(0);
    // named target ports exist on the selected pods' containers
    for (const w of selectsPods(spec.selector, s.metadata.namespace)) {
      const names = podTemplate(w)!.spec.containers.flatMap((c) => c.ports ?? []).map((p) => p.name);
      for (const p of spec.ports) if (typeof p.targetPort === 'string') expect(names, `${id(s)} port ${p.name}`).toContain(p.targetPort);
    }
  });

  it.each(ofKind(objects, 'PodDisruptionBudget').map((p) => [id(p), p] as const))('%s selects pods', (_n, p) => {
    const selector = (p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    expect(selectsPods(selector, p.metadata.namespace).length).toBeGreaterThan(0);
  });

  it.each(ofKind(objects, 'NetworkPolicy').map((p) => [id(p), p] as const))('%s selects pods (or the whole namespace)', (_n, p) => {
    const spec = p.spec as PolicySpec;
    if (!spec.podSelector.matchLabels) return; // {}: every pod of the namespace
    expect(selectsPods(spec.podSelector.matchLabels, p.metadata.namespace).length).toBeGreaterThan(0);
  });

  it('NetworkPolicy peers in the application namespace select pods the app runs', () => {
    for (const p of ofKind(objects, 'NetworkPolicy')) {
      const spec = p.spec as PolicySpec;
      const peers = [...(spec.ingress ?? []).flatMap((r) => r.from ?? []), ...(spec.egress ?? []).flatMap((r) => r.to ?? [])];
      for (const peer of peers) {
        if (peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] !== ns.apps.name || !peer.podSelector) continue;
        expect(selectsPods(peer.podSelector.matchLabels, ns.apps.name).length, `${id(p)} peer ${JSON.stringify(peer)}`).toBeGreaterThan(0);
      }
    }
  });

  it('HPAs scale Rollouts that exist', () => {
    for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler')) {
      const ref = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      expect(objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name && inNs(hpa.metadata.namespace)(o)), id(hpa)).toBe(true);
    }
  });

  it('Rollouts name their stable and canary Services and stable Ingress, which route to their pods', () => {
    for (const r of ofKind(objects, 'Rollout')) {
      const canary = (r.spec as { strategy: { canary: { stableService: string; canaryService: string; maxUnavailable: number; trafficRouting?: { nginx: { stableIngress: string } } } } })
        .strategy.canary;
      expect(canary.maxUnavailable).toBe(0);
      for (const name of [canary.stableService, canary.canaryService]) {
        const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === name && inNs(r.metadata.namespace)(o));
        expect(svc, `${id(r)} service ${name}`).toBeDefined();
        expect(matches((svc!.spec as ServiceSpec).selector, podLabelsOf(r))).toBe(true);
      }
      if (canary.trafficRouting) {
        const ing = objects.find((o) => o.kind === 'Ingress' && o.metadata.name === canary.trafficRouting!.nginx.stableIngress && inNs(r.metadata.namespace)(o));
        expect(ing, id(r)).toBeDefined();
        const backends = JSON.stringify(ing!.spec);
        expect(backends).toContain(`"name":"${canary.stableService}"`);
      }
    }
  });
});

describe('every ServiceMonitor port names a Service port', () => {
  it.each(ofKind(objects, 'ServiceMonitor').map((m) => [id(m), m] as const))('%s', (_n, m) => {
    const spec = m.spec as { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; endpoints: { port: string }[] };
    const svcs = ofKind(objects, 'Service').filter(
      (s) => spec.namespaceSelector.matchNames.includes(s.metadata.namespace!) && matches(spec.selector.matchLabels, s.metadata.labels),
    );
    expect(svcs.length).toBeGreaterThan(0);
    for (const s of svcs) {
      const names = (s.spec as ServiceSpec).ports.map((p) => p.name);
      for (const e of spec.endpoints) expect(names, `${id(s)}`).toContain(e.port);
    }
  });

  it('service ServiceMonitors keep the rollout hash so canary and stable pods are told apart', () => {
    for (const decl of services) {
      const m = objects.find((o) => o.kind === 'ServiceMonitor' && o.metadata.name === decl.name)!;
      expect((m.spec as { podTargetLabels: string[] }).podTargetLabels).toContain('rollouts-pod-template-hash');
    }
  });
});

describe('every container is hardened and resourced', () => {
  const containers = workloads.flatMap((w) => {
    const t = podTemplate(w)!;
    return [...t.spec.containers, ...(t.spec.initContainers ?? [])].map((c) => [`${id(w)} ${c.name}`, w, c] as const);
  });

  it.each(workloads.map((w) => [id(w), w] as const))('%s: pod runs as non-root without a service account token', (_n, w) => {
    const spec = podTemplate(w)!.spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext?.runAsNonRoot).toBe(true);
    expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(spec.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(spec.hostNetwork ?? false).toBe(false);
    expect(spec.hostPID ?? false).toBe(false);
    expect((spec.volumes ?? []).filter((v) => v.hostPath)).toEqual([]);
  });

  it.each(containers)('%s', (_n, _w, c: Container) => {
    const sc = c.securityContext;
    expect(sc?.allowPrivilegeEscalation).toBe(false);
    expect(sc?.readOnlyRootFilesystem).toBe(true);
    expect(sc?.runAsNonRoot).toBe(true);
    expect(sc?.privileged ?? false).toBe(false);
    expect(sc?.capabilities?.drop).toContain('ALL');
    expect(sc?.capabilities?.add ?? []).toEqual([]);
    expect(sc?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(c.resources?.requests?.cpu).toBeDefined();
    expect(c.resources?.requests?.memory).toBeDefined();
    expect(c.resources?.limits?.memory).toBeDefined();
    expect(c.resources?.limits?.cpu).toBeDefined();
    expect(c.livenessProbe, 'liveness probe').toBeDefined();
    expect(c.readinessProbe, 'readiness probe').toBeDefined();
    expect(c.image).toMatch(/:[\w.-]+$/);
    expect(c.image).not.toMatch(/:latest$/);
  });

  it('service containers probe /healthz and /readyz and sleep before stopping', () => {
    for (const r of ofKind(objects, 'Rollout')) {
      const c = podTemplate(r)!.spec.containers[0]!;
      expect(JSON.stringify(c.livenessProbe)).toContain('/healthz');
      expect(JSON.stringify(c.readinessProbe)).toContain('/readyz');
      expect(JSON.stringify(c.lifecycle?.preStop)).toContain('sleep');
    }
  });

  it('service images default to courseops/<service>:dev', () => {
    for (const r of ofKind(objects, 'Rollout')) {
      expect(podTemplate(r)!.spec.containers[0]!.image).toBe(`courseops/${r.metadata.name}:dev`);
    }
  });
});

describe('namespaces', () => {
  const namespaces = ofKind(objects, 'Namespace');

  it('declares every namespace an object lives in', () => {
    const declared = new Set(namespaces.map((n) => n.metadata.name));
    for (const o of objects) if (o.metadata.namespace) expect(declared, id(o)).toContain(o.metadata.namespace);
    for (const r of platform.releases) expect(declared, r.name).toContain(r.namespace);
  });

  it.each(namespaces.map((n) => [n.metadata.name!, n] as const))('%s is default-deny', (name) => {
    const deny = ofKind(objects, 'NetworkPolicy').find((p) => p.metadata.namespace === name && p.metadata.name === 'default-deny');
    expect(deny).toBeDefined();
    const spec = deny!.spec as PolicySpec;
    expect(spec.podSelector).toEqual({});
    expect(spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(spec.ingress).toBeUndefined();
    expect(spec.egress).toBeUndefined();
  });

  it.each(allNamespaces.map((d) => [d.name, d] as const))('%s has Pod Security labels (restricted unless explained)', (name, decl) => {
    const n = namespaces.find((x) => x.metadata.name === name)!;
    expect(n.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe(decl.psa);
    expect(n.metadata.labels?.['pod-security.kubernetes.io/warn']).toBe('restricted');
    if (decl.psa !== 'restricted') expect(n.metadata.annotations?.['courseops.dev/pod-security-exception']).toBeTruthy();
  });

  it('runs the services and their databases in a restricted namespace', () => {
    expect(ns.apps.psa).toBe('restricted');
    for (const w of workloads) expect(w.metadata.namespace).toBe(ns.apps.name);
  });
});

describe('service network policies allow exactly the declared flows', () => {
  const policies = ofKind(objects, 'NetworkPolicy').filter(inNs(ns.apps.name));
  const ingressFrom = (service: string) =>
    policies
      .filter((p) => (p.spec as PolicySpec).podSelector.matchLabels?.['app.kubernetes.io/instance'] === service)
      .flatMap((p) => (p.spec as PolicySpec).ingress ?? [])
      .flatMap((r) => r.from ?? [])
      .map((peer) => `${peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']}/${peer.podSelector?.matchLabels?.['app.kubernetes.io/instance'] ?? peer.podSelector?.matchLabels?.['app.kubernetes.io/name']}`)
      .sort();

  it('course: ingress controller, Prometheus, teacher, status', () => {
    expect(ingressFrom('course')).toEqual(['courseops/status', 'courseops/teacher', 'ingress-nginx/ingress-nginx', 'monitoring/prometheus']);
  });
  it('teacher: ingress controller, Prometheus, status (course never calls teacher)', () => {
    expect(ingressFrom('teacher')).toEqual(['courseops/status', 'ingress-nginx/ingress-nginx', 'monitoring/prometheus']);
  });
  it('status: ingress controller, Prometheus, Alertmanager webhooks', () => {
    expect(ingressFrom('status')).toEqual(['ingress-nginx/ingress-nginx', 'monitoring/alertmanager', 'monitoring/prometheus']);
  });
  it('each database: its own service and Prometheus only', () => {
    for (const s of services) expect(ingressFrom(`${s.name}-postgresql`)).toEqual([`courseops/${s.name}`, 'monitoring/prometheus']);
  });
});

describe('no Secret value in dist/', () => {
  const text = [...out.files.values()].join('\n');

  it('writes no Secret object', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('sensitive env vars come from secretKeyRef', () => {
    for (const w of workloads) {
      for (const c of podTemplate(w)!.spec.containers) {
        for (const e of c.env ?? []) {
          if (/PASS|SECRET|TOKEN|KEY/i.test(e.name)) expect(e.valueFrom, `${id(w)} ${e.name}`).toBeDefined();
          if (e.value) expect(e.value, `${id(w)} ${e.name}`).not.toMatch(/postgres:\/\/[^:]+:[^$(][^@]*@/);
        }
      }
    }
  });

  it('contains no key material, hash or literal password', () => {
    expect(text).not.toMatch(/-----BEGIN/);
    expect(text).not.toMatch(/\$2[aby]\$\d\d\$/);
    expect(text).not.toMatch(/prom-operator/);
    // Helm values: a key that holds a secret is only ever a reference (existingSecret, secretKeyRef, *FromEnv/secretEnv)
    for (const r of platform.releases) {
      const json = JSON.stringify(r.values);
      expect(json, r.name).not.toMatch(/"(password|adminPassword|clientSecret|client_secret|cookieSecret|cookie_secret|hash|secret|token)":"[^"]+"/i);
    }
  });

  it('secrets.json declares how to generate values, never a secret value', () => {
    for (const s of platform.secrets) {
      for (const k of s.keys) {
        if ('value' in k) expect(k.key, `${s.namespace}/${s.name}`).toMatch(/(^|-)(id|user)$/);
      }
    }
  });
});

describe('every Ingress has TLS', () => {
  it.each(ofKind(objects, 'Ingress').map((i) => [id(i), i] as const))('%s', (_n, ing) => {
    const spec = ing.spec as { ingressClassName: string; tls?: { hosts: string[]; secretName: string }[]; rules: { host: string }[] };
    expect(spec.ingressClassName).toBe('nginx');
    expect(ing.metadata.annotations?.['cert-manager.io/cluster-issuer']).toBe('courseops-ca');
    const tlsHosts = (spec.tls ?? []).flatMap((t) => t.hosts);
    for (const rule of spec.rules) {
      expect(tlsHosts).toContain(rule.host);
      expect(rule.host).toMatch(/\.courseops\.test$/);
    }
    for (const t of spec.tls ?? []) expect(t.secretName).toBeTruthy();
  });

  it('no two Ingresses share a TLS Secret (cert-manager would fight over it)', () => {
    const secrets = ofKind(objects, 'Ingress').flatMap((i) =>
      ((i.spec as { tls: { secretName: string }[] }).tls ?? []).map((t) => `${i.metadata.namespace}/${t.secretName}`),
    );
    expect(new Set(secrets).size).toBe(secrets.length);
  });
});

describe('object identity', () => {
  it('every object has a name, and names are unique per kind and namespace', () => {
    const ids = objects.map(id);
    for (const o of objects) expect(o.metadata.name, JSON.stringify(o).slice(0, 80)).toBeTruthy();
    expect(ids.filter((x, i) => ids.indexOf(x) !== i)).toEqual([]);
  });

  it('every app object carries the recommended labels', () => {
    for (const o of objects.filter((x) => x.metadata.namespace === ns.apps.name && x.kind !== 'NetworkPolicy')) {
      for (const label of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by']) {
        expect(o.metadata.labels?.[label], `${id(o)} ${label}`).toBeTruthy();
      }
    }
  });
});

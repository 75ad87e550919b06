import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COREDNS_MARKER, addRewrite, chartFullname, gatewayService, rewriteRule } from '../cluster/coredns.js';

const root = path.resolve(import.meta.dirname, '../..');

interface KindConfig {
  kind: string;
  apiVersion: string;
  name: string;
  nodes: { role: string; image: string; labels?: Record<string, string>; extraPortMappings?: { containerPort: number; hostPort: number; listenAddress?: string; protocol?: string }[] }[];
  kubeadmConfigPatches: string[];
}

const config = parse(readFileSync(path.join(root, 'kind-config.yaml'), 'utf8')) as KindConfig;

describe('kind-config.yaml', () => {
  it('is a kind cluster named courseops with one control-plane node labelled ingress-ready', () => {
    expect(config.kind).toBe('Cluster');
    expect(config.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(config.name).toBe('courseops');
    expect(config.nodes).toHaveLength(1);
    expect(config.nodes[0]!.role).toBe('control-plane');
    expect(config.nodes[0]!.labels).toEqual({ 'ingress-ready': 'true' });
  });

  it('maps 80 and 443 to the host on 127.0.0.1 only', () => {
    expect(config.nodes[0]!.extraPortMappings).toEqual([
      { containerPort: 80, hostPort: 80, listenAddress: '127.0.0.1', protocol: 'TCP' },
      { containerPort: 443, hostPort: 443, listenAddress: '127.0.0.1', protocol: 'TCP' },
    ]);
  });

  // 1.31 and up: the Gateway API v1.6.1 standard install has a ValidatingAdmissionPolicy (GA in 1.30), and 1.35
  // is the newest the pinned operators are tested on.
  it('pins the node image by tag and digest, to a Kubernetes the Gateway API CRDs and the operators support (1.31-1.35)', () => {
    const m = /^kindest\/node:v1\.(\d+)\.\d+@sha256:[0-9a-f]{64}$/.exec(config.nodes[0]!.image);
    expect(m, config.nodes[0]!.image).not.toBeNull();
    const minor = Number(m![1]);
    expect(minor).toBeGreaterThanOrEqual(31);
    expect(minor).toBeLessThanOrEqual(35);
  });

  it('binds control-plane and kube-proxy metrics to 0.0.0.0 so kube-prometheus-stack can scrape them', () => {
    const patches = config.kubeadmConfigPatches.map((p) => parse(p) as Record<string, unknown>);
    const cluster = patches.find((p) => p.kind === 'ClusterConfiguration') as {
      controllerManager: { extraArgs: Record<string, string> };
      scheduler: { extraArgs: Record<string, string> };
      etcd: { local: { extraArgs: Record<string, string> } };
    };
    expect(cluster.controllerManager.extraArgs['bind-address']).toBe('0.0.0.0');
    expect(cluster.scheduler.extraArgs['bind-address']).toBe('0.0.0.0');
    expect(cluster.etcd.local.extraArgs['listen-metrics-urls']).toBe('http://0.0.0.0:2381');
    const proxy = patches.find((p) => p.kind === 'KubeProxyConfiguration');
    expect(proxy?.metricsBindAddress).toBe('0.0.0.0:10249');
    // Unversioned patches: they apply to whichever kubeadm API version kind generates.
    for (const p of patches) expect(p.apiVersion).toBeUndefined();
  });
});

const KIND_COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
    }
    forward . /etc/resolv.conf
    reload
}
`;

describe('CoreDNS rewrite', () => {
  const rule = rewriteRule({ namespace: 'traefik', name: 'traefik' }, 'courseops.test');

  it("rewrites *.courseops.test to Traefik's Service with the answer rewritten back", () => {
    expect(rule).toBe('rewrite name regex ^(.+\\.)?courseops\\.test\\.?$ traefik.traefik.svc.cluster.local answer auto');
    const regex = new RegExp(rule.split(' ')[3]!);
    for (const name of ['dex.courseops.test.', 'dex.courseops.test', 'a.b.courseops.test.', 'courseops.test.']) expect(regex.test(name), name).toBe(true);
    for (const name of ['xcourseops.test.', 'courseops.test.evil.', 'kubernetes.default.svc.cluster.local.']) expect(regex.test(name), name).toBe(false);
  });

  it('adds the rule inside the .:53 block once', () => {
    const first = addRewrite(KIND_COREFILE, rule);
    expect(first.changed).toBe(true);
    expect(first.corefile.split('\n').slice(0, 3)).toEqual(['.:53 {', `    ${COREDNS_MARKER}`, `    ${rule}`]);
    expect(first.corefile).toContain('kubernetes cluster.local');
    expect(addRewrite(first.corefile, rule)).toEqual({ corefile: first.corefile, changed: false });
  });

  it('replaces its own rule when the target changes', () => {
    const first = addRewrite(KIND_COREFILE, rule).corefile;
    const other = rewriteRule({ namespace: 'edge', name: 'edge-traefik' }, 'courseops.test');
    const second = addRewrite(first, other);
    expect(second.changed).toBe(true);
    expect(second.corefile).toContain(other);
    expect(second.corefile).not.toContain(rule);
    expect(second.corefile.match(/courseops: /g)).toHaveLength(1);
  });

  it('refuses a Corefile without a .:53 block', () => {
    expect(() => addRewrite('example.org {\n    whoami\n}\n', rule)).toThrow(/\.:53/);
  });

  it("finds Traefik's Service from the releases (the chart names it by its fullname)", () => {
    const base = { order: 2, repo: 'https://traefik.github.io/charts', chart: 'traefik', version: '41.3.0', valuesFile: 'x' };
    expect(gatewayService([{ ...base, name: 'traefik', namespace: 'traefik' }])).toEqual({ namespace: 'traefik', name: 'traefik' });
    expect(gatewayService([{ ...base, name: 'edge', namespace: 'ingress' }])).toEqual({ namespace: 'ingress', name: 'edge-traefik' });
    expect(gatewayService([])).toEqual({ namespace: 'traefik', name: 'traefik' });
    expect(chartFullname({ name: 'my-traefik', chart: 'traefik' })).toBe('my-traefik');
  });

  it('keeps the marker of clusters brought up with the old ingress controller, so its rule is replaced, not doubled', () => {
    const old = rewriteRule({ namespace: 'ingress-nginx', name: 'ingress-nginx-controller' }, 'courseops.test');
    const before = addRewrite(KIND_COREFILE, old).corefile;
    const after = addRewrite(before, rule).corefile;
    expect(after.match(/rewrite name/g)).toHaveLength(1);
    expect(after).toContain(rule);
  });
});

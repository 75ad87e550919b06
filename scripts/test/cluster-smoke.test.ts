import { describe, expect, it } from 'vitest';
import { behindAuth, describeTarget, notGreen, targetsNotUp } from '../cluster/smoke-checks.js';
import { InputError, parseHosts, parseManifestObjects, parseReleases } from '../cluster/inputs.js';

describe('smoke checks', () => {
  const hosts = ['course.courseops.test', 'teacher.courseops.test', 'status.courseops.test', 'grafana.courseops.test', 'kibana.courseops.test'];

  it('lists Prometheus targets that are not up', () => {
    const body = {
      status: 'success',
      data: {
        activeTargets: [
          { health: 'up', labels: { job: 'apiserver', instance: '172.18.0.2:6443' } },
          { health: 'down', labels: { job: 'kube-etcd', instance: '172.18.0.2:2381' }, lastError: 'connection refused' },
          { health: 'unknown', scrapePool: 'serviceMonitor/courseops/course/0', scrapeUrl: 'http://10.244.0.9:3001/metrics' },
        ],
      },
    };
    const { total, notUp } = targetsNotUp(body);
    expect(total).toBe(3);
    expect(notUp.map(describeTarget)).toEqual([
      'kube-etcd 172.18.0.2:2381 down: connection refused',
      'serviceMonitor/courseops/course/0 http://10.244.0.9:3001/metrics unknown',
    ]);
    expect(() => targetsNotUp({ status: 'error' })).toThrow(/unexpected answer/);
  });

  it('reads Elasticsearch health', () => {
    expect(notGreen({ items: [{ metadata: { name: 'logs', namespace: 'logging' }, status: { health: 'green' } }] })).toEqual({ total: 1, bad: [] });
    expect(notGreen({ items: [{ metadata: { name: 'logs', namespace: 'logging' }, status: { health: 'yellow' } }] }).bad).toEqual(['logging/logs yellow']);
  });

  it('accepts a login redirect or 401 as "behind auth", not a page served anonymously', () => {
    expect(behindAuth(302, '/login')).toBe(true); // Grafana
    expect(behindAuth(302, '/login?next=%2F')).toBe(true); // Kibana
    expect(behindAuth(302, 'https://prometheus.courseops.test/oauth2/start?rd=%2F')).toBe(true); // oauth2-proxy
    expect(behindAuth(401, undefined)).toBe(true);
    expect(behindAuth(200, undefined)).toBe(false);
    expect(behindAuth(302, '/graph')).toBe(false);
  });
});

describe('synth output contract', () => {
  it('sorts releases by order and rejects bad entries', () => {
    const base = { namespace: 'n', repo: 'https://x.example', chart: 'c', version: '1', valuesFile: 'helm/v.yaml' };
    expect(parseReleases([{ ...base, order: 2, name: 'b' }, { ...base, order: 1, name: 'a' }]).map((r) => r.name)).toEqual(['a', 'b']);
    expect(() => parseReleases([{ ...base, order: 1, name: 'a', repo: 'ftp://x' }])).toThrow(InputError);
    expect(() => parseReleases([{ ...base, name: 'a' }])).toThrow(/"order"/);
    expect(() => parseReleases([{ ...base, order: 1, name: 'a' }, { ...base, order: 2, name: 'a' }])).toThrow(/twice/);
  });

  it('accepts hostnames under .test only', () => {
    expect(parseHosts(['a.courseops.test', 'a.courseops.test', { host: 'b.courseops.test' }])).toEqual(['a.courseops.test', 'b.courseops.test']);
    expect(() => parseHosts(['grafana.example.com'])).toThrow(/not under \.test/);
  });

  it('reads kind, name and namespace of every object in a manifest file, Lists included', () => {
    const text = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  namespace: n\n---\n---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: argoproj.io/v1alpha1\n    kind: Rollout\n    metadata:\n      name: r\n`;
    expect(parseManifestObjects(text, 'f.yaml')).toEqual([
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'a', namespace: 'n' },
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'r' },
    ]);
    expect(() => parseManifestObjects('a: [', 'bad.yaml')).toThrow(/bad\.yaml/);
  });
});

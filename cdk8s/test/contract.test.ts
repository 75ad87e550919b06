import { describe, expect, it } from 'vitest';
import { buildPlatform } from '../src/app.js';
import { resolveConfig } from '../src/config-file.js';
import { hostList, hosts } from '../src/hosts.js';
import { render } from '../src/synth.js';
import { synthesized } from './support/platform.js';

/** The output contract the bring-up script reads (see cdk8s/README.md). */
const { out, platform } = synthesized();
const json = (file: string) => JSON.parse(out.files.get(file)!) as unknown;

describe('dist/helm/releases.json', () => {
  const releases = json('helm/releases.json') as Record<string, unknown>[];

  it('lists the releases in install order with their values files', () => {
    expect(releases.map((r) => r.order)).toEqual(releases.map((_, i) => i + 1));
    for (const r of releases) {
      expect(Object.keys(r)).toEqual(['order', 'name', 'namespace', 'repo', 'chart', 'version', 'valuesFile', 'createNamespace', 'waitFor']);
      expect(r.valuesFile).toBe(`helm/${String(r.order).padStart(2, '0')}-${r.name}.values.yaml`);
      expect(out.files.has(r.valuesFile as string)).toBe(true);
      expect(r.repo).toMatch(/^(https|oci):\/\//);
      expect(r.version).toMatch(/^v?\d+\.\d+\.\d+$/);
    }
    expect(releases.map((r) => r.name)).toEqual([
      'kube-prometheus-stack',
      'cert-manager',
      'traefik',
      'eck-operator',
      'argo-rollouts',
      'dex',
      'oauth2-proxy',
      'prometheus-blackbox-exporter',
      'prometheus-pushgateway',
      'metrics-server',
    ]);
  });
});

describe('dist/manifests', () => {
  it('has one file per cdk8s Chart, namespaces first', () => {
    const files = [...out.files.keys()].filter((f) => f.startsWith('manifests/'));
    expect(files[0]).toBe('manifests/00-namespaces.yaml');
    for (const f of files) expect(f).toMatch(/^manifests\/\d\d-[a-z0-9-]+\.yaml$/);
    expect(files.length).toBe(platform.charts.length);
  });
});

describe('dist/secrets.json', () => {
  const secrets = json('secrets.json') as { namespace: string; name: string; keys: Record<string, unknown>[]; labels?: object }[];

  it('declares every Secret a workload or release references, with generation rules only', () => {
    const names = secrets.map((s) => `${s.namespace}/${s.name}`);
    for (const expected of [
      'courseops/course-postgresql',
      'courseops/teacher-postgresql',
      'courseops/status-postgresql',
      'courseops/status-alert-webhook',
      'monitoring/grafana-admin',
      'monitoring/grafana-oauth',
      'monitoring/alertmanager-status-webhook',
      'auth/dex-clients',
      'auth/dex-static-users',
      'auth/oauth2-proxy',
    ]) {
      expect(names).toContain(expected);
    }
    for (const s of secrets) {
      expect(Object.keys(s).filter((k) => !['namespace', 'name', 'keys', 'labels', 'type'].includes(k))).toEqual([]);
      for (const k of s.keys) {
        const forms = ['generate', 'copyFrom', 'value', 'fromFile'].filter((f) => f in k);
        expect(forms, `${s.name}.${String(k.key)}`).toHaveLength(1);
      }
    }
  });

  it('copies only from Secrets listed earlier', () => {
    secrets.forEach((s, i) => {
      for (const k of s.keys) {
        if (!('copyFrom' in k)) continue;
        const from = k.copyFrom as { namespace: string; name: string; key: string };
        const src = secrets.findIndex((x) => x.namespace === from.namespace && x.name === from.name);
        expect(src, `${s.name}.${String(k.key)}`).toBeGreaterThanOrEqual(0);
        expect(src).toBeLessThan(i);
        expect(secrets[src]!.keys.some((x) => x.key === from.key)).toBe(true);
      }
    });
  });

  it('every secretKeyRef in the manifests names a declared Secret key', () => {
    const refs = [...JSON.stringify(out.objects).matchAll(/"secretKeyRef":\{"key":"([^"]+)","name":"([^"]+)"\}/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [, key, name] of refs) {
      expect(secrets.some((s) => s.name === name && s.keys.some((k) => k.key === key)), `${name}.${key}`).toBe(true);
    }
  });
});

describe('dist/hosts.json', () => {
  it('lists every host, all under .test', () => {
    const h = json('hosts.json') as string[];
    expect(h).toEqual(hostList(hosts));
    expect(h).toEqual(
      expect.arrayContaining(['api.courseops.test', 'status.courseops.test', 'grafana.courseops.test', 'dex.courseops.test', 'kibana.courseops.test']),
    );
    for (const host of h) expect(host).toMatch(/^[a-z0-9-]+\.courseops\.test$/);
  });
});

describe('configuration from the environment', () => {
  it('COURSEOPS_IMAGE_TAG changes every service image and nothing else', () => {
    const config = resolveConfig({ env: { COURSEOPS_IMAGE_TAG: 'abc123' } });
    const other = render(buildPlatform({ config }));
    const images = [...JSON.stringify(other.objects).matchAll(/"image":"([^"]+)"/g)].map((m) => m[1]);
    expect(images).toEqual(expect.arrayContaining(['courseops/course:abc123', 'courseops/teacher:abc123', 'courseops/status:abc123']));
    expect(images.filter((i) => i?.endsWith(':dev'))).toEqual([]);
  });

  it('rejects a malformed tag or domain', () => {
    expect(() => resolveConfig({ env: { COURSEOPS_IMAGE_TAG: 'bad tag' } })).toThrow(/image tag/);
    expect(() => resolveConfig({ env: { COURSEOPS_DOMAIN: 'not_a_domain' } })).toThrow(/DNS name/);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { chartAppVersions } from '../src/helm/app-versions.js';
import { readChartPins } from '../src/helm/pins.js';
import { PLATFORM_RELEASES } from '../src/helm/platform-releases.js';
import type { HelmRelease } from '../src/helm/release.js';
import { joinPath, setPaths, splitPath, type KeyKind } from '../src/helm/value-paths.js';
import { synthesized } from './support/platform.js';

/**
 * Every Helm values key the platform sets exists in the chart's values.yaml: key lists in
 * charts/values-keys/<chart>.json (generated from the upstream files, see their `readFrom`).
 * A key is accepted when its path is listed (as a real key or one documented in comments), or when a
 * parent is free-form: an empty map or null in the defaults (nodeSelector, config, envValueFrom...) or a
 * map the chart passes through verbatim (charts/values-keys/freeform.yaml).
 */
const KEYS_DIR = new URL('../../charts/values-keys/', import.meta.url);

interface KeyFile {
  chart: string;
  readFrom: { source: string; chartVersion: string | null; note: string | null };
  keys: Record<string, KeyKind>;
  commentedKeys: Record<string, KeyKind>;
}

const keyFiles = new Map<string, KeyFile>();
const keyFile = (chart: string): KeyFile => {
  let f = keyFiles.get(chart);
  if (!f) {
    f = JSON.parse(readFileSync(new URL(`${chart}.json`, KEYS_DIR), 'utf8')) as KeyFile;
    keyFiles.set(chart, f);
  }
  return f;
};
const freeform = parse(readFileSync(fileURLToPath(new URL('freeform.yaml', KEYS_DIR)), 'utf8')) as Record<string, string[]>;

/** Returns why a path is not accepted by a chart's key list, or undefined if it is. */
export function checkPath(chart: string, path: string[]): string | undefined {
  const f = keyFile(chart);
  const all = { ...f.keys, ...f.commentedKeys };
  const open = new Set(freeform[chart] ?? []);
  const anyChart = new Set(freeform.anyChart ?? []);
  if (joinPath(path) in all) return undefined;
  for (let n = path.length - 1; n >= 1; n--) {
    if (open.has(joinPath(path.slice(0, n))) || (anyChart.has(path[n - 1]!) && joinPath(path.slice(0, n)) in all)) return undefined;
  }
  for (let n = path.length - 1; n >= 1; n--) {
    const prefix = joinPath(path.slice(0, n));
    const kind = all[prefix];
    if (kind === undefined) continue;
    if (kind === 'freeform' || kind === 'null') return undefined;
    return `${joinPath(path)}: ${prefix} is a ${kind} without key ${JSON.stringify(path[n])}`;
  }
  return `${joinPath(path)}: unknown top-level key ${JSON.stringify(path[0])}`;
}

function unknownKeys(release: HelmRelease): string[] {
  const problems: string[] = [];
  for (const path of setPaths(release.values)) {
    const sub = release.keys.subcharts?.[path[0]!];
    const direct = checkPath(release.keys.chart, path);
    if (!direct) continue;
    // A subchart key (kube-prometheus-stack -> grafana, ...): the parent overrides, else the subchart's own values.
    if (sub && path.length > 1 && !checkPath(sub, path.slice(1))) continue;
    problems.push(direct);
  }
  return problems;
}

const { platform } = synthesized();

describe('Helm values keys exist in the pinned charts', () => {
  it.each(platform.releases.map((r) => [r.name, r] as const))('%s', (_n, release) => {
    expect(unknownKeys(release)).toEqual([]);
  });

  it('rejects a key the chart does not have', () => {
    const release = platform.releases.find((r) => r.chart === 'kube-prometheus-stack')!;
    const bad = { ...release, values: { prometheus: { prometheusSpec: { retentionSise: '1GiB' } }, grafana: { persistance: { enabled: true } } } };
    expect(unknownKeys(bad)).toEqual([
      'prometheus.prometheusSpec.retentionSise: prometheus.prometheusSpec is a map without key "retentionSise"',
      'grafana.persistance.enabled: grafana is a map without key "persistance"',
    ]);
  });

  it('accepts content of free-form values', () => {
    expect(checkPath('traefik', ['nodeSelector', 'ingress-ready'])).toBeUndefined();
    expect(checkPath('grafana', ['grafana.ini', 'auth.generic_oauth', 'enabled'])).toBeUndefined();
    expect(splitPath(joinPath(['grafana', 'grafana.ini']))).toEqual(['grafana', 'grafana.ini']);
  });

  it('every key list says where it was read from', () => {
    for (const r of platform.releases) {
      for (const chart of [r.keys.chart, ...Object.values(r.keys.subcharts ?? {})]) {
        const f = keyFile(chart);
        expect(f.readFrom.source, chart).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}:/);
        expect(Object.keys(f.keys).length, chart).toBeGreaterThan(20);
        expect(f.readFrom.chartVersion, chart).toMatch(/^v?\d+\.\d+\.\d+$/);
      }
    }
  });

  it("every release's key list was read from the pinned version's values.yaml", () => {
    for (const r of platform.releases) expect(keyFile(r.keys.chart).readFrom.chartVersion, r.chart).toBe(r.version);
  });
});

describe('pinned chart versions', () => {
  it('every release uses the version pinned in charts/Chart.yaml, and every pin is used', () => {
    const pins = readChartPins();
    for (const r of platform.releases) {
      expect(pins.get(r.chart)?.version, r.chart).toBe(r.version);
      expect(pins.get(r.chart)?.repository, r.chart).toBe(r.repo);
    }
    expect([...pins.keys()].sort()).toEqual(platform.releases.map((r) => r.chart).sort());
  });

  it('what each pinned chart ships is recorded for that same version (src/helm/app-versions.ts)', () => {
    const pins = readChartPins();
    expect(Object.keys(chartAppVersions).sort()).toEqual([...pins.keys()].sort());
    for (const [chart, v] of Object.entries(chartAppVersions)) {
      expect(v.chart, chart).toBe(pins.get(chart)?.version);
      expect(v.source, chart).toMatch(/^[\w.-]+\/[\w.-]+@\S+ \([0-9a-f]{40}\)$/);
      // Read at the same commit as the chart's key list.
      const keysFrom = /^([\w.-]+\/[\w.-]+)@([0-9a-f]{40}):/.exec(keyFile(chart).readFrom.source)!;
      expect(v.source, chart).toBe(`${keysFrom[1]}@${v.source.split('@')[1]!.split(' ')[0]} (${keysFrom[2]})`);
      for (const [image, version] of Object.entries(v.images)) expect(version, `${chart} ${image}`).toMatch(/^v?\d+\.\d+\.\d+$/);
    }
  });
});

describe('chart settings the platform relies on (../shared/DESIGN.md pitfalls)', () => {
  const values = (chart: string) => platform.releases.find((r) => r.chart === chart)!.values as Record<string, any>;

  it('kube-prometheus-stack selects every ServiceMonitor, PodMonitor, rule, probe and scrape config', () => {
    const spec = values('kube-prometheus-stack').prometheus.prometheusSpec;
    for (const k of ['serviceMonitor', 'podMonitor', 'rule', 'probe', 'scrapeConfig']) expect(spec[`${k}SelectorNilUsesHelmValues`], k).toBe(false);
    // 15 days or 80 % of the volume, whichever first.
    expect(spec.retention).toBe('15d');
    const volumeGiB = Number(/^(\d+)Gi$/.exec(spec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage)![1]);
    const sizeGiB = Number(/^([\d.]+)GiB$/.exec(spec.retentionSize)![1]);
    expect(sizeGiB / volumeGiB).toBeCloseTo(0.8);
    expect(values('kube-prometheus-stack').alertmanager.alertmanagerSpec.storage.volumeClaimTemplate).toBeTruthy();
  });

  it('Alertmanager keeps the null receiver', () => {
    const receivers = values('kube-prometheus-stack').alertmanager.config.receivers as { name: string }[];
    expect(receivers.map((r) => r.name)).toContain('null');
  });

  it('Grafana finds dashboards in every namespace and keeps secrets out of grafana.ini', () => {
    const g = values('kube-prometheus-stack').grafana;
    expect(g.sidecar.dashboards).toMatchObject({ label: 'grafana_dashboard', labelValue: '1', searchNamespace: 'ALL' });
    expect(JSON.stringify(g['grafana.ini'])).not.toMatch(/secret|password/i);
    expect(g.admin.existingSecret).toBeTruthy();
  });

  it('cert-manager installs its CRDs and serves the Gateway API', () => {
    expect(values('cert-manager').crds.enabled).toBe(true);
    expect(values('cert-manager').config.gatewayAPI.enabled).toBe(true);
  });

  it('Traefik holds hostPorts 80/443 on the kind ingress node behind a ClusterIP Service', () => {
    const t = values('traefik');
    expect(t.deployment).toEqual({ kind: 'Deployment', replicas: 1 });
    expect(t.nodeSelector['ingress-ready']).toBe('true');
    expect(t.tolerations.map((x: { key: string }) => x.key)).toContain('node-role.kubernetes.io/control-plane');
    expect([t.ports.web.hostPort, t.ports.websecure.hostPort]).toEqual([80, 443]);
    expect([t.ports.web.port, t.ports.websecure.port]).toEqual([8000, 8443]);
    expect(t.service.spec.type).toBe('ClusterIP');
  });

  it("Traefik's update strategy frees the hostPorts first: no surge pod, the old one goes", () => {
    // A surge pod could never bind 80/443 while the old pod holds them: the upgrade would hang.
    expect(values('traefik').updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
  });

  it('Traefik: Gateway API and CRD providers (no cross-namespace Middlewares), no Ingress provider, no API or dashboard, no phoning home', () => {
    const t = values('traefik');
    expect(t.providers).toEqual({
      kubernetesGateway: { enabled: true },
      kubernetesCRD: { enabled: true, allowCrossNamespace: false },
      kubernetesIngress: { enabled: false },
    });
    // null drops the chart's api map: the chart then renders no --api flag at all.
    expect(t.api).toBeNull();
    expect(t.global).toEqual({ checkNewVersion: false, sendAnonymousUsage: false });
    expect(t.accessLog).toEqual({ enabled: true, format: 'json' });
  });

  it('Traefik metrics: per-service and per-router labels, latency buckets with 0.5 s for the SLO and the canary gate', () => {
    const p = values('traefik').metrics.prometheus;
    expect(p).toMatchObject({ entryPoint: 'metrics', addServicesLabels: true, addRoutersLabels: true });
    const buckets = (p.buckets as string).split(',').map(Number);
    expect(buckets).toContain(0.5);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
  });

  it("Dex has a writable /tmp: the image's entrypoint renders its config there, under a read-only root filesystem", () => {
    const dex = values('dex');
    expect(dex.securityContext.readOnlyRootFilesystem).toBe(true);
    const mount = (dex.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.mountPath === '/tmp');
    expect(mount).toBeDefined();
    const volume = (dex.volumes as { name: string; emptyDir?: object }[]).find((v) => v.name === mount!.name);
    expect(volume?.emptyDir).toBeDefined();
    // The chart mounts its own volume `config` at /etc/dex: ours must not take that name.
    expect(mount!.name).not.toBe('config');
  });

  it('Argo Rollouts runs its dashboard; Dex has static users with groups; oauth2-proxy uses Dex', () => {
    expect(values('argo-rollouts').dashboard.enabled).toBe(true);
    const dex = values('dex').config;
    expect(dex.staticPasswords.every((u: { groups: string[]; hashFromEnv: string }) => u.groups.length > 0 && u.hashFromEnv)).toBe(true);
    expect(values('oauth2-proxy').config.configFile).toContain('provider = "oidc"');
  });
});

describe('one module per release (src/helm/releases/)', () => {
  it('each module declares one release, every one of them is in the release list, and each chart is pinned', async () => {
    const dir = new URL('../src/helm/releases/', import.meta.url);
    const declared: unknown[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const mod = (await import(new URL(file, dir).href)) as Record<string, unknown>;
      const releases = Object.values(mod).filter((v) => typeof v === 'object' && v !== null && 'chart' in v && 'values' in v && 'footprint' in v);
      expect(releases, file).toHaveLength(1);
      expect((releases[0] as { chart: string }).chart, `${file} is named after its chart`).toBe(file.replace(/\.ts$/, ''));
      declared.push(releases[0]);
    }
    expect(new Set(PLATFORM_RELEASES)).toEqual(new Set(declared));
    expect(PLATFORM_RELEASES).toHaveLength(declared.length);
    const pins = readChartPins();
    for (const r of PLATFORM_RELEASES) expect(pins.has(r.chart), r.chart).toBe(true);
  });
});

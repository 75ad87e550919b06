/**
 * The box's pins agree with the platform's: each program is built at the version the pinned chart runs
 * (cdk8s/src/helm/app-versions.ts; Alertmanager: the newest that builds) or the kind node image carries,
 * and each wrapper module requires exactly that version. Fast: reads files only, builds nothing (the
 * build lock is tested on stand-in work).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chartAppVersions } from '../../cdk8s/src/helm/app-versions.js';
import { gatewayApiPlugin } from '../../cdk8s/src/helm/releases/argo-rollouts.js';
import { DEX_IMAGE_TAG } from '../../cdk8s/src/helm/releases/dex.js';
import { TOOLS_DIR, boxTools, KUBERNETES_VERSION } from '../box/tools.js';
import { makeOnce } from '../box/build.js';
import { crdSources } from '../box/platform.js';
import { GATEWAY_API } from '../../cdk8s/src/gateway/api.js';
import { podReferences, missingReferences, refKey } from '../box/references.js';

const goMod = (module: string) => readFileSync(join(TOOLS_DIR, module, 'go.mod'), 'utf8');
const required = (module: string, path: string) => new RegExp(`^\\s*(?:require\\s+)?${path.replaceAll('.', '\\.')} (v\\S+)`, 'm').exec(goMod(module))?.[1];
/** Prometheus 3.MM.P is published as module version v0.3MM.P. */
const prometheusModuleVersion = (v: string) => v.replace(/^v3\.(\d+)\.(\d+)$/, (_m, minor: string, patch: string) => `v0.3${minor.padStart(2, '0')}.${patch}`);

describe('box tool pins', () => {
  it('Kubernetes is the kind node image version, required as k8s.io/kubernetes and every staging module at the same minor', () => {
    expect(readFileSync(join(TOOLS_DIR, '../kind-config.yaml'), 'utf8')).toContain(`kindest/node:${KUBERNETES_VERSION}@`);
    expect(required('kubernetes', 'k8s.io/kubernetes')).toBe(KUBERNETES_VERSION);
    const staging = [...goMod('kubernetes').matchAll(/^\s*(k8s\.io\/\S+) => \S+ (v\S+)$/gm)];
    expect(staging.length).toBeGreaterThan(20);
    for (const [, mod, version] of staging) expect({ mod, version }).toEqual({ mod, version: KUBERNETES_VERSION.replace(/^v1\./, 'v0.') });
  });

  it('the Prometheus Operator, Prometheus, Argo Rollouts and oauth2-proxy are the versions the pinned charts run', () => {
    const kps = chartAppVersions['kube-prometheus-stack'].images;
    expect(boxTools.prometheusOperator.version).toBe(kps['prometheus-operator']);
    expect(required('prometheus-operator', 'github.com/prometheus-operator/prometheus-operator')).toBe(kps['prometheus-operator']);
    expect(boxTools.prometheus.version).toBe(kps.prometheus);
    expect(required('prometheus', 'github.com/prometheus/prometheus')).toBe(prometheusModuleVersion(kps.prometheus));
    const rollouts = chartAppVersions['argo-rollouts'].images['argo-rollouts'];
    expect(boxTools.argoRollouts.version).toBe(rollouts);
    expect(required('argo-rollouts', 'github.com/argoproj/argo-rollouts')).toBe(rollouts);
    const oauth2Proxy = chartAppVersions['oauth2-proxy'].images['oauth2-proxy'];
    expect(boxTools.oauth2Proxy.version).toBe(oauth2Proxy);
    expect(required('oauth2-proxy', 'github.com/oauth2-proxy/oauth2-proxy/v7')).toBe(oauth2Proxy);
    expect(required('etcd', 'go.etcd.io/etcd/server/v3')).toBe(boxTools.etcd.version);
    expect(required('kwok', 'sigs.k8s.io/kwok')).toBe(boxTools.kwok.version);
  });

  it("Alertmanager (and amtool) is the newest that builds from its module; the go.mod names the chart's version when they differ", () => {
    expect(required('alertmanager', 'github.com/prometheus/alertmanager')).toBe(boxTools.alertmanager.version);
    expect(goMod('alertmanager')).toMatch(/^tool \(\n\tgithub\.com\/prometheus\/alertmanager\/cmd\/alertmanager\n\tgithub\.com\/prometheus\/alertmanager\/cmd\/amtool\n\)$/m);
    const chart: string = chartAppVersions['kube-prometheus-stack'].images.alertmanager;
    if (chart !== boxTools.alertmanager.version) expect(goMod('alertmanager')).toContain(`runs ${chart}`);
  });

  it('Prometheus and Alertmanager are built first: the tests outside the box need them too', () => {
    expect(Object.keys(boxTools).slice(0, 2)).toEqual(['prometheus', 'alertmanager']);
  });

  it("the ECK operator is the eck-operator chart's appVersion, the same module version the CRDs come from, stamped with the tag's commit", () => {
    const eck = chartAppVersions['eck-operator'];
    expect(boxTools.eckOperator.version).toBe(eck.images['eck-operator']);
    expect(required('eck-operator', 'github.com/elastic/cloud-on-k8s/v3')).toBe(`v${eck.images['eck-operator']}`);
    expect(required('eck-operator', 'github.com/elastic/cloud-on-k8s/v3')).toBe(required('crds', 'github.com/elastic/cloud-on-k8s/v3'));
    expect(goMod('eck-operator')).toMatch(/^tool github\.com\/elastic\/cloud-on-k8s\/v3\/cmd$/m);
    expect(eck.source).toContain(`(${boxTools.eckOperator.stamp['github.com/elastic/cloud-on-k8s/v3/pkg/about.buildHash']}`);
  });

  it("Dex is the image tag our dex values pin, required as the pseudo-version of that tag's commit (its v2 tags are not versions of its module)", () => {
    expect(boxTools.dex.version).toBe(DEX_IMAGE_TAG);
    const commit = new RegExp(`the commit the ${DEX_IMAGE_TAG.replaceAll('.', '\\.')} tag names \\(([0-9a-f]{12})\\)`).exec(goMod('dex'))?.[1];
    expect(commit).toMatch(/^[0-9a-f]{12}$/);
    expect(required('dex', 'github.com/dexidp/dex')).toMatch(new RegExp(`^v0\\.0\\.0-\\d{14}-${commit}$`));
  });

  it('the Gateway API plugin stand-in answers to the real plugin\'s name and builds against the box\'s Argo Rollouts, with its replaces', () => {
    const module = boxTools.gatewayApiPlugin.module;
    // The controller finds the plugin by the name the Rollouts and the ConfigMap use; Type() must say the same.
    expect(readFileSync(join(TOOLS_DIR, module, 'main.go'), 'utf8')).toContain(`const pluginName = "${gatewayApiPlugin.name}"`);
    expect(required(module, 'github.com/argoproj/argo-rollouts')).toBe(chartAppVersions['argo-rollouts'].images['argo-rollouts']);
    // Without Argo Rollouts' own replaces, minimal version selection would pick other k8s.io versions than the controller's.
    const replaces = (m: string) => [...goMod(m).matchAll(/^\s*(?:replace\s+)?(\S+ => \S+ v\S+)$/gm)].map((r) => r[1]).sort();
    expect(replaces(module).length).toBeGreaterThan(20);
    expect(replaces(module)).toEqual(replaces('argo-rollouts'));
  });

  it('CRDs come from the modules of the versions the charts install', () => {
    expect(required('crds', 'github.com/cert-manager/cert-manager')).toBe(chartAppVersions['cert-manager'].images['cert-manager']);
    expect(required('crds', 'github.com/elastic/cloud-on-k8s/v3')).toBe(`v${chartAppVersions['eck-operator'].images['eck-operator']}`);
    expect(crdSources.map((s) => s.chart).sort()).toEqual(['argo-rollouts', 'cert-manager', 'eck-operator', 'gateway-api', 'kube-prometheus-stack', 'traefik']);
  });

  it("the Gateway API CRDs up installs are the version the box's Traefik is built against", () => {
    expect(required('traefik', 'sigs.k8s.io/gateway-api')).toBe(GATEWAY_API.version);
  });
});

describe("the build lock (ensureTool's makeOnce)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'courseops-build-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** A lock folder as another process leaves it. */
  const foreignLock = (lock: string, pid: number) => {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(pid));
  };

  it('of calls at the same time, one makes and the others wait until it is done', async () => {
    const out = join(dir, 'a');
    let makes = 0;
    const make = async () => {
      makes++;
      await sleep(200);
      writeFileSync(out, 'built');
    };
    const outcomes = await Promise.all([1, 2, 3].map(() => makeOnce(`${out}.lock`, () => existsSync(out), make, { pollMs: 20 })));
    expect(makes).toBe(1);
    expect(outcomes.sort()).toEqual(['made', 'waited', 'waited']);
    expect(existsSync(`${out}.lock`)).toBe(false);
    expect(await makeOnce(`${out}.lock`, () => existsSync(out), make)).toBe('done');
  });

  it("waits for another live process's lock, and takes over the lock of one that died", async () => {
    const out = join(dir, 'b');
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      foreignLock(`${out}.lock`, holder.pid!);
      let waitedFor: number | undefined;
      const waiting = makeOnce(`${out}.lock`, () => existsSync(out), async () => writeFileSync(out, 'mine'), { pollMs: 20, onWait: (pid) => (waitedFor = pid) });
      await sleep(200);
      expect(waitedFor).toBe(holder.pid);
      writeFileSync(out, 'theirs'); // the other process finishes
      expect(await waiting).toBe('waited');
      expect(readFileSync(out, 'utf8')).toBe('theirs');
    } finally {
      holder.kill();
    }
    const dead = spawnSync('true').pid;
    const out2 = join(dir, 'c');
    foreignLock(`${out2}.lock`, dead);
    expect(await makeOnce(`${out2}.lock`, () => existsSync(out2), async () => writeFileSync(out2, 'mine'), { pollMs: 20 })).toBe('made');
    expect(existsSync(`${out2}.lock`)).toBe(false);
  });

  it('a failed make releases the lock and fails; the next caller tries again', async () => {
    const out = join(dir, 'd');
    await expect(makeOnce(`${out}.lock`, () => existsSync(out), async () => Promise.reject(new Error('go build failed')))).rejects.toThrow('go build failed');
    expect(existsSync(`${out}.lock`)).toBe(false);
    expect(await makeOnce(`${out}.lock`, () => existsSync(out), async () => writeFileSync(out, 'x'))).toBe('made');
  });
});

describe('pod references', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'n' },
    spec: {
      serviceAccountName: 'sa',
      containers: [{ name: 'c', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's1', key: 'k' } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'cm-opt', key: 'k', optional: true } } }], envFrom: [{ configMapRef: { name: 'cm1' } }] }],
      volumes: [{ name: 'v', secret: { secretName: 's2' } }, { name: 'd', persistentVolumeClaim: { claimName: 'data' } }, { name: 'pr', projected: { sources: [{ configMap: { name: 'cm2' } }] } }],
    },
  };

  it('lists every required object, optional ones left out', () => {
    expect(podReferences(pod).map((r) => refKey(r.kind, r.namespace, r.name)).sort()).toEqual(
      ['ConfigMap n/cm1', 'ConfigMap n/cm2', 'PersistentVolumeClaim n/data', 'Secret n/s1', 'Secret n/s2', 'ServiceAccount n/sa'].sort(),
    );
  });

  it('reports the missing ones with where they are used', () => {
    const existing = new Set(['ConfigMap n/cm1', 'ConfigMap n/cm2', 'PersistentVolumeClaim n/data', 'Secret n/s1', 'ServiceAccount n/sa']);
    expect(missingReferences([pod], existing)).toEqual([{ kind: 'Secret', namespace: 'n', name: 's2', from: 'n/p volume v' }]);
  });
});

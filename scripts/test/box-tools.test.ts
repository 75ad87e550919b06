/**
 * The box's pins agree with the platform's: each program is built at the version the pinned chart runs
 * (cdk8s/src/helm/app-versions.ts) or the kind node image carries, and each wrapper module requires
 * exactly that version. Fast: reads files only, builds nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartAppVersions } from '../../cdk8s/src/helm/app-versions.js';
import { gatewayApiPlugin } from '../../cdk8s/src/helm/values/argo-rollouts.js';
import { TOOLS_DIR, boxTools, KUBERNETES_VERSION } from '../box/tools.js';
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

import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { kpsServices } from '../src/helm/releases/kube-prometheus-stack.js';
import { NAMESPACE_NAME_LABEL } from '../src/labels.js';
import { ALERTMANAGER_FILE } from '../src/monitoring/files.js';
import { CHART_DEFAULTS, helmMerge, KPS_TEMPLATES_VERSION, kpsOperatorObjects, kpsOperatorObjectsOf, type ManifestObject } from '../src/monitoring/operator-objects.js';
import { crdValidators } from './support/crd-schemas.js';
import { ofKind, synthesized } from './support/platform.js';
import { StrictTypes } from './support/strict-types.js';

/**
 * The objects kube-prometheus-stack 88.2.0 renders for the Prometheus Operator, derived from our values
 * (src/monitoring/operator-objects.ts; the box test gives them to the real operator): they validate
 * against the CRDs and Kubernetes' types, the Alertmanager configuration Secret carries exactly
 * dist/alertmanager/alertmanager.yaml, and the references between them and the rest of the platform hold.
 */
const { out, platform, objects } = synthesized();
const release = platform.releases.find((r) => r.chart === 'kube-prometheus-stack')!;
const o = kpsOperatorObjectsOf(platform);
type Spec = Record<string, any>;
const amSpec = o.alertmanager.spec as Spec;
const promSpec = o.prometheus.spec as Spec;
const id = (x: ManifestObject) => `${x.kind} ${x.metadata.namespace ?? ''}/${x.metadata.name}`;

describe('names and keys as the chart renders them', () => {
  it('the CRs, the configuration Secret and its key', () => {
    expect(release.version).toBe(KPS_TEMPLATES_VERSION);
    expect(o.objects.map(id)).toEqual([
      'ServiceAccount monitoring/kube-prometheus-stack-prometheus',
      'ServiceAccount monitoring/kube-prometheus-stack-alertmanager',
      'ClusterRole /kube-prometheus-stack-prometheus',
      'ClusterRoleBinding /kube-prometheus-stack-prometheus',
      'Service monitoring/kube-prometheus-stack-prometheus',
      'Service monitoring/kube-prometheus-stack-alertmanager',
      'Secret monitoring/alertmanager-kube-prometheus-stack-alertmanager',
      'Alertmanager monitoring/kube-prometheus-stack-alertmanager',
      'Prometheus monitoring/kube-prometheus-stack-prometheus',
    ]);
    expect(Object.keys(o.alertmanagerConfigSecret.data as object)).toEqual(['alertmanager.yaml']);
    // The operator reads `alertmanager-<Alertmanager name>` (its defaultConfigSecretName) when spec.configSecret is unset.
    expect(amSpec.configSecret).toBeUndefined();
    expect(o.alertmanagerConfigSecret.metadata.name).toBe(`alertmanager-${o.alertmanager.metadata.name}`);
  });

  it('the Services are the ones the UI Ingresses and the rest of the app name', () => {
    for (const [svc, want] of [
      [o.services[0]!, kpsServices.prometheus],
      [o.services[1]!, kpsServices.alertmanager],
    ] as const) {
      expect(svc.metadata.name).toBe(want.name);
      expect((svc.spec as Spec).ports[0].port).toBe(want.port);
    }
  });
});

describe('validation', () => {
  const validators = crdValidators([
    'prometheus-operator/monitoring.coreos.com_prometheuses.yaml',
    'prometheus-operator/monitoring.coreos.com_alertmanagers.yaml',
  ]);
  it.each([o.prometheus, o.alertmanager].map((x) => [id(x), x] as const))('%s validates against the shared CRD schema', (_n, obj) => {
    const validate = validators.get(`${obj.apiVersion} ${obj.kind}`)!;
    const ok = validate(obj);
    expect(ok ? [] : validate.errors?.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual([]);
  });

  it('the CRD check rejects a misspelt field', () => {
    const validate = validators.get(`${o.prometheus.apiVersion} ${o.prometheus.kind}`)!;
    expect(validate({ ...o.prometheus, spec: { ...promSpec, serviceMonitorSelecter: {} } })).toBe(false);
  });

  const core = [...o.serviceAccounts, ...o.rbac, ...o.services, o.alertmanagerConfigSecret];
  const modelPath = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion : 'v1');
  const strict = new StrictTypes([...new Set(core.map((x) => `${modelPath(x.apiVersion)}/${x.kind}.d.ts`))]);
  it.each(core.map((x) => [id(x), x] as const))('%s validates (kubernetes-models, no unknown field)', async (_n, obj) => {
    const mod = (obj.apiVersion === 'v1' ? await import('kubernetes-models/v1') : await import('kubernetes-models/rbac.authorization.k8s.io/v1')) as unknown as Record<
      string,
      new (d: unknown) => { validate(): void }
    >;
    expect(() => new mod[obj.kind]!(obj).validate()).not.toThrow();
    expect(strict.unknownFields(obj, strict.typeOf(`${modelPath(obj.apiVersion)}/${obj.kind}.d.ts`, `I${obj.kind}`))).toEqual([]);
  });
});

describe('the Alertmanager configuration Secret', () => {
  const text = Buffer.from((o.alertmanagerConfigSecret.data as Record<string, string>)['alertmanager.yaml']!, 'base64').toString('utf8');

  it('holds exactly dist/alertmanager/alertmanager.yaml', () => {
    expect(text).toBe(out.files.get(ALERTMANAGER_FILE));
    expect(o.alertmanagerYaml).toBe(text);
  });

  it("our config restates every default Helm would merge into it (the chart's file is ours, nothing added)", () => {
    const ours = (release.values as { alertmanager: { config: object } }).alertmanager.config;
    expect(helmMerge(CHART_DEFAULTS.alertmanager.config, ours)).toEqual(ours);
    expect(parse(text)).toEqual(JSON.parse(JSON.stringify(ours)));
  });
});

describe('what the operator will reconcile', () => {
  it('Prometheus selects every ServiceMonitor, PodMonitor, Probe, rule and ScrapeConfig in every namespace', () => {
    for (const k of ['serviceMonitor', 'podMonitor', 'probe', 'rule', 'scrapeConfig']) {
      expect(promSpec[`${k}Selector`], k).toEqual({});
      expect(promSpec[`${k}NamespaceSelector`], k).toEqual({});
    }
  });

  it('with *SelectorNilUsesHelmValues true the chart would select only release=<release> (the template branch is modelled)', () => {
    const values = release.values as Spec;
    const other = kpsOperatorObjects({
      ...release,
      values: { ...values, prometheus: { ...values.prometheus, prometheusSpec: { ...values.prometheus.prometheusSpec, serviceMonitorSelectorNilUsesHelmValues: true } } },
    });
    expect((other.prometheus.spec as Spec).serviceMonitorSelector).toEqual({ matchLabels: { release: release.name } });
    expect((other.prometheus.spec as Spec).probeSelector).toEqual({});
  });

  it('retention, size, storage, resources, intervals, external URLs and versions come from the values and the chart', () => {
    const values = release.values as Spec;
    const ps = values.prometheus.prometheusSpec;
    expect(promSpec).toMatchObject({
      retention: ps.retention,
      retentionSize: ps.retentionSize,
      storage: ps.storageSpec,
      resources: ps.resources,
      scrapeInterval: ps.scrapeInterval,
      evaluationInterval: ps.evaluationInterval,
      externalUrl: ps.externalUrl,
      version: 'v3.13.2-distroless',
      replicas: 1,
    });
    const as = values.alertmanager.alertmanagerSpec;
    expect(amSpec).toMatchObject({
      replicas: as.replicas,
      retention: as.retention,
      storage: as.storage,
      resources: as.resources,
      externalUrl: as.externalUrl,
      secrets: as.secrets,
      version: 'v0.33.1',
    });
    for (const spec of [promSpec, amSpec]) expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000 });
  });

  it('Prometheus sends alerts to the Alertmanager Service, on a port it has', () => {
    const [endpoint] = promSpec.alerting.alertmanagers as { namespace: string; name: string; port: string }[];
    const svc = o.services.find((s) => s.metadata.name === endpoint!.name && s.metadata.namespace === endpoint!.namespace)!;
    expect((svc.spec as Spec).ports.map((p: { name: string }) => p.name)).toContain(endpoint!.port);
    expect((svc.spec as Spec).selector).toEqual({ 'app.kubernetes.io/name': 'alertmanager', alertmanager: o.alertmanager.metadata.name });
  });

  it('every ServiceAccount and Secret the CRs name exists: rendered here, or in dist/secrets.json', () => {
    for (const cr of [o.prometheus, o.alertmanager]) {
      const sa = (cr.spec as Spec).serviceAccountName;
      expect(o.serviceAccounts.map((s) => s.metadata.name), id(cr)).toContain(sa);
    }
    expect(o.referencedSecrets.map((s) => s.name)).toEqual(amSpec.secrets);
    for (const s of o.referencedSecrets) expect(platform.secrets.some((x) => x.namespace === s.namespace && x.name === s.name), s.name).toBe(true);
    const binding = o.rbac.find((r) => r.kind === 'ClusterRoleBinding')!;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: promSpec.serviceAccountName, namespace: o.prometheus.metadata.namespace }]);
  });

  it("the Alertmanager selects the manifests' AlertmanagerConfig (Discord)", () => {
    const amcs = ofKind(objects, 'AlertmanagerConfig');
    expect(amcs.length).toBeGreaterThan(0);
    for (const amc of amcs) {
      const labels = amc.metadata.labels ?? {};
      for (const [k, v] of Object.entries(amSpec.alertmanagerConfigSelector.matchLabels as Record<string, string>)) expect(labels[k]).toBe(v);
      expect(amSpec.alertmanagerConfigNamespaceSelector).toEqual({ matchLabels: { [NAMESPACE_NAME_LABEL]: amc.metadata.namespace } });
    }
    expect(amSpec.alertmanagerConfigMatcherStrategy).toEqual({ type: 'OnNamespaceExceptForAlertmanagerNamespace' });
  });
});

describe('faithfulness guards', () => {
  const values = release.values as Spec;
  it('a value this module does not model throws instead of being left out', () => {
    const withNodeSelector = { ...values, alertmanager: { ...values.alertmanager, alertmanagerSpec: { ...values.alertmanager.alertmanagerSpec, nodeSelector: { a: 'b' } } } };
    expect(() => kpsOperatorObjects({ ...release, values: withNodeSelector })).toThrow(/alertmanager\.alertmanagerSpec\.nodeSelector: not modelled/);
    expect(() => kpsOperatorObjects({ ...release, version: '89.0.0' })).toThrow(/re-expresses 88\.2\.0/);
  });

  it("helmMerge is Helm's coalescing: maps merge, lists and scalars replace, null deletes", () => {
    expect(helmMerge({ a: { x: 1, y: 2 }, l: [1, 2], s: 'd', k: 1 }, { a: { y: 3, z: 4 }, l: [9], k: null })).toEqual({ a: { y: 3, z: 4, x: 1 }, l: [9], s: 'd' });
  });
});

import { describe, expect, it } from 'vitest';
import { crdValidators } from './support/crd-schemas.js';
import { certManagerCrdFiles, gatewayApiCrdFiles, traefikCrdFiles } from './support/module-crds.js';
import { id, podTemplate, synthesized, type K8sObject } from './support/platform.js';
import { StrictTypes } from './support/strict-types.js';

/**
 * Every synthesized object validates against its schema:
 * - core kinds: kubernetes-models (types, enums, required, formats) plus an unknown-field check
 *   against the same package's declarations (kubernetes-models accepts unknown fields);
 * - custom resources: the CRD's openAPIV3Schema for the served version (../shared/crds; the Gateway API
 *   Traefik and cert-manager CRDs from their pinned Go modules, support/module-crds.ts), with unknown fields rejected
 *   (additionalProperties: false injected, see strictify).
 */
const kindObjects = synthesized('kind').objects;
const kindJson = new Set(kindObjects.map((o) => JSON.stringify(o)));
/** The kind profile's objects, and the cluster profile's wherever they differ (support/platform.ts clusterTestConfig). */
const objects = [...kindObjects, ...synthesized('cluster').objects.filter((o) => !kindJson.has(JSON.stringify(o)))];
const named = (o: K8sObject) => `${kindObjects.includes(o) ? 'kind' : 'cluster'} ${id(o)}`;

/** apiVersion -> kubernetes-models module path. */
const modelPath = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion : `v1`);

type Models = Record<string, (new (d: unknown) => { validate(): void }) | undefined>;
/** kubernetes-models modules of the core API groups the app writes. */
const coreModules: Record<string, () => Promise<unknown>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'autoscaling/v2': () => import('kubernetes-models/autoscaling/v2'),
  'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
  'batch/v1': () => import('kubernetes-models/batch/v1'),
  'rbac.authorization.k8s.io/v1': () => import('kubernetes-models/rbac.authorization.k8s.io/v1'),
};
const modelModule = async (apiVersion: string) => (await coreModules[apiVersion]!()) as Models;
const isCore = (o: K8sObject) => o.apiVersion in coreModules;

const CRD_FILES = [
  'argo-rollouts/rollout-crd.yaml',
  'argo-rollouts/analysis-template-crd.yaml',
  'prometheus-operator/monitoring.coreos.com_servicemonitors.yaml',
  'prometheus-operator/monitoring.coreos.com_podmonitors.yaml',
  'prometheus-operator/monitoring.coreos.com_prometheusrules.yaml',
  'prometheus-operator/monitoring.coreos.com_probes.yaml',
  'prometheus-operator/monitoring.coreos.com_alertmanagerconfigs.yaml',
  // Full schemas (with PodTemplateSpec), not all-crds.yaml whose podTemplates preserve unknown fields.
  'eck/resources/elasticsearch.k8s.elastic.co_elasticsearches.yaml',
  'eck/resources/kibana.k8s.elastic.co_kibanas.yaml',
  'eck/resources/logstash.k8s.elastic.co_logstashes.yaml',
  'eck/resources/beat.k8s.elastic.co_beats.yaml',
  ...gatewayApiCrdFiles(),
  ...traefikCrdFiles(),
  ...certManagerCrdFiles(),
];

const coreKinds = [...new Set(objects.filter(isCore).map((o) => `${o.apiVersion} ${o.kind}`))];
const strict = new StrictTypes([
  ...coreKinds.map((k) => {
    const [apiVersion, kind] = k.split(' ') as [string, string];
    return `${modelPath(apiVersion)}/${kind}.d.ts`;
  }),
  'v1/PodTemplateSpec.d.ts',
]);

describe('core kinds (kubernetes-models)', () => {
  const core = objects.filter(isCore);

  it('covers the kinds the app writes', () => {
    expect(coreKinds.sort()).toEqual(
      expect.arrayContaining(['apps/v1 StatefulSet', 'networking.k8s.io/v1 NetworkPolicy', 'v1 Namespace', 'v1 Service']),
    );
  });

  it.each(core.map((o) => [named(o), o] as const))('%s validates', async (_name, obj) => {
    const Model = (await modelModule(obj.apiVersion))[obj.kind];
    expect(Model, `kubernetes-models has ${obj.apiVersion} ${obj.kind}`).toBeDefined();
    expect(() => new Model!(obj).validate()).not.toThrow();
    const type = strict.typeOf(`${modelPath(obj.apiVersion)}/${obj.kind}.d.ts`, `I${obj.kind}`);
    expect(strict.unknownFields(obj, type)).toEqual([]);
  });

  it('the unknown-field check catches a misspelt field', () => {
    const svc = core.find((o) => o.kind === 'Service')!;
    const type = strict.typeOf('v1/Service.d.ts', 'IService');
    const bad = { ...svc, spec: { ...svc.spec, ports: [{ port: 80, targtPort: 'http' }] }, metadata: { ...svc.metadata, lables: {} } };
    expect(strict.unknownFields(bad, type).sort()).toEqual(['.metadata.lables', '.spec.ports[0].targtPort']);
  });
});

describe('custom resources (CRD schemas from ../shared/crds and the pinned Go modules)', () => {
  const validators = crdValidators(CRD_FILES);
  const custom = objects.filter((o) => !isCore(o));

  it('has a schema for every custom kind the app writes', () => {
    const missing = [...new Set(custom.map((o) => `${o.apiVersion} ${o.kind}`))].filter((k) => !validators.has(k));
    expect(missing).toEqual([]);
  });

  it.each(custom.map((o) => [named(o), o] as const))('%s validates', (_name, obj) => {
    const validate = validators.get(`${obj.apiVersion} ${obj.kind}`)!;
    const ok = validate(obj);
    expect(ok ? [] : validate.errors?.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual([]);
  });

  it('Rollout pod templates are valid core PodTemplateSpecs too', async () => {
    const { PodTemplateSpec } = await modelModule('v1');
    for (const rollout of custom.filter((o) => o.kind === 'Rollout')) {
      const template = (rollout.spec as { template: unknown }).template;
      expect(() => new PodTemplateSpec!(template).validate(), id(rollout)).not.toThrow();
      expect(strict.unknownFields(template, strict.typeOf('v1/PodTemplateSpec.d.ts', 'IPodTemplateSpec')), id(rollout)).toEqual([]);
      expect(podTemplate(rollout)).toBeDefined();
    }
  });

  it('rejects unknown fields in a custom resource', () => {
    const sm = custom.find((o) => o.kind === 'ServiceMonitor')!;
    const validate = validators.get(`${sm.apiVersion} ${sm.kind}`)!;
    expect(validate({ ...sm, spec: { ...sm.spec, endpoint: [] } })).toBe(false);
    const rollout = custom.find((o) => o.kind === 'Rollout')!;
    const validateRollout = validators.get(`${rollout.apiVersion} ${rollout.kind}`)!;
    const spec = rollout.spec as { strategy: { canary: Record<string, unknown> } };
    expect(validateRollout({ ...rollout, spec: { ...spec, strategy: { canary: { ...spec.strategy.canary, stableIngres: 'x' } } } })).toBe(false);
    // A Gateway API object: a misspelt backend field (weigth) is refused as the API server would.
    const route = custom.find((o) => o.kind === 'HTTPRoute')!;
    const validateRoute = validators.get(`${route.apiVersion} ${route.kind}`)!;
    const rules = (route.spec as { rules: { backendRefs: object[] }[] }).rules;
    expect(validateRoute({ ...route, spec: { ...route.spec, rules: [{ ...rules[0], backendRefs: [{ name: 'x', port: 80, weigth: 1 }] }] } })).toBe(false);
  });
});

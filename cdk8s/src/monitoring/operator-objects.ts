/**
 * The objects kube-prometheus-stack 88.2.0 renders from our values that the Prometheus Operator reconciles,
 * derived in one place from the release's values (`kubePrometheusStackValues(...)` after
 * `withoutUnchosenDefaults`, i.e. HelmRelease.values of the `kube-prometheus-stack` release): for running
 * the real operator without Helm (the box test). Not part of synth's output.
 *
 * How: Helm's merge of our values over the chart's defaults (`helmMerge`: maps merge key by key, a null
 * deletes, anything else replaces; CHART_DEFAULTS holds the defaults these objects read, transcribed from
 * values.yaml@kube-prometheus-stack-88.2.0), then the chart's templates re-expressed for the branches our
 * values take. A value we set that this module does not model throws (`modelled` below), so adding one
 * to the values cannot silently drift from what the chart would render.
 *
 * Sources (prometheus-community/helm-charts@kube-prometheus-stack-88.2.0, charts/kube-prometheus-stack/):
 * - names, labels: templates/_helpers.tpl (`kube-prometheus-stack.name` = chart name; `.fullname` = the
 *   release name when it contains the chart name, truncated to 26; `.prometheus.crname` /
 *   `.alertmanager.crname` = fullname + `-prometheus` / `-alertmanager`; `.labels`; the ServiceAccount names;
 *   `.prometheus.pod-anti-affinity.matchExpressions`). Release `kube-prometheus-stack` gives
 *   `kube-prometheus-stack-prometheus` and `kube-prometheus-stack-alertmanager`.
 *
 * Alertmanager CR (templates/alertmanager/alertmanager.yaml):
 *   from our values: replicas, externalUrl, retention, secrets, storage, resources,
 *     alertmanagerConfigSelector, alertmanagerConfigNamespaceSelector, alertmanagerConfigMatcherStrategy;
 *   from the chart's defaults: image quay.io/prometheus/alertmanager:v0.33.1 and `version: v0.33.1`
 *     (`version` defaults to the image tag), imagePullPolicy IfNotPresent, listenLocal false,
 *     serviceAccountName (fullname-alertmanager), automountServiceAccountToken true, paused false,
 *     logFormat logfmt, logLevel info, routePrefix /, securityContext (runAsUser 1000, runAsGroup 2000,
 *     fsGroup 2000, runAsNonRoot, seccomp RuntimeDefault), affinity (podAntiAffinity "soft": preferred,
 *     weight 100, topology kubernetes.io/hostname, app.kubernetes.io/name=alertmanager and
 *     alertmanager=<crname>), portName http-web, hostNetwork false.
 * Alertmanager configuration Secret (templates/alertmanager/secret.yaml): `alertmanager-<crname>` =
 *   `alertmanager-kube-prometheus-stack-alertmanager`, key `alertmanager.yaml` = Helm's merge of our
 *   `alertmanager.config` over the chart's default config. Our config restates the defaults it would
 *   otherwise inherit (`global.resolve_timeout`, `templates`), so the merge equals it and the text here is
 *   the text of dist/alertmanager/alertmanager.yaml (`alertmanagerFileText`; the chart writes `toYaml`,
 *   the same document with other formatting and no comment). No template files (`templateFiles` {}).
 * Prometheus CR (templates/prometheus/prometheus.yaml):
 *   from our values: externalUrl, scrapeInterval, evaluationInterval, retention, retentionSize, storage
 *     (storageSpec), resources, and the selectors: serviceMonitorSelector, podMonitorSelector,
 *     probeSelector, ruleSelector, scrapeConfigSelector are `{}` (every object) because our
 *     `*SelectorNilUsesHelmValues` are false (true would render `matchLabels: {release: <release>}`);
 *   from the chart's defaults: every `*NamespaceSelector` `{}` (all namespaces), image
 *     quay.io/prometheus/prometheus:v3.13.2-distroless and `version: v3.13.2-distroless`, imagePullPolicy
 *     IfNotPresent, alerting.alertmanagers = [{namespace, name: <fullname>-alertmanager, port: http-web,
 *     pathPrefix: /, apiVersion: v2}] (the Alertmanager Service; the alertmanager section is enabled and
 *     alertingEndpoints empty), automountServiceAccountToken true, paused false, replicas 1, shards 1,
 *     logLevel info, logFormat logfmt, listenLocal false, enableOTLPReceiver false, enableAdminAPI false,
 *     tsdb.outOfOrderTimeWindow 0s, walCompression true, routePrefix /, serviceAccountName
 *     (fullname-prometheus), securityContext as above, affinity (podAntiAffinity "soft",
 *     app.kubernetes.io/name=prometheus and app.kubernetes.io/instance=<crname>), portName http-web,
 *     hostNetwork false. No secrets or configMaps (none set).
 * ServiceAccounts (templates/{prometheus,alertmanager}/serviceaccount.yaml): automountServiceAccountToken true.
 * Services (templates/{prometheus,alertmanager}/service.yaml): ClusterIP, `http-web` 9090/9093 and
 *   `reloader-web` 8080 -> the config reloader's port (appProtocol http: the templates add it for
 *   Kubernetes > 1.20, assumed here), selectors on the labels the operator gives the pods
 *   (Prometheus: app.kubernetes.io/name=prometheus, operator.prometheus.io/name=<crname>; Alertmanager:
 *   app.kubernetes.io/name=alertmanager, alertmanager=<crname>), sessionAffinity None; Prometheus's with
 *   publishNotReadyAddresses false. Labels include `self-monitor: "true"`.
 * Prometheus RBAC (templates/prometheus/clusterrole.yaml, clusterrolebinding.yaml): get/list/watch on nodes,
 *   nodes/metrics, services, endpoints, pods, endpointslices and ingresses; get on /metrics and
 *   /metrics/cadvisor (kubelet cAdvisor on, resource metrics off; no kube-rbac-proxy in the subcharts).
 * Secrets the CRs reference that the chart does not render (`referencedSecrets`): alertmanagerSpec.secrets,
 *   created from dist/secrets.json; the Discord AlertmanagerConfig (dist/manifests/06-alerting.yaml)
 *   reads a key of one of them.
 *
 * What the chart renders that this omits: the CRDs (crds.enabled; take them from the operator's module or
 * ../shared/crds), the operator itself (Deployment, ServiceAccount, RBAC, Service, its admission webhooks and
 * their cert Job), Grafana and its sidecars, kube-state-metrics, node-exporter, the chart's ServiceMonitors
 * (operator, Prometheus, Alertmanager, kubelet, apiserver, coredns, kube-controller-manager,
 * kube-scheduler, kube-proxy, etcd, kube-state-metrics, node-exporter) and its default PrometheusRules, the
 * Grafana dashboards ConfigMaps, and the objects our values disable (Ingresses, PodDisruptionBudgets,
 * NetworkPolicies, per-replica Services/Ingresses, VPAs). The generated objects the operator creates from
 * these (StatefulSets, governing Services `prometheus-operated`/`alertmanager-operated`, generated config
 * and TLS Secrets, rule ConfigMaps) are the operator's, not the chart's.
 */
import type { HelmRelease } from '../helm/release.js';
import { alertmanagerFileText } from './files.js';

/** The chart version whose templates and defaults this module re-expresses. */
export const KPS_TEMPLATES_VERSION = '88.2.0';
const CHART_NAME = 'kube-prometheus-stack';

export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels: Readonly<Record<string, string>> };
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly [field: string]: unknown;
}
/** An object with a spec (the CRs, the Services). */
export type SpecObject = ManifestObject & { readonly spec: Readonly<Record<string, unknown>> };

export interface KpsOperatorObjects {
  /** monitoring.coreos.com/v1 Prometheus `<fullname>-prometheus`. */
  readonly prometheus: SpecObject;
  /** monitoring.coreos.com/v1 Alertmanager `<fullname>-alertmanager`. */
  readonly alertmanager: SpecObject;
  /** v1 Secret `alertmanager-<alertmanager name>`, `data["alertmanager.yaml"]` (base64, as the chart writes it). */
  readonly alertmanagerConfigSecret: ManifestObject;
  /** The text of the Secret's alertmanager.yaml (equals dist/alertmanager/alertmanager.yaml). */
  readonly alertmanagerYaml: string;
  /** The Prometheus and Alertmanager ServiceAccounts. */
  readonly serviceAccounts: readonly ManifestObject[];
  /** The Prometheus and Alertmanager Services. */
  readonly services: readonly SpecObject[];
  /** Prometheus's ClusterRole and ClusterRoleBinding (service discovery and kubelet metrics). */
  readonly rbac: readonly ManifestObject[];
  /** Secrets the CRs name that the chart does not render (created from dist/secrets.json). */
  readonly referencedSecrets: readonly { readonly namespace: string; readonly name: string; readonly by: string }[];
  /** Everything above in apply order: ServiceAccounts, RBAC, Services, the Secret, Alertmanager, Prometheus. */
  readonly objects: readonly ManifestObject[];
}

// --- Helm's merge of values over the chart's defaults ----------------------------------------------

type Values = Record<string, unknown>;
const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Helm's coalescing of user values over chart defaults: maps merge key by key, a user null deletes the
 * key, any other user value replaces the default (lists too). Keys keep the user's order, then the
 * defaults' remaining keys.
 */
export function helmMerge(defaults: unknown, ours: unknown): unknown {
  if (!isMap(defaults) || !isMap(ours)) return ours === undefined ? defaults : ours;
  const out: Values = {};
  for (const [k, v] of Object.entries(ours)) {
    if (v === null) continue;
    out[k] = k in defaults ? helmMerge(defaults[k], v) : v;
  }
  for (const [k, v] of Object.entries(defaults)) if (!(k in ours)) out[k] = v;
  return out;
}

const SECURITY_CONTEXT = { runAsGroup: 2000, runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } };

/** The defaults of values.yaml@kube-prometheus-stack-88.2.0 that the objects below read. */
export const CHART_DEFAULTS = {
  nameOverride: '',
  fullnameOverride: '',
  namespaceOverride: '',
  commonLabels: {},
  cleanPrometheusOperatorObjectNames: false,
  global: { rbac: { create: true }, imageRegistry: '', imagePullSecrets: [] },
  alertmanager: {
    enabled: true,
    namespaceOverride: '',
    annotations: {},
    additionalLabels: {},
    apiVersion: 'v2',
    enableFeatures: [],
    serviceAccount: { create: true, name: '', annotations: {}, automountServiceAccountToken: true },
    config: {
      global: { resolve_timeout: '5m' },
      inhibit_rules: [
        { source_matchers: ['severity = critical'], target_matchers: ['severity =~ warning|info'], equal: ['namespace', 'alertname'] },
        { source_matchers: ['severity = warning'], target_matchers: ['severity = info'], equal: ['namespace', 'alertname'] },
        { source_matchers: ['alertname = InfoInhibitor'], target_matchers: ['severity = info'], equal: ['namespace'] },
        { target_matchers: ['alertname = InfoInhibitor'] },
      ],
      route: {
        group_by: ['namespace'],
        group_wait: '30s',
        group_interval: '5m',
        repeat_interval: '12h',
        receiver: 'null',
        routes: [{ receiver: 'null', matchers: ['alertname = "Watchdog"'] }],
      },
      receivers: [{ name: 'null' }],
      templates: ['/etc/alertmanager/config/*.tmpl'],
    },
    stringConfig: '',
    tplConfig: false,
    templateFiles: {},
    ingress: { enabled: false },
    secret: { annotations: {} },
    service: {
      enabled: true, annotations: {}, labels: {}, clusterIP: '', port: 9093, targetPort: 9093, nodePort: 30903,
      additionalPorts: [], externalIPs: [], loadBalancerIP: '', loadBalancerSourceRanges: [], externalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None', type: 'ClusterIP', ipDualStack: { enabled: false },
    },
    serviceMonitor: { selfMonitor: true },
    alertmanagerSpec: {
      podMetadata: {},
      image: { registry: 'quay.io', repository: 'prometheus/alertmanager', tag: 'v0.33.1', sha: '', pullPolicy: 'IfNotPresent' },
      useExistingSecret: false,
      secrets: [],
      automountServiceAccountToken: true,
      configMaps: [],
      web: {},
      alertmanagerConfigSelector: {},
      alertmanagerConfigNamespaceSelector: {},
      alertmanagerConfiguration: {},
      alertmanagerConfigMatcherStrategy: {},
      logFormat: 'logfmt',
      logLevel: 'info',
      replicas: 1,
      retention: '120h',
      storage: {},
      externalUrl: null,
      routePrefix: '/',
      scheme: '',
      tlsConfig: {},
      paused: false,
      resources: {},
      podAntiAffinity: 'soft',
      podAntiAffinityTopologyKey: 'kubernetes.io/hostname',
      affinity: {},
      securityContext: SECURITY_CONTEXT,
      hostNetwork: false,
      listenLocal: false,
      portName: 'http-web',
    },
  },
  prometheus: {
    enabled: true,
    agentMode: false,
    annotations: {},
    additionalLabels: {},
    serviceAccount: { create: true, name: '', annotations: {}, automountServiceAccountToken: true },
    ingress: { enabled: false },
    service: {
      enabled: true, annotations: {}, labels: {}, clusterIP: '', port: 9090, targetPort: 9090, reloaderWebPort: 8080,
      externalIPs: [], nodePort: 30090, loadBalancerIP: '', loadBalancerSourceRanges: [], externalTrafficPolicy: 'Cluster',
      type: 'ClusterIP', additionalPorts: [], publishNotReadyAddresses: false, sessionAffinity: 'None', ipDualStack: { enabled: false },
    },
    thanosIngress: { enabled: false },
    serviceMonitor: { selfMonitor: true },
    additionalRulesForClusterRole: [],
    prometheusSpec: {
      automountServiceAccountToken: true,
      scrapeInterval: '',
      scrapeTimeout: '',
      evaluationInterval: '',
      listenLocal: false,
      enableOTLPReceiver: false,
      enableAdminAPI: false,
      version: '',
      image: { registry: 'quay.io', repository: 'prometheus/prometheus', tag: 'v3.13.2-distroless', sha: '', pullPolicy: 'IfNotPresent' },
      disableAlerting: false,
      alertingEndpoints: [],
      externalUrl: '',
      secrets: [],
      configMaps: [],
      ruleNamespaceSelector: {},
      ruleSelectorNilUsesHelmValues: true,
      ruleSelector: {},
      serviceMonitorSelectorNilUsesHelmValues: true,
      serviceMonitorSelector: {},
      serviceMonitorNamespaceSelector: {},
      podMonitorSelectorNilUsesHelmValues: true,
      podMonitorSelector: {},
      podMonitorNamespaceSelector: {},
      probeSelectorNilUsesHelmValues: true,
      probeSelector: {},
      probeNamespaceSelector: {},
      scrapeConfigSelectorNilUsesHelmValues: true,
      scrapeConfigSelector: {},
      scrapeConfigNamespaceSelector: {},
      retention: '10d',
      retentionSize: '',
      tsdb: { outOfOrderTimeWindow: '0s' },
      walCompression: true,
      paused: false,
      replicas: 1,
      shards: 1,
      logLevel: 'info',
      logFormat: 'logfmt',
      routePrefix: '/',
      podAntiAffinity: 'soft',
      podAntiAffinityTopologyKey: 'kubernetes.io/hostname',
      affinity: {},
      resources: {},
      storageSpec: {},
      securityContext: SECURITY_CONTEXT,
      portName: 'http-web',
      hostNetwork: false,
    },
  },
  // templates/prometheus/clusterrole.yaml reads these (subchart defaults: kube-state-metrics 8.2.0 and
  // prometheus-node-exporter 4.56.1 have kubeRBACProxy.enabled false).
  kubelet: { serviceMonitor: { cAdvisor: true, resource: false, resourcePath: '/metrics/resource/v1alpha1' } },
  kubeScheduler: { serviceMonitor: { resource: { enabled: false } } },
};

/**
 * The value keys this module renders, or checks to be off, per values path. Any other key our values set
 * under these paths throws (the chart might render it and this module would not). Keys elsewhere
 * (grafana, prometheusOperator, the subcharts...) do not reach these objects, except the few read
 * through the merge (global, name overrides, kubelet, kubeScheduler, the subcharts' kubeRBACProxy).
 */
const modelled: Readonly<Record<string, readonly string[]>> = {
  alertmanager: [
    'enabled', 'apiVersion', 'namespaceOverride', 'annotations', 'additionalLabels', 'serviceAccount', 'config', 'stringConfig',
    'tplConfig', 'templateFiles', 'ingress', 'service', 'serviceMonitor', 'alertmanagerSpec',
  ],
  'alertmanager.service': ['enabled', 'labels', 'port', 'targetPort', 'nodePort', 'additionalPorts', 'type', 'sessionAffinity', 'ipDualStack'],
  'alertmanager.alertmanagerSpec': [
    'image', 'version', 'replicas', 'listenLocal', 'automountServiceAccountToken', 'externalUrl', 'paused', 'logFormat', 'logLevel',
    'retention', 'secrets', 'alertmanagerConfigSelector', 'alertmanagerConfigNamespaceSelector', 'alertmanagerConfiguration',
    'alertmanagerConfigMatcherStrategy', 'resources', 'routePrefix', 'securityContext', 'storage', 'podAntiAffinity',
    'podAntiAffinityTopologyKey', 'affinity', 'portName', 'hostNetwork', 'useExistingSecret', 'scheme', 'tlsConfig',
  ],
  prometheus: [
    'enabled', 'agentMode', 'annotations', 'additionalLabels', 'serviceAccount', 'ingress', 'service', 'serviceMonitor',
    'thanosIngress', 'additionalRulesForClusterRole', 'prometheusSpec',
  ],
  'prometheus.service': [
    'enabled', 'labels', 'port', 'targetPort', 'nodePort', 'reloaderWebPort', 'additionalPorts', 'publishNotReadyAddresses', 'type',
    'sessionAffinity', 'ipDualStack',
  ],
  'prometheus.prometheusSpec': [
    'automountServiceAccountToken', 'alertingEndpoints', 'disableAlerting', 'image', 'version', 'externalUrl', 'paused', 'replicas',
    'shards', 'logLevel', 'logFormat', 'listenLocal', 'enableOTLPReceiver', 'enableAdminAPI', 'scrapeInterval', 'scrapeTimeout',
    'evaluationInterval', 'resources', 'retention', 'retentionSize', 'tsdb', 'walCompression', 'routePrefix', 'secrets', 'configMaps',
    ...['serviceMonitor', 'podMonitor', 'probe', 'rule', 'scrapeConfig'].flatMap((k) => [`${k}Selector`, `${k}SelectorNilUsesHelmValues`, `${k}NamespaceSelector`]),
    'securityContext', 'storageSpec', 'podAntiAffinity', 'podAntiAffinityTopologyKey', 'affinity', 'portName', 'hostNetwork',
  ],
};

function checkModelled(values: Values): void {
  for (const [path, keys] of Object.entries(modelled)) {
    const at = path.split('.').reduce<unknown>((v, k) => (isMap(v) ? v[k] : undefined), values);
    for (const key of Object.keys(isMap(at) ? at : {})) {
      if (!keys.includes(key)) throw new Error(`kube-prometheus-stack values ${path}.${key}: not modelled by operator-objects.ts (see its header)`);
    }
  }
}

// --- the templates, for the branches our values take ------------------------------------------------

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
};
const need = (cond: boolean, what: string) => {
  if (!cond) throw new Error(`operator-objects.ts does not model ${what}`);
};
const truthy = (v: unknown) => !(v === undefined || v === null || v === false || v === '' || v === 0 || (Array.isArray(v) && v.length === 0) || (isMap(v) && Object.keys(v).length === 0));
/** `trunc n | trimSuffix "-"` */
const trunc = (s: string, n: number) => s.slice(0, n).replace(/-$/, '');
const noTemplates = (v: unknown, what: string) => need(!JSON.stringify(v ?? null).includes('{{'), `Helm templates inside ${what} (tpl)`);

/** The Prometheus Operator objects kube-prometheus-stack 88.2.0 renders for a release (see the header). */
export function kpsOperatorObjects(release: Pick<HelmRelease, 'name' | 'namespace' | 'chart' | 'version' | 'values'>): KpsOperatorObjects {
  if (release.chart !== CHART_NAME) throw new Error(`${release.name}: chart ${release.chart}, not ${CHART_NAME}`);
  if (release.version !== KPS_TEMPLATES_VERSION) {
    throw new Error(`${CHART_NAME} ${release.version}: operator-objects.ts re-expresses ${KPS_TEMPLATES_VERSION}; read the new templates and defaults, then update it`);
  }
  const ours = release.values as Values;
  checkModelled(ours);
  const v = helmMerge(CHART_DEFAULTS, ours) as typeof CHART_DEFAULTS & Values;
  const am = v.alertmanager;
  const amSpec = am.alertmanagerSpec as typeof am.alertmanagerSpec & Values;
  const prom = v.prometheus;
  const promSpec = prom.prometheusSpec as typeof prom.prometheusSpec & Values;
  need(am.enabled && prom.enabled && !prom.agentMode, 'a disabled Alertmanager or Prometheus, or agent mode');
  need(!am.tplConfig && !am.stringConfig && !truthy(am.templateFiles) && !amSpec.useExistingSecret, 'tplConfig, stringConfig, templateFiles or useExistingSecret');
  need(!truthy(v.global.imageRegistry) && !truthy(v.global.imagePullSecrets) && !truthy(v.commonLabels), 'global.imageRegistry, imagePullSecrets, commonLabels');
  need(!v.cleanPrometheusOperatorObjectNames && !truthy(v.namespaceOverride) && !truthy(am.namespaceOverride), 'cleanPrometheusOperatorObjectNames or a namespace override');
  need(!truthy(amSpec.affinity) && !truthy(promSpec.affinity), 'affinity');
  need(!truthy(promSpec.alertingEndpoints) && !promSpec.disableAlerting && !truthy(amSpec.scheme) && !truthy(amSpec.tlsConfig), 'alertingEndpoints, disableAlerting, an Alertmanager scheme or tlsConfig');
  need(am.service.type === 'ClusterIP' && prom.service.type === 'ClusterIP' && !am.service.ipDualStack.enabled && !prom.service.ipDualStack.enabled, 'Services other than single-stack ClusterIP');
  need(!prom.thanosIngress.enabled && !truthy(promSpec.secrets) && !truthy(promSpec.configMaps), 'thanosIngress, Prometheus secrets or configMaps');
  need(am.serviceAccount.create && prom.serviceAccount.create && v.global.rbac.create, 'ServiceAccounts or RBAC not created by the chart');
  need(am.service.enabled && prom.service.enabled, 'a disabled Prometheus or Alertmanager Service');
  need(!truthy(am.additionalLabels) && !truthy(prom.additionalLabels) && !truthy(am.annotations) && !truthy(prom.annotations), 'additionalLabels or annotations of the CRs');
  need(!(am.ingress.enabled && !amSpec.externalUrl) && !(prom.ingress.enabled && !promSpec.externalUrl), 'an externalUrl taken from an Ingress host');
  for (const sub of ['kube-state-metrics', 'prometheus-node-exporter']) {
    need(!(ours[sub] as { kubeRBACProxy?: { enabled?: boolean } } | undefined)?.kubeRBACProxy?.enabled, `${sub}.kubeRBACProxy (adds ClusterRole rules)`);
  }
  noTemplates([amSpec, promSpec], 'alertmanagerSpec or prometheusSpec');

  // _helpers.tpl
  const name = trunc(v.nameOverride || CHART_NAME, 50);
  const fullname = v.fullnameOverride ? trunc(v.fullnameOverride, 26) : trunc(release.name.includes(name) ? release.name : `${release.name}-${name}`, 26);
  const namespace = release.namespace;
  const promName = `${fullname}-prometheus`;
  const amName = `${fullname}-alertmanager`;
  const common = {
    'app.kubernetes.io/managed-by': 'Helm',
    'app.kubernetes.io/instance': release.name,
    'app.kubernetes.io/version': release.version.replaceAll('+', '_'),
    'app.kubernetes.io/part-of': name,
    chart: `${CHART_NAME}-${release.version.replaceAll('+', '_')}`,
    release: release.name,
    heritage: 'Helm',
  };
  const labelsOf = (component: 'prometheus' | 'alertmanager') => ({ app: `${name}-${component}`, ...common });
  const saName = (component: 'prometheus' | 'alertmanager', sa: { name: string }) => sa.name || `${fullname}-${component}`;
  const image = (i: { registry: string; repository: string; tag: string; sha: string; pullPolicy: string }, what: string) => {
    need(!i.sha, `${what}.image.sha`);
    return { image: `${i.registry}/${i.repository}${i.tag ? `:${i.tag}` : ''}`, imagePullPolicy: i.pullPolicy };
  };
  const softAntiAffinity = (spec: { podAntiAffinity: string; podAntiAffinityTopologyKey: string }, matchExpressions: object[]) => {
    need(spec.podAntiAffinity === 'soft', `podAntiAffinity ${spec.podAntiAffinity}`);
    return {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: spec.podAntiAffinityTopologyKey, labelSelector: { matchExpressions } } },
        ],
      },
    };
  };
  const orEmpty = (x: unknown) => (truthy(x) ? x : {});

  // templates/alertmanager/serviceaccount.yaml, templates/prometheus/serviceaccount.yaml
  const serviceAccount = (component: 'prometheus' | 'alertmanager', sa: { name: string; automountServiceAccountToken: boolean }): ManifestObject => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: saName(component, sa),
      namespace,
      labels: { app: `${name}-${component}`, 'app.kubernetes.io/name': `${name}-${component}`, 'app.kubernetes.io/component': component, ...common },
    },
    automountServiceAccountToken: sa.automountServiceAccountToken,
  });

  // templates/prometheus/clusterrole.yaml, clusterrolebinding.yaml
  const kubelet = v.kubelet.serviceMonitor;
  const clusterRole: ManifestObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: promName, labels: labelsOf('prometheus') },
    rules: [
      { apiGroups: [''], resources: ['nodes', 'nodes/metrics', 'services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
      {
        nonResourceURLs: [
          '/metrics',
          ...(kubelet.cAdvisor ? ['/metrics/cadvisor'] : []),
          ...(kubelet.resource ? [kubelet.resourcePath] : []),
          ...(v.kubeScheduler.serviceMonitor.resource.enabled ? ['/metrics/resources'] : []),
        ],
        verbs: ['get'],
      },
      ...(prom.additionalRulesForClusterRole as object[]),
    ],
  };
  const clusterRoleBinding: ManifestObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: promName, labels: labelsOf('prometheus') },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: promName },
    subjects: [{ kind: 'ServiceAccount', name: saName('prometheus', prom.serviceAccount), namespace }],
  };

  // templates/{prometheus,alertmanager}/service.yaml
  const selfMonitor = (s: { selfMonitor: boolean }) => String(s.selfMonitor);
  const prometheusService: SpecObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: promName, namespace, labels: { ...labelsOf('prometheus'), 'self-monitor': selfMonitor(prom.serviceMonitor), ...prom.service.labels } },
    spec: {
      ports: [
        { name: promSpec.portName, port: prom.service.port, targetPort: prom.service.targetPort },
        ...(prom.service.reloaderWebPort ? [{ name: 'reloader-web', appProtocol: 'http', port: prom.service.reloaderWebPort, targetPort: 'reloader-web' }] : []),
        ...(prom.service.additionalPorts as object[]),
      ],
      publishNotReadyAddresses: prom.service.publishNotReadyAddresses,
      selector: { 'app.kubernetes.io/name': 'prometheus', 'operator.prometheus.io/name': promName },
      sessionAffinity: prom.service.sessionAffinity,
      type: prom.service.type,
    },
  };
  const alertmanagerService: SpecObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: amName, namespace, labels: { ...labelsOf('alertmanager'), 'self-monitor': selfMonitor(am.serviceMonitor), ...am.service.labels } },
    spec: {
      ports: [
        { name: amSpec.portName, port: am.service.port, targetPort: am.service.targetPort, protocol: 'TCP' },
        { name: 'reloader-web', appProtocol: 'http', port: 8080, targetPort: 'reloader-web' },
        ...(am.service.additionalPorts as object[]),
      ],
      selector: { 'app.kubernetes.io/name': 'alertmanager', alertmanager: amName },
      sessionAffinity: am.service.sessionAffinity,
      type: am.service.type,
    },
  };

  // templates/alertmanager/secret.yaml
  const alertmanagerYaml = alertmanagerFileText(am.config);
  const alertmanagerConfigSecret: ManifestObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `alertmanager-${amName}`, namespace, labels: labelsOf('alertmanager') },
    data: { 'alertmanager.yaml': Buffer.from(alertmanagerYaml, 'utf8').toString('base64') },
  };

  // templates/alertmanager/alertmanager.yaml
  const amImage = image(amSpec.image, 'alertmanagerSpec');
  const alertmanager: SpecObject = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'Alertmanager',
    metadata: { name: amName, namespace, labels: labelsOf('alertmanager') },
    spec: {
      ...amImage,
      version: (amSpec.version as string | undefined) || amSpec.image.tag,
      replicas: amSpec.replicas,
      listenLocal: amSpec.listenLocal,
      serviceAccountName: saName('alertmanager', am.serviceAccount),
      automountServiceAccountToken: amSpec.automountServiceAccountToken,
      externalUrl: amSpec.externalUrl ? str(amSpec.externalUrl, 'alertmanagerSpec.externalUrl') : `http://${fullname}-alertmanager.${namespace}:${am.service.port}`,
      paused: amSpec.paused,
      logFormat: amSpec.logFormat,
      logLevel: amSpec.logLevel,
      retention: amSpec.retention,
      ...(truthy(amSpec.secrets) ? { secrets: amSpec.secrets } : {}),
      alertmanagerConfigSelector: orEmpty(amSpec.alertmanagerConfigSelector),
      alertmanagerConfigNamespaceSelector: amSpec.alertmanagerConfigNamespaceSelector ?? null,
      ...(truthy(amSpec.alertmanagerConfiguration) ? { alertmanagerConfiguration: amSpec.alertmanagerConfiguration } : {}),
      ...(truthy(amSpec.alertmanagerConfigMatcherStrategy) ? { alertmanagerConfigMatcherStrategy: amSpec.alertmanagerConfigMatcherStrategy } : {}),
      ...(truthy(amSpec.resources) ? { resources: amSpec.resources } : {}),
      ...(amSpec.routePrefix ? { routePrefix: amSpec.routePrefix } : {}),
      ...(truthy(amSpec.securityContext) ? { securityContext: amSpec.securityContext } : {}),
      ...(truthy(amSpec.storage) ? { storage: amSpec.storage } : {}),
      affinity: softAntiAffinity(amSpec, [
        { key: 'app.kubernetes.io/name', operator: 'In', values: ['alertmanager'] },
        { key: 'alertmanager', operator: 'In', values: [amName] },
      ]),
      portName: amSpec.portName,
      hostNetwork: amSpec.hostNetwork,
    },
  };

  // templates/prometheus/prometheus.yaml
  const selector = (value: unknown, nilUsesHelmValues: boolean) =>
    truthy(value) ? value : nilUsesHelmValues ? { matchLabels: { release: release.name } } : value === null || value === undefined ? undefined : {};
  const selectors = Object.fromEntries(
    (['serviceMonitor', 'podMonitor', 'probe', 'rule', 'scrapeConfig'] as const).flatMap((kind) => {
      const sel = selector(promSpec[`${kind}Selector`], promSpec[`${kind}SelectorNilUsesHelmValues`]);
      const nsSel = promSpec[`${kind}NamespaceSelector`];
      return [
        ...(sel === undefined ? [] : [[`${kind}Selector`, sel]]),
        ...(nsSel === null || nsSel === undefined ? [] : [[`${kind}NamespaceSelector`, orEmpty(nsSel)]]),
      ];
    }),
  );
  const promImage = image(promSpec.image, 'prometheusSpec');
  const prometheus: SpecObject = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'Prometheus',
    metadata: { name: promName, namespace, labels: labelsOf('prometheus') },
    spec: {
      automountServiceAccountToken: promSpec.automountServiceAccountToken,
      alerting: {
        alertmanagers: [
          {
            namespace,
            name: `${fullname}-alertmanager`,
            port: amSpec.portName,
            ...(amSpec.routePrefix ? { pathPrefix: amSpec.routePrefix } : {}),
            apiVersion: am.apiVersion,
          },
        ],
      },
      ...promImage,
      version: promSpec.version || promSpec.image.tag,
      externalUrl: promSpec.externalUrl ? str(promSpec.externalUrl, 'prometheusSpec.externalUrl') : `http://${fullname}-prometheus.${namespace}:${prom.service.port}`,
      paused: promSpec.paused,
      replicas: promSpec.replicas,
      shards: promSpec.shards,
      logLevel: promSpec.logLevel,
      logFormat: promSpec.logFormat,
      listenLocal: promSpec.listenLocal,
      enableOTLPReceiver: promSpec.enableOTLPReceiver,
      enableAdminAPI: promSpec.enableAdminAPI,
      ...(promSpec.scrapeInterval ? { scrapeInterval: promSpec.scrapeInterval } : {}),
      ...(promSpec.scrapeTimeout ? { scrapeTimeout: promSpec.scrapeTimeout } : {}),
      ...(promSpec.evaluationInterval ? { evaluationInterval: promSpec.evaluationInterval } : {}),
      ...(truthy(promSpec.resources) ? { resources: promSpec.resources } : {}),
      retention: promSpec.retention,
      ...(promSpec.retentionSize ? { retentionSize: promSpec.retentionSize } : {}),
      ...(truthy(promSpec.tsdb) ? { tsdb: promSpec.tsdb.outOfOrderTimeWindow ? { outOfOrderTimeWindow: promSpec.tsdb.outOfOrderTimeWindow } : {} } : {}),
      walCompression: promSpec.walCompression !== false,
      ...(promSpec.routePrefix ? { routePrefix: promSpec.routePrefix } : {}),
      serviceAccountName: saName('prometheus', prom.serviceAccount),
      ...selectors,
      ...(truthy(promSpec.securityContext) ? { securityContext: promSpec.securityContext } : {}),
      ...(truthy(promSpec.storageSpec) ? { storage: promSpec.storageSpec } : {}),
      affinity: softAntiAffinity(promSpec, [
        { key: 'app.kubernetes.io/name', operator: 'In', values: ['prometheus'] },
        { key: 'app.kubernetes.io/instance', operator: 'In', values: [promName] },
      ]),
      portName: promSpec.portName,
      hostNetwork: promSpec.hostNetwork,
    },
  };

  const serviceAccounts = [serviceAccount('prometheus', prom.serviceAccount), serviceAccount('alertmanager', am.serviceAccount)];
  const services = [prometheusService, alertmanagerService];
  const rbac = [clusterRole, clusterRoleBinding];
  return {
    prometheus,
    alertmanager,
    alertmanagerConfigSecret,
    alertmanagerYaml,
    serviceAccounts,
    services,
    rbac,
    referencedSecrets: (amSpec.secrets as string[]).map((s) => ({ namespace, name: s, by: `Alertmanager ${namespace}/${amName} spec.secrets` })),
    objects: [...serviceAccounts, ...rbac, ...services, alertmanagerConfigSecret, alertmanager, prometheus],
  };
}

/** The same for the kube-prometheus-stack release of a built platform (`buildPlatform()`). */
export function kpsOperatorObjectsOf(platform: { readonly releases: readonly HelmRelease[] }): KpsOperatorObjects {
  const release = platform.releases.find((r) => r.chart === CHART_NAME);
  if (!release) throw new Error(`the platform has no ${CHART_NAME} release`);
  return kpsOperatorObjects(release);
}

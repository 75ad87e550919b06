import type { PlatformConfig } from '../../config.js';
import type { Hosts } from '../../hosts.js';
import * as k8s from '../../k8s.js';
import { parseMemory } from '../../resources.js';
import { storageClassName, volumeClaimSpec } from '../../storage.js';
import {
  ALERTMANAGER_RECEIVERS_SECRET,
  ALERTMANAGER_WEBHOOK_SECRET,
  alertmanagerConfig,
  alertmanagerConfigSelection,
  alertmanagerReceiversSecret,
  receiverSettingsFor,
  type AlertmanagerConfig,
} from '../../monitoring/alertmanager.js';
import { STATUS_WEBHOOK } from '../../monitoring/status-webhook.js';
import { ns } from '../../namespaces.js';
import type { ReleaseModule } from '../release.js';
import { resources, sumRequests, type Footprint, type Resources } from '../types.js';
import { DEX_CLIENTS_SECRET, dexInternalUrl } from './dex.js';

/** Names shared with the rest of the app (HTTPRoute backends, secrets, NetworkPolicy peers). */
export const KPS_RELEASE = 'kube-prometheus-stack';
export const kpsServices = {
  prometheus: { name: `${KPS_RELEASE}-prometheus`, port: 9090 },
  alertmanager: { name: `${KPS_RELEASE}-alertmanager`, port: 9093 },
  grafana: { name: `${KPS_RELEASE}-grafana`, port: 80 },
} as const;
/** Mounted by the Prometheus Operator at /etc/alertmanager/secrets/<name>/ (alertmanagerSpec.secrets). */
export { ALERTMANAGER_RECEIVERS_SECRET, ALERTMANAGER_WEBHOOK_SECRET };
export const GRAFANA_ADMIN_SECRET = 'grafana-admin';
export const GRAFANA_OAUTH_SECRET = 'grafana-oauth';

interface VolumeClaimTemplate {
  readonly volumeClaimTemplate: { readonly spec: object };
}

/** Prometheus deletes the oldest blocks past this share of its volume, before the volume fills (WAL, compaction). */
export const PROMETHEUS_RETENTION_SHARE_OF_VOLUME = 0.8;

// Values are plain YAML: the claim spec in its JSON form (quantities as strings).
const pvc = (config: Pick<PlatformConfig, 'storageClass'>, storage: string): VolumeClaimTemplate => ({
  volumeClaimTemplate: { spec: k8s.toJson_PersistentVolumeClaimSpec(volumeClaimSpec(config, storage)) as object },
});

export interface KubePrometheusStackValues {
  readonly crds: { readonly enabled: boolean };
  readonly alertmanager: {
    readonly config: AlertmanagerConfig;
    readonly ingress: { readonly enabled: boolean };
    readonly alertmanagerSpec: {
      readonly replicas: number;
      readonly retention: string;
      readonly storage: VolumeClaimTemplate;
      readonly resources: Resources;
      readonly secrets: readonly string[];
      readonly externalUrl: string;
      readonly alertmanagerConfigSelector: { readonly matchLabels: Readonly<Record<string, string>> };
      readonly alertmanagerConfigNamespaceSelector: { readonly matchLabels: Readonly<Record<string, string>> };
      readonly alertmanagerConfigMatcherStrategy: { readonly type: 'OnNamespace' | 'OnNamespaceExceptForAlertmanagerNamespace' | 'None' };
    };
  };
  readonly grafana: {
    readonly enabled: boolean;
    readonly defaultDashboardsTimezone: string;
    readonly admin: { readonly existingSecret: string; readonly userKey: string; readonly passwordKey: string };
    readonly ingress: { readonly enabled: boolean };
    readonly persistence: { readonly enabled: boolean; readonly type: 'pvc'; readonly size: string; readonly storageClassName?: string };
    readonly initChownData: { readonly enabled: boolean };
    readonly testFramework: { readonly enabled: boolean };
    readonly resources: Resources;
    readonly sidecar: {
      readonly resources: Resources;
      readonly dashboards: { readonly enabled: boolean; readonly label: string; readonly labelValue: string; readonly searchNamespace: string };
    };
    readonly envValueFrom: Readonly<Record<string, { readonly secretKeyRef: { readonly name: string; readonly key: string } }>>;
    readonly 'grafana.ini': Readonly<Record<string, Readonly<Record<string, string | number | boolean>>>>;
  };
  readonly prometheusOperator: {
    readonly resources: Resources;
    readonly prometheusConfigReloader: { readonly resources: Resources };
    readonly admissionWebhooks: { readonly patch: { readonly resources: Resources } };
  };
  readonly prometheus: {
    readonly ingress: { readonly enabled: boolean };
    readonly prometheusSpec: {
      readonly serviceMonitorSelectorNilUsesHelmValues: boolean;
      readonly podMonitorSelectorNilUsesHelmValues: boolean;
      readonly ruleSelectorNilUsesHelmValues: boolean;
      readonly probeSelectorNilUsesHelmValues: boolean;
      readonly scrapeConfigSelectorNilUsesHelmValues: boolean;
      readonly scrapeInterval: string;
      readonly evaluationInterval: string;
      readonly retention: string;
      readonly retentionSize: string;
      readonly storageSpec: VolumeClaimTemplate;
      readonly resources: Resources;
      readonly externalUrl: string;
    };
  };
  readonly 'kube-state-metrics': { readonly resources: Resources };
  readonly 'prometheus-node-exporter': { readonly resources: Resources };
}

/** Prometheus may burst to twice its request (compaction, a heavy query); the config sets the request. */
const prometheusResources = (sizing: PlatformConfig['prometheus']): Resources => resources(sizing.cpu, sizing.memory, `${Math.round((parseMemory(sizing.memory) * 2) / 2 ** 20)}Mi`);

const kpsResources = {
  alertmanager: resources('10m', '48Mi', '128Mi'),
  configReloader: resources('10m', '24Mi', '64Mi'),
  operator: resources('50m', '96Mi', '256Mi'),
  grafana: resources('50m', '192Mi', '512Mi'),
  grafanaSidecar: resources('10m', '64Mi', '128Mi'),
  kubeStateMetrics: resources('20m', '64Mi', '192Mi'),
  nodeExporter: resources('20m', '32Mi', '64Mi'),
  webhookPatch: resources('10m', '20Mi', '64Mi'),
} as const;

export function kubePrometheusStackValues(
  h: Hosts,
  opts: { statusWebhookUrl: string; dexInternalUrl: string; config: PlatformConfig },
): KubePrometheusStackValues {
  const r = kpsResources;
  const { config } = opts;
  const volumeGib = parseMemory(config.prometheus.storage) / 2 ** 30;
  return {
    crds: { enabled: true },
    alertmanager: {
      // Routing, receivers and inhibition: cdk8s/src/monitoring/alertmanager.ts (also dist/alertmanager/alertmanager.yaml).
      config: alertmanagerConfig({ statusWebhookUrl: opts.statusWebhookUrl, receivers: receiverSettingsFor(config.domain) }),
      ingress: { enabled: false },
      alertmanagerSpec: {
        replicas: 1,
        retention: '120h',
        storage: pvc(config, '1Gi'),
        resources: r.alertmanager,
        // Mounted at /etc/alertmanager/secrets/<name>/<key>: the *_file paths of alertmanager.config.
        secrets: [ALERTMANAGER_WEBHOOK_SECRET, ALERTMANAGER_RECEIVERS_SECRET],
        externalUrl: `https://${h.alertmanager}`,
        // Discord's route: the AlertmanagerConfig of dist/manifests/06-alerting.yaml, in this namespace only,
        // without the namespace matcher the operator adds by default (monitoring/alertmanager.ts).
        ...alertmanagerConfigSelection(ns.monitoring.name),
      },
    },
    grafana: {
      enabled: true,
      defaultDashboardsTimezone: 'utc',
      admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: 'admin-user', passwordKey: 'admin-password' },
      ingress: { enabled: false },
      persistence: { enabled: true, type: 'pvc', size: '1Gi', ...storageClassName(config) },
      // fsGroup already gives the grafana user its volume; the chown init container would run as root.
      initChownData: { enabled: false },
      testFramework: { enabled: false },
      resources: r.grafana,
      sidecar: {
        resources: r.grafanaSidecar,
        dashboards: { enabled: true, label: 'grafana_dashboard', labelValue: '1', searchNamespace: 'ALL' },
      },
      // The OAuth client secret reaches Grafana as an env override, never written in grafana.ini
      // (the chart refuses secrets in grafana.ini: assertNoLeakedSecrets).
      envValueFrom: { GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET: { secretKeyRef: { name: GRAFANA_OAUTH_SECRET, key: 'client-secret' } } },
      'grafana.ini': {
        server: { root_url: `https://${h.grafana}` },
        analytics: { check_for_updates: false, reporting_enabled: false },
        auth: { oauth_auto_login: false },
        // Login through Dex: the browser goes to the public issuer; Grafana's back-channel calls use the in-cluster Service.
        'auth.generic_oauth': {
          enabled: true,
          name: 'Dex',
          client_id: 'grafana',
          scopes: 'openid profile email groups',
          auth_url: `https://${h.dex}/auth`,
          token_url: `${opts.dexInternalUrl}/token`,
          api_url: `${opts.dexInternalUrl}/userinfo`,
          use_pkce: true,
          allow_sign_up: true,
          groups_attribute_path: 'groups',
          role_attribute_path: "contains(groups[*], 'courseops-admins') && 'Admin' || 'Viewer'",
        },
      },
    },
    prometheusOperator: {
      resources: r.operator,
      prometheusConfigReloader: { resources: r.configReloader },
      admissionWebhooks: { patch: { resources: r.webhookPatch } },
    },
    prometheus: {
      ingress: { enabled: false },
      prometheusSpec: {
        // Select every ServiceMonitor/PodMonitor/rule/probe/scrape config, not only those labelled release=<release>.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
        scrapeInterval: '15s',
        evaluationInterval: '15s',
        // Keep 15 days, or 80 % of the volume, whichever comes first: the size cap keeps a burst of
        // series from filling the disk (Prometheus stops ingesting on a full volume).
        retention: config.prometheus.retention,
        retentionSize: `${Math.floor(volumeGib * PROMETHEUS_RETENTION_SHARE_OF_VOLUME * 10) / 10}GiB`,
        storageSpec: pvc(config, config.prometheus.storage),
        resources: prometheusResources(config.prometheus),
        externalUrl: `https://${h.prometheus}`,
      },
    },
    'kube-state-metrics': { resources: r.kubeStateMetrics },
    'prometheus-node-exporter': { resources: r.nodeExporter },
  };
}

const kubePrometheusStackFootprint = (config: PlatformConfig): Footprint[] => {
  const r = kpsResources;
  const nodes = config.nodes;
  return [
    { component: 'prometheus (+config-reloader)', replicas: 1, requests: sumRequests(prometheusResources(config.prometheus).requests, r.configReloader.requests) },
    { component: 'alertmanager (+config-reloader)', replicas: 1, requests: sumRequests(r.alertmanager.requests, r.configReloader.requests) },
    { component: 'prometheus-operator', replicas: 1, requests: r.operator.requests },
    { component: 'grafana (+2 sidecars)', replicas: 1, requests: sumRequests(r.grafana.requests, r.grafanaSidecar.requests, r.grafanaSidecar.requests) },
    { component: 'kube-state-metrics', replicas: 1, requests: r.kubeStateMetrics.requests },
    { component: 'node-exporter (per node)', replicas: nodes, requests: r.nodeExporter.requests },
  ];
};

export const kubePrometheusStackRelease: ReleaseModule = {
  name: KPS_RELEASE,
  chart: 'kube-prometheus-stack',
  namespace: ns.monitoring.name,
  subcharts: { grafana: 'grafana', 'kube-state-metrics': 'kube-state-metrics', 'prometheus-node-exporter': 'prometheus-node-exporter' },
  // The largest release, with CRDs and an admission webhook Job: it gets longer than the others.
  timeout: '15m',
  secrets: () => [
    {
      namespace: ns.monitoring.name,
      name: GRAFANA_ADMIN_SECRET,
      keys: [
        { key: 'admin-user', value: 'admin' },
        { key: 'admin-password', generate: 'password' },
      ],
    },
    {
      namespace: ns.monitoring.name,
      name: GRAFANA_OAUTH_SECRET,
      // A Secret cannot be read across namespaces: Grafana gets a copy of its Dex client secret.
      keys: [{ key: 'client-secret', copyFrom: { namespace: ns.auth.name, name: DEX_CLIENTS_SECRET, key: 'grafana' } }],
    },
    {
      namespace: ns.monitoring.name,
      name: ALERTMANAGER_WEBHOOK_SECRET,
      keys: [{ key: 'token', copyFrom: { namespace: ns.apps.name, name: STATUS_WEBHOOK.secret.name, key: STATUS_WEBHOOK.secret.key } }],
    },
    alertmanagerReceiversSecret(ns.monitoring.name),
  ],
  values: ({ hosts, config, statusWebhookUrl }) => kubePrometheusStackValues(hosts, { statusWebhookUrl, dexInternalUrl, config }),
  footprint: ({ config }) => kubePrometheusStackFootprint(config),
};

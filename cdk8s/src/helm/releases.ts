import type { PlatformConfig } from '../config.js';
import type { Hosts } from '../hosts.js';
import { ns } from '../namespaces.js';
import type { SecretRegistry } from '../secrets.js';
import { alertmanagerReceiversSecret } from '../monitoring/alertmanager.js';
import { releaseDefaultResources, withoutUnchosenDefaults } from './chart-defaults.js';
import { readChartPins } from './pins.js';
import type { Footprint } from './types.js';
import { argoRolloutsFootprint, argoRolloutsValues } from './values/argo-rollouts.js';
import { certManagerFootprint, certManagerValues } from './values/cert-manager.js';
import { DEX_CLIENTS_SECRET, DEX_USERS_SECRET, dexFootprint, dexService, dexValues, staticUsers } from './values/dex.js';
import { eckOperatorFootprint, eckOperatorValues } from './values/eck-operator.js';
import {
  ALERTMANAGER_WEBHOOK_SECRET,
  GRAFANA_ADMIN_SECRET,
  GRAFANA_OAUTH_SECRET,
  KPS_RELEASE,
  kubePrometheusStackFootprint,
  kubePrometheusStackValues,
} from './values/kube-prometheus-stack.js';
import { METRICS_SERVER_RELEASE, metricsServerFootprint, metricsServerValues } from './values/metrics-server.js';
import { OAUTH2_PROXY_SECRET, oauth2ProxyFootprint, oauth2ProxyValues } from './values/oauth2-proxy.js';
import { BLACKBOX_RELEASE, blackboxExporterFootprint, blackboxExporterValues } from './values/prometheus-blackbox-exporter.js';
import { PUSHGATEWAY_RELEASE, pushgatewayFootprint, pushgatewayValues } from './values/prometheus-pushgateway.js';
import { TRAEFIK_RELEASE, traefikFootprint, traefikValues } from './values/traefik.js';
import { serviceUrl } from '../cluster-dns.js';
import { STATUS_WEBHOOK } from '../monitoring/status-webhook.js';

/** A Helm release as data: the bring-up installs it with `helm upgrade --install --wait`. */
export interface HelmRelease {
  readonly order: number;
  readonly name: string;
  readonly namespace: string;
  readonly chart: string;
  readonly repo: string;
  readonly version: string;
  /** Which values-key list (charts/values-keys/<file>.json) checks the values; subcharts by top-level key. */
  readonly keys: { readonly chart: string; readonly subcharts?: Readonly<Record<string, string>> };
  /**
   * The typed values of src/helm/values/<chart>.ts, with null for each chart default resource key we did
   * not choose (chart-defaults.ts: Helm would merge it into ours).
   */
  readonly values: object;
  readonly footprint: readonly Footprint[];
  readonly waitFor: { readonly timeout: string };
}

export interface ReleaseContext {
  readonly config: PlatformConfig;
  readonly hosts: Hosts;
  readonly secrets: SecretRegistry;
  /** kind nodes (DaemonSets run one pod per node). */
  readonly nodes: number;
  /** The status service's webhook URL for Alertmanager (from the service declaration). */
  readonly statusWebhookUrl: string;
}

/**
 * The releases in install order. CRDs come before anything that uses them: kube-prometheus-stack first,
 * since the other charts create ServiceMonitors; cert-manager, Traefik, ECK and Argo Rollouts before
 * dist/manifests/ (ClusterIssuers; the GatewayClass and Middleware CRD the Gateway and routes need; Rollouts).
 * The Gateway API CRDs are not a release: the bring-up applies them before the first release (src/gateway/api.ts),
 * since cert-manager only starts its gateway-shim when they exist and Traefik's provider watches them. Dex before
 * oauth2-proxy; the blackbox exporter (the prober of the Probes in dist/manifests/) after kube-prometheus-stack
 * and Traefik, which it probes through;
 * metrics-server last: it needs no other release and none needs it (only the HPAs of dist/manifests/ read its API).
 * The Secrets they reference are created by the bring-up before the first release (dist/secrets.json).
 */
export function platformReleases(ctx: ReleaseContext): HelmRelease[] {
  const pins = readChartPins();
  const pin = (chart: string) => {
    const p = pins.get(chart);
    if (!p) throw new Error(`charts/Chart.yaml has no pin for ${chart}`);
    return p;
  };
  const h = ctx.hosts;
  const dexInternalUrl = serviceUrl(dexService.name, ns.auth.name, dexService.port);

  // --- Secrets (the auth ones first: monitoring copies Grafana's client secret from them)
  const dexClients = ctx.secrets.add({
    namespace: ns.auth.name,
    name: DEX_CLIENTS_SECRET,
    keys: [
      { key: 'grafana', generate: 'password' },
      { key: 'oauth2-proxy', generate: 'password' },
    ],
  });
  ctx.secrets.add({
    namespace: ns.auth.name,
    name: DEX_USERS_SECRET,
    keys: staticUsers.flatMap((u) => [
      { key: `${u.secretKey}-password`, generate: 'password' as const },
      { key: `${u.secretKey}-password-hash`, generate: 'bcrypt' as const, from: `${u.secretKey}-password` },
    ]),
  });
  ctx.secrets.add({
    namespace: ns.auth.name,
    name: OAUTH2_PROXY_SECRET,
    keys: [
      { key: 'client-id', value: 'oauth2-proxy' },
      { key: 'client-secret', copyFrom: { namespace: dexClients.namespace, name: dexClients.name, key: 'oauth2-proxy' } },
      { key: 'cookie-secret', generate: 'password' },
    ],
  });
  ctx.secrets.add({
    namespace: ns.monitoring.name,
    name: GRAFANA_ADMIN_SECRET,
    keys: [
      { key: 'admin-user', value: 'admin' },
      { key: 'admin-password', generate: 'password' },
    ],
  });
  ctx.secrets.add({
    namespace: ns.monitoring.name,
    name: GRAFANA_OAUTH_SECRET,
    keys: [{ key: 'client-secret', copyFrom: { namespace: dexClients.namespace, name: dexClients.name, key: 'grafana' } }],
  });
  ctx.secrets.add({
    namespace: ns.monitoring.name,
    name: ALERTMANAGER_WEBHOOK_SECRET,
    keys: [{ key: 'token', copyFrom: { namespace: ns.apps.name, name: STATUS_WEBHOOK.secret.name, key: STATUS_WEBHOOK.secret.key } }],
  });
  ctx.secrets.add(alertmanagerReceiversSecret(ns.monitoring.name));

  const release = (
    order: number,
    name: string,
    chart: string,
    namespace: string,
    values: object,
    footprint: readonly Footprint[],
    timeout = '10m',
    subcharts?: Record<string, string>,
  ): HelmRelease => {
    const p = pin(chart);
    const keys = { chart, ...(subcharts ? { subcharts } : {}) };
    return {
      order,
      name,
      namespace,
      chart,
      repo: p.repository,
      version: p.version,
      keys,
      values: withoutUnchosenDefaults(values, releaseDefaultResources(keys)),
      footprint,
      waitFor: { timeout },
    };
  };

  return [
    release(
      1,
      KPS_RELEASE,
      'kube-prometheus-stack',
      ns.monitoring.name,
      kubePrometheusStackValues(h, { statusWebhookUrl: ctx.statusWebhookUrl, dexInternalUrl, domain: ctx.config.domain }),
      kubePrometheusStackFootprint(ctx.nodes),
      '15m',
      { grafana: 'grafana', 'kube-state-metrics': 'kube-state-metrics', 'prometheus-node-exporter': 'prometheus-node-exporter' },
    ),
    release(2, 'cert-manager', 'cert-manager', ns.certManager.name, certManagerValues(), certManagerFootprint),
    release(3, TRAEFIK_RELEASE, 'traefik', ns.ingress.name, traefikValues(), traefikFootprint),
    release(4, 'eck-operator', 'eck-operator', ns.elastic.name, eckOperatorValues(), eckOperatorFootprint),
    release(5, 'argo-rollouts', 'argo-rollouts', ns.rollouts.name, argoRolloutsValues(), argoRolloutsFootprint),
    release(6, 'dex', 'dex', ns.auth.name, dexValues(h), dexFootprint),
    release(7, 'oauth2-proxy', 'oauth2-proxy', ns.auth.name, oauth2ProxyValues(h, dexInternalUrl, ctx.config.domain), oauth2ProxyFootprint),
    release(8, BLACKBOX_RELEASE, 'prometheus-blackbox-exporter', ns.monitoring.name, blackboxExporterValues(), blackboxExporterFootprint),
    // After kube-prometheus-stack (its ServiceMonitor CRD); before dist/manifests/ (the backup CronJobs push to it).
    release(9, PUSHGATEWAY_RELEASE, 'prometheus-pushgateway', ns.monitoring.name, pushgatewayValues(), pushgatewayFootprint),
    release(10, METRICS_SERVER_RELEASE, 'metrics-server', ns.metricsServer.name, metricsServerValues(), metricsServerFootprint),
  ];
}

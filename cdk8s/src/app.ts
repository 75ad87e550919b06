import { App, Chart } from 'cdk8s';
import { defaultConfig, type PlatformConfig } from './config.js';
import { hostsFor, type Hosts } from './hosts.js';
import { platformReleases } from './helm/platform-releases.js';
import type { HelmRelease } from './helm/release.js';
import { backupMixin } from './data/backup.js';
import { databaseMixin } from './data/postgresql.js';
import { clusterUrl, Microservice } from './microservice/microservice.js';
import type { ServiceMixin } from './microservice/mixin.js';
import { monitoringMixin } from './microservice/monitoring.js';
import { AlertingChart } from './monitoring/chart.js';
import { alertRulesMixin } from './monitoring/mixin.js';
import { ProbesChart } from './monitoring/probes.js';
import { DashboardsChart, dashboardsMixin } from './monitoring/dashboards/configmaps.js';
import { LoggingChart } from './logging/chart.js';
import { ns } from './namespaces.js';
import { NamespacesChart } from './platform/namespaces.js';
import { UiRoutesChart } from './platform/ui-routes.js';
import { SecretRegistry, type SecretSpec } from './secrets.js';
import { services as declaredServices, status, type ServiceDecl } from './services.js';
import { issuerName, TlsChart } from './tls/ca.js';
import { GatewayChart } from './gateway/chart.js';
import { gatewayParent, HTTP_LISTENER } from './gateway/gateway.js';
import { hostRoutesIn } from './gateway/host-route.js';
import { STATUS_WEBHOOK } from './monitoring/status-webhook.js';

/** The mixins every service gets, in order; each reads what it needs from the declaration. */
export const defaultMixins = (): ServiceMixin[] => [databaseMixin(), monitoringMixin(), alertRulesMixin(), dashboardsMixin(), backupMixin()];


export interface Platform {
  readonly app: App;
  /** cdk8s Charts in apply order: each becomes dist/manifests/<NN>-<name>.yaml. */
  readonly charts: readonly { readonly file: string; readonly chart: Chart }[];
  readonly releases: readonly HelmRelease[];
  readonly secrets: readonly SecretSpec[];
  readonly hosts: Hosts;
  readonly config: PlatformConfig;
  /** The declarations it was built from (services.ts, or a test's). */
  readonly services: readonly ServiceDecl[];
}

export interface BuildOptions {
  readonly config?: PlatformConfig;
  readonly services?: readonly ServiceDecl[];
}

/** Builds the whole platform in memory (no file is written): used by main.ts, the tests and the benchmark. */
export function buildPlatform(options: BuildOptions = {}): Platform {
  const config = options.config ?? defaultConfig;
  const services = options.services ?? declaredServices;
  const hosts = hostsFor(config.domain);
  for (const name of config.externalDatabases) {
    if (!services.some((s) => s.name === name && s.database)) {
      throw new Error(`databases.external names "${name}", which is not a declared service with a database (${services.filter((s) => s.database).map((s) => s.name).join(', ')})`);
    }
  }
  const secrets = new SecretRegistry();
  const app = new App({ outdir: 'dist/manifests' });
  const charts: { file: string; chart: Chart }[] = [];
  const add = (name: string, chart: Chart) => charts.push({ file: `${String(charts.length).padStart(2, '0')}-${name}.yaml`, chart });

  add('namespaces', new NamespacesChart(app, 'namespaces', { config }));
  // A ClusterIssuer the cluster already has needs nothing of ours.
  if (config.tls.kind !== 'cluster-issuer') add('tls', new TlsChart(app, 'tls', { tls: config.tls, challengeListener: gatewayParent(HTTP_LISTENER) }));
  for (const decl of services) {
    const chart = new Chart(app, decl.name, { namespace: ns.apps.name });
    new Microservice(chart, 'Service', {
      decl,
      all: services,
      namespace: ns.apps.name,
      config,
      hosts,
      secrets,
      mixins: defaultMixins(),
    });
    add(decl.name, chart);
  }
  add('ui-routes', new UiRoutesChart(app, 'ui-routes', { hosts }));
  add('alerting', new AlertingChart(app, 'alerting', { services: services.map((s) => s.name) }));
  add('dashboards', new DashboardsChart(app, 'dashboards', { services: services.map((s) => s.name) }));
  add('probes', new ProbesChart(app, 'probes', { services, hosts }));
  add('logging', new LoggingChart(app, 'logging', { hosts, secrets, config }));
  // Last: its listeners admit the namespaces of every HostRoute declared above.
  add('gateway', new GatewayChart(app, 'gateway', { hosts, routes: hostRoutesIn(app), issuer: issuerName(config.tls) }));

  const statusDecl = services.find((s) => s.name === status.name) ?? status;
  const releases = platformReleases({
    config,
    hosts,
    secrets,
    statusWebhookUrl: `${clusterUrl(statusDecl, ns.apps.name)}${STATUS_WEBHOOK.path}`,
  });
  return { app, charts, releases, secrets: secrets.list(), hosts, config, services };
}

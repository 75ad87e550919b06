import type { SecretRegistry } from '../secrets.js';
import { releaseDefaultResources, withoutUnchosenDefaults } from './chart-defaults.js';
import { readChartPins } from './pins.js';
import type { HelmRelease, ReleaseContext, ReleaseModule } from './release.js';
import { argoRolloutsRelease } from './releases/argo-rollouts.js';
import { certManagerRelease } from './releases/cert-manager.js';
import { dexRelease } from './releases/dex.js';
import { eckOperatorRelease } from './releases/eck-operator.js';
import { kubePrometheusStackRelease } from './releases/kube-prometheus-stack.js';
import { metricsServerRelease } from './releases/metrics-server.js';
import { oauth2ProxyRelease } from './releases/oauth2-proxy.js';
import { blackboxExporterRelease } from './releases/prometheus-blackbox-exporter.js';
import { pushgatewayRelease } from './releases/prometheus-pushgateway.js';
import { traefikRelease } from './releases/traefik.js';

/**
 * The releases in install order. CRDs come before anything that uses them: kube-prometheus-stack first,
 * since the other charts create ServiceMonitors; cert-manager, Traefik, ECK and Argo Rollouts before
 * dist/manifests/ (ClusterIssuers; the GatewayClass and Middleware CRD the Gateway and routes need; Rollouts).
 * The Gateway API CRDs are not a release: the bring-up applies them before the first release (src/gateway/api.ts),
 * since cert-manager only starts its gateway-shim when they exist and Traefik's provider watches them. Dex before
 * oauth2-proxy; the blackbox exporter (the prober of the Probes in dist/manifests/) after kube-prometheus-stack
 * and Traefik, which it probes through; the Pushgateway after kube-prometheus-stack (its ServiceMonitor CRD) and
 * before dist/manifests/ (the backup CronJobs push to it); metrics-server last: it needs no other release and
 * none needs it (only the HPAs of dist/manifests/ read its API).
 */
export const PLATFORM_RELEASES: readonly ReleaseModule[] = [
  kubePrometheusStackRelease,
  certManagerRelease,
  traefikRelease,
  eckOperatorRelease,
  argoRolloutsRelease,
  dexRelease,
  oauth2ProxyRelease,
  blackboxExporterRelease,
  pushgatewayRelease,
  metricsServerRelease,
];

/**
 * The releases as the bring-up runs them: chart versions from charts/Chart.yaml, values without the chart
 * defaults we did not choose, and their Secrets added to the registry (the bring-up creates them before the
 * first release, dist/secrets.json).
 */
export function platformReleases(ctx: ReleaseContext & { readonly secrets: SecretRegistry }, modules = PLATFORM_RELEASES): HelmRelease[] {
  const pins = readChartPins();
  ctx.secrets.addAll(modules.flatMap((m) => m.secrets?.() ?? []));
  return modules.map((m, index) => {
    const pin = pins.get(m.chart);
    if (!pin) throw new Error(`charts/Chart.yaml has no pin for ${m.chart}`);
    const keys = { chart: m.chart, ...(m.subcharts ? { subcharts: m.subcharts } : {}) };
    return {
      order: index + 1,
      name: m.name,
      namespace: m.namespace,
      chart: m.chart,
      repo: pin.repository,
      version: pin.version,
      keys,
      values: withoutUnchosenDefaults(m.values(ctx), releaseDefaultResources(keys)),
      footprint: m.footprint(ctx),
      waitFor: { timeout: m.timeout ?? '10m' },
    };
  });
}

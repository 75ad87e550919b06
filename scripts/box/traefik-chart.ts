/**
 * What the traefik chart (41.3.0, templates/_podtemplate.tpl and _service.tpl) renders from our typed
 * values for the parts the box runs: Traefik's arguments and the Service in front of its pods. Written
 * for the values the platform sets, not for every chart option: a value this does not understand fails
 * loudly instead of being dropped. Compared once with `helm template traefik` of the chart at v41.3.0
 * and our values (helm v3.22.0 from its module): the same arguments in the same order, except that the
 * box binds every entry point to the pod's IP where the chart binds all addresses.
 */
import { traefikEntryPoints, type TraefikValues } from '../../cdk8s/src/helm/releases/traefik.js';

/** The container's named ports: our entry points, and the chart's internal `traefik` one (ping), which we leave at its default. */
export function traefikPorts(v: TraefikValues): Record<string, number> {
  return { metrics: v.ports.metrics.port, traefik: traefikEntryPoints.traefik.port, web: v.ports.web.port, websecure: v.ports.websecure.port };
}

export function traefikArgs(v: TraefikValues, release: string, namespace: string, podIP: string): string[] {
  const unsupported = (what: string) => new Error(`the box does not render traefik value ${what}: extend scripts/box/traefik-chart.ts`);
  if (v.providers.kubernetesIngress.enabled) throw unsupported('providers.kubernetesIngress.enabled');
  if (v.providers.kubernetesCRD.allowCrossNamespace) throw unsupported('providers.kubernetesCRD.allowCrossNamespace');
  if (v.api !== null) throw unsupported('api (the dashboard)');
  const prom = v.metrics.prometheus;
  const entryPoints = traefikPorts(v);
  return [
    `--global.checkNewVersion=${v.global.checkNewVersion}`,
    ...(v.global.sendAnonymousUsage ? ['--global.sendAnonymousUsage'] : []),
    // The chart lists entry points in name order.
    ...Object.keys(entryPoints).sort().map((name) => `--entryPoints.${name}.address=${podIP}:${entryPoints[name]}/tcp`),
    // values `api: null` drops the chart's api map: no --api flag, no API or dashboard.
    '--ping=true',
    '--metrics.prometheus=true',
    `--metrics.prometheus.entrypoint=${prom.entryPoint}`,
    ...(prom.addRoutersLabels ? ['--metrics.prometheus.addRoutersLabels=true'] : []),
    `--metrics.prometheus.addEntryPointsLabels=${prom.addEntryPointsLabels}`,
    `--metrics.prometheus.addServicesLabels=${prom.addServicesLabels}`,
    `--metrics.prometheus.buckets=${prom.buckets}`,
    ...(v.providers.kubernetesCRD.enabled ? ['--providers.kubernetescrd', '--providers.kubernetescrd.allowEmptyServices=true'] : []),
    ...(v.providers.kubernetesGateway.enabled
      ? ['--providers.kubernetesgateway', `--providers.kubernetesgateway.statusaddress.service.name=${release}`, `--providers.kubernetesgateway.statusaddress.service.namespace=${namespace}`]
      : []),
    '--entryPoints.websecure.http.tls=true',
    `--log.format=${v.log.format}`,
    `--log.level=${v.log.level}`,
    ...(v.accessLog.enabled ? ['--accesslog=true', `--accesslog.format=${v.accessLog.format}`, '--accesslog.fields.defaultmode=keep', '--accesslog.fields.headers.defaultmode=drop'] : []),
  ];
}

/** The chart's Service (type from our values; each entry point with an exposedPort). */
export function traefikService(v: TraefikValues, release: string, namespace: string, podLabels: Readonly<Record<string, string>>): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: release, namespace, labels: { ...podLabels } },
    spec: {
      type: v.service.spec.type,
      selector: { ...podLabels },
      ports: (['web', 'websecure'] as const).map((name) => ({ port: v.ports[name].exposedPort, name, targetPort: name, protocol: 'TCP' })),
    },
  };
}

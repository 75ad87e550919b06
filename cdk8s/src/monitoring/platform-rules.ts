/**
 * Platform-wide alerts on the pods of the courseops namespaces, from cAdvisor (kubelet), kube-state-metrics
 * and kubelet volume stats (all scraped by kube-prometheus-stack). Their series carry the exporter's own
 * target labels (`service="kube-prometheus-stack-kubelet"`, `job="kube-state-metrics"`...), so every
 * expression aggregates to the workload labels first, then derives `service` from the pod or PVC name
 * (pods `<service>-...`, database pods `<service>-postgresql-0`, PVCs `data-<service>-postgresql-0`):
 * routing, grouping and inhibition then treat them like the service's own alerts.
 */
import { percent, type AlertingRule, type RuleGroup } from './rules.js';

export interface PlatformThresholds {
  /** ContainerCpuNearLimit: CPU used / CPU limit over 5 minutes. */
  readonly cpuOfLimit: number;
  /** ContainerMemoryNearLimit: working set / memory limit. */
  readonly memoryOfLimit: number;
  /** PodCrashLooping: restarts within 10 minutes (or CrashLoopBackOff). */
  readonly restartsIn10m: number;
  /** PersistentVolumeFillingUp (warning): free share, combined with a linear prediction of running out within 4 days. */
  readonly volumeFreeWarning: number;
  /** PersistentVolumeFillingUp (critical): free share. */
  readonly volumeFreeCritical: number;
}

export const defaultPlatformThresholds: PlatformThresholds = {
  cpuOfLimit: 0.8,
  memoryOfLimit: 0.9,
  restartsIn10m: 2,
  volumeFreeWarning: 0.15,
  volumeFreeCritical: 0.03,
};


export interface PlatformRuleOptions {
  /** Namespaces whose pods and volumes are watched. */
  readonly namespaces: readonly string[];
  /** Service names: the `service` label is derived from pod and PVC names. */
  readonly services: readonly string[];
  readonly thresholds?: PlatformThresholds;
  readonly groupName?: string;
}

export const PLATFORM_GROUP = 'courseops-platform';

export function platformRuleGroups(options: PlatformRuleOptions): RuleGroup[] {
  const t = options.thresholds ?? defaultPlatformThresholds;
  const nsMatch = `namespace=~"${options.namespaces.join('|')}"`;
  // Longest names first, so a service named like the prefix of another never takes its pods.
  const names = [...options.services].sort((a, b) => b.length - a.length).join('|');
  const fromPod = (expr: string) => `label_replace(${expr}, "service", "$1", "pod", "(${names})-.+")`;
  // PVCs of a StatefulSet are `<claim template>-<pod>`: one optional leading segment before the service name.
  const fromClaim = (expr: string) => `label_replace(${expr}, "service", "$1", "persistentvolumeclaim", "(?:[a-z0-9]+-)?(${names})-.+")`;
  const containers = `${nsMatch}, container!="", container!="POD"`;
  const byContainer = 'namespace, pod, container';
  const byClaim = 'namespace, persistentvolumeclaim';
  const freeShare =
    `max by (${byClaim}) (kubelet_volume_stats_available_bytes{${nsMatch}})` + ` / max by (${byClaim}) (kubelet_volume_stats_capacity_bytes{${nsMatch}})`;

  const alerts: AlertingRule[] = [
    {
      alert: 'ContainerCpuNearLimit',
      expr: fromPod(
        `sum by (${byContainer}) (rate(container_cpu_usage_seconds_total{${containers}}[5m]))` +
          ` / sum by (${byContainer}) (kube_pod_container_resource_limits{${nsMatch}, resource="cpu"}) > ${t.cpuOfLimit}`,
      ),
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its CPU limit',
        description: `Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has used {{ $value | humanizePercentage }} of its CPU limit for 5 minutes (threshold ${percent(t.cpuOfLimit)}): at the limit it is throttled.`,
      },
    },
    {
      alert: 'ContainerMemoryNearLimit',
      expr: fromPod(
        `max by (${byContainer}) (container_memory_working_set_bytes{${containers}})` +
          ` / max by (${byContainer}) (kube_pod_container_resource_limits{${nsMatch}, resource="memory"}) > ${t.memoryOfLimit}`,
      ),
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its memory limit',
        description: `Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has had a working set of {{ $value | humanizePercentage }} of its memory limit for 5 minutes (threshold ${percent(t.memoryOfLimit)}): it is close to being OOM-killed.`,
      },
    },
    {
      alert: 'PodCrashLooping',
      expr: fromPod(
        `max by (${byContainer}) (increase(kube_pod_container_status_restarts_total{${nsMatch}}[10m])) > ${t.restartsIn10m}` +
          ` or max by (${byContainer}) (max_over_time(kube_pod_container_status_waiting_reason{${nsMatch}, reason="CrashLoopBackOff"}[5m])) == 1`,
      ),
      for: '1m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Pod {{ $labels.pod }} is crash looping',
        description: `Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} is in CrashLoopBackOff or restarted more than ${t.restartsIn10m} times in 10 minutes.`,
      },
    },
    {
      alert: 'PersistentVolumeFillingUp',
      expr: fromClaim(
        `(${freeShare}) < ${t.volumeFreeWarning}` +
          ` and max by (${byClaim}) (predict_linear(kubelet_volume_stats_available_bytes{${nsMatch}}[6h], 4 * 24 * 3600)) < 0`,
      ),
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Volume {{ $labels.persistentvolumeclaim }} will be full within 4 days',
        description: `PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free and, at the rate of the last 6 hours, fills up within 4 days.`,
      },
    },
    {
      alert: 'PersistentVolumeFillingUp',
      expr: fromClaim(`(${freeShare}) < ${t.volumeFreeCritical}`),
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Volume {{ $labels.persistentvolumeclaim }} is almost full',
        description: `PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has only {{ $value | humanizePercentage }} free (threshold ${percent(t.volumeFreeCritical)}): writes fail when it is full.`,
      },
    },
  ];
  return [{ name: options.groupName ?? PLATFORM_GROUP, rules: alerts }];
}

/**
 * Dashboards shipped to Grafana: one ConfigMap per dashboard labelled `grafana_dashboard: "1"` (the
 * kube-prometheus-stack Grafana sidecar watches every namespace: helm/releases/kube-prometheus-stack.ts),
 * holding `<uid>.json`. Per-service RED dashboards come with each service (`dashboardsMixin`, in the
 * service's namespace and manifest file); the platform-wide ones with `DashboardsChart` (monitoring
 * namespace). Synth also writes each JSON to `grafana/dashboards/<uid>.json` (`dashboardFiles`), from the
 * ConfigMaps themselves.
 */
import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { hasExternalDatabase } from '../../config.js';
import * as k8s from '../../k8s.js';
import { appLabels } from '../../labels.js';
import type { ServiceMixin } from '../../microservice/mixin.js';
import { ns } from '../../namespaces.js';
import { platformDashboards } from './platform.js';
import { serviceDashboard } from './service.js';

export const DASHBOARD_LABEL = 'grafana_dashboard';
export const DASHBOARD_LABEL_VALUE = '1';
export const DASHBOARDS_DIR = 'grafana/dashboards';
export const DASHBOARDS_MIXIN = 'dashboards';

export const dashboardJson = (d: Dashboard) => JSON.stringify(d, null, 2) + '\n';

export function dashboardConfigMap(scope: Construct, id: string, d: Dashboard, props: { namespace: string; labels: Record<string, string> }): k8s.KubeConfigMap {
  if (!d.uid) throw new Error(`dashboard ${d.title} has no uid`);
  return new k8s.KubeConfigMap(scope, id, {
    metadata: {
      name: `dashboard-${d.uid}`,
      namespace: props.namespace,
      labels: { ...props.labels, [DASHBOARD_LABEL]: DASHBOARD_LABEL_VALUE },
    },
    data: { [`${d.uid}.json`]: dashboardJson(d) },
  });
}

/** The service's RED dashboard (in `defaultMixins()`). */
export const dashboardsMixin = (): ServiceMixin => ({
  name: DASHBOARDS_MIXIN,
  apply(ctx) {
    dashboardConfigMap(ctx.scope, 'Dashboard', serviceDashboard(ctx.decl, ctx.namespace, { externalDatabase: hasExternalDatabase(ctx) }), {
      namespace: ctx.namespace,
      labels: appLabels({ name: ctx.decl.name, instance: ctx.decl.name, component: 'monitoring' }),
    });
  },
});

export interface DashboardsChartProps {
  readonly services: readonly string[];
  /** Namespace of the services (default ns.apps). */
  readonly namespace?: string;
}

/** The platform-wide dashboards, in the monitoring namespace. */
export class DashboardsChart extends Chart {
  constructor(scope: Construct, id: string, props: DashboardsChartProps) {
    super(scope, id, { namespace: ns.monitoring.name });
    const labels = appLabels({ name: 'courseops-dashboards', instance: 'courseops-dashboards', component: 'monitoring' });
    for (const d of platformDashboards({ namespace: props.namespace ?? ns.apps.name, services: props.services })) {
      dashboardConfigMap(this, d.uid!, d, { namespace: ns.monitoring.name, labels });
    }
  }
}

/** `grafana/dashboards/<uid>.json` for every dashboard ConfigMap among the synthesized objects. */
export function dashboardFiles(objects: readonly Record<string, unknown>[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const o of objects) {
    const meta = o.metadata as { labels?: Record<string, string> } | undefined;
    if (o.kind !== 'ConfigMap' || meta?.labels?.[DASHBOARD_LABEL] !== DASHBOARD_LABEL_VALUE) continue;
    for (const [key, content] of Object.entries((o.data as Record<string, string> | undefined) ?? {})) {
      const file = `${DASHBOARDS_DIR}/${key}`;
      if (files.has(file)) throw new Error(`dashboard ${key} is declared twice (uids must be unique)`);
      files.set(file, content);
    }
  }
  return files;
}

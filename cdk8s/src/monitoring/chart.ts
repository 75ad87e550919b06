import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { appLabels } from '../labels.js';
import { ns } from '../namespaces.js';
import { discordAlertmanagerConfig } from './alertmanager.js';
import { PLATFORM_GROUP, platformRuleGroups, type PlatformThresholds } from './platform-rules.js';
import { rulesObject } from './rules.js';

export interface AlertingChartProps {
  /** Service names (the `service` label of platform alerts is derived from pod and PVC names). */
  readonly services: readonly string[];
  /** Namespaces whose pods and volumes the platform alerts watch (default: the services' namespace). */
  readonly namespaces?: readonly string[];
  readonly thresholds?: PlatformThresholds;
}

/**
 * Platform-wide alerting objects, in the monitoring namespace: the PrometheusRule of the cluster-level
 * alerts (CPU and memory against limits, crash loops, volumes filling up), and the AlertmanagerConfig that
 * routes critical alerts to Discord (alertmanager.ts explains why Discord is not in alertmanager.yaml).
 *
 * Alertmanager's egress comes from the monitoring namespace profile (networking/profiles.ts): webhooks to
 * every namespace, and 443 to any address (Slack, Discord); SMTP submission (587) for email is not in it yet.
 */
export class AlertingChart extends Chart {
  constructor(scope: Construct, id: string, props: AlertingChartProps) {
    super(scope, id, { namespace: ns.monitoring.name });
    const labels = appLabels({ name: 'courseops-alerting', instance: 'courseops-alerting', component: 'monitoring' });
    rulesObject(this, 'PlatformRules', {
      name: PLATFORM_GROUP,
      namespace: ns.monitoring.name,
      labels,
      groups: platformRuleGroups({
        namespaces: props.namespaces ?? [ns.apps.name],
        services: props.services,
        ...(props.thresholds ? { thresholds: props.thresholds } : {}),
      }),
    });
    discordAlertmanagerConfig(this, 'DiscordRoute', ns.monitoring.name, labels);
  }
}

import { Construct } from 'constructs';
import { ServiceMonitor, ServiceMonitorSpecEndpointsRelabelingsAction } from '../../imports/servicemonitor-monitoring.coreos.com.js';
import { appLabels } from '../labels.js';
import type { ServiceMixin } from './mixin.js';

/** Label added to Prometheus targets from the pod: tells canary from stable pods (set by the Rollout controller). */
export const ROLLOUT_HASH_LABEL = 'rollouts-pod-template-hash';

export interface ScrapeProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of the Service(s) to scrape. */
  readonly serviceSelector: Readonly<Record<string, string>>;
  /** Named Service port serving /metrics. */
  readonly port: string;
  readonly jobName: string;
  readonly podTargetLabels?: readonly string[];
  readonly interval?: string;
}

/**
 * A ServiceMonitor on a named Service port. `job` and `service` are set to the app name (not the
 * Service name), so queries, dashboards and alerts say `job="course"`.
 */
export class Scrape extends Construct {
  readonly monitor: ServiceMonitor;

  constructor(scope: Construct, id: string, props: ScrapeProps) {
    super(scope, id);
    this.monitor = new ServiceMonitor(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: { ...props.labels } },
      spec: {
        selector: { matchLabels: { ...props.serviceSelector } },
        namespaceSelector: { matchNames: [props.namespace] },
        ...(props.podTargetLabels ? { podTargetLabels: [...props.podTargetLabels] } : {}),
        endpoints: [
          {
            port: props.port,
            path: '/metrics',
            interval: props.interval ?? '15s',
            scrapeTimeout: '10s',
            relabelings: [
              { action: ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE, targetLabel: 'job', replacement: props.jobName },
              { action: ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE, targetLabel: 'service', replacement: props.jobName },
            ],
          },
        ],
      },
    });
  }
}

/** The service's ServiceMonitor: every pod (stable and canary) through the headless metrics Service. */
export const monitoringMixin = (): ServiceMixin => ({
  name: 'monitoring',
  apply(ctx) {
    new Scrape(ctx.scope, 'ServiceMonitor', {
      name: ctx.decl.name,
      namespace: ctx.namespace,
      labels: appLabels({ name: ctx.decl.name, instance: ctx.decl.name, component: 'api' }),
      serviceSelector: { ...ctx.selector, 'courseops.dev/scrape': 'true' },
      port: ctx.names.port,
      jobName: ctx.decl.name,
      podTargetLabels: [ROLLOUT_HASH_LABEL],
    });
  },
});

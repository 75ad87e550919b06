import { Construct } from 'constructs';
import { ServiceMonitor, ServiceMonitorSpecEndpointsRelabelingsAction } from '../../imports/servicemonitor-monitoring.coreos.com.js';
import * as k8s from '../k8s.js';
import { TRAEFIK_METRICS_PORT, TRAEFIK_NAMESPACE, traefikPodLabels } from '../helm/releases/traefik.js';

export const TRAEFIK_METRICS_SERVICE = 'traefik-metrics';
export const TRAEFIK_METRICS_PORT_NAME = 'metrics';
export const TRAEFIK_SCRAPE_JOB = 'traefik';

/**
 * Prometheus scrapes Traefik through our own headless Service and ServiceMonitor rather than the chart's
 * (metrics.prometheus.serviceMonitor stays off), because the scrape must keep Traefik's labels:
 * `honorLabels: true`. Traefik's per-backend series carry their own `service` label (the backend, e.g.
 * `courseops-course-canary-3001@kubernetesgateway`); without honorLabels Prometheus would overwrite it with
 * the target's `service` (this Service's name) and rename Traefik's to `exported_service`, the very trap
 * that emptied the ingress-nginx canary query (its namespace arrived as `exported_namespace`).
 */
export class TraefikMetrics extends Construct {
  constructor(scope: Construct, id: string, props: { labels: Readonly<Record<string, string>> }) {
    super(scope, id);
    const labels = { ...props.labels, 'courseops.dev/scrape': 'true' };
    new k8s.KubeService(this, 'Service', {
      metadata: { name: TRAEFIK_METRICS_SERVICE, namespace: TRAEFIK_NAMESPACE, labels },
      spec: {
        clusterIp: 'None',
        selector: { ...traefikPodLabels },
        ports: [{ name: TRAEFIK_METRICS_PORT_NAME, port: TRAEFIK_METRICS_PORT, targetPort: k8s.IntOrString.fromNumber(TRAEFIK_METRICS_PORT), protocol: 'TCP' }],
      },
    });
    new ServiceMonitor(this, 'ServiceMonitor', {
      metadata: { name: TRAEFIK_SCRAPE_JOB, namespace: TRAEFIK_NAMESPACE, labels: { ...props.labels } },
      spec: {
        selector: { matchLabels: labels },
        namespaceSelector: { matchNames: [TRAEFIK_NAMESPACE] },
        endpoints: [
          {
            port: TRAEFIK_METRICS_PORT_NAME,
            path: '/metrics',
            interval: '15s',
            scrapeTimeout: '10s',
            honorLabels: true,
            relabelings: [{ action: ServiceMonitorSpecEndpointsRelabelingsAction.REPLACE, targetLabel: 'job', replacement: TRAEFIK_SCRAPE_JOB }],
          },
        ],
      },
    });
  }
}

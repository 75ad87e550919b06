import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import type { Hosts } from '../hosts.js';
import { MANAGED_BY, PART_OF } from '../labels.js';
import { ns } from '../namespaces.js';
import { rolloutsDashboard } from '../helm/values/argo-rollouts.js';
import { dexService } from '../helm/values/dex.js';
import { kpsServices } from '../helm/values/kube-prometheus-stack.js';
import { oauth2ProxyService } from '../helm/values/oauth2-proxy.js';
import { TlsIngress } from '../tls/ingress.js';

const labels = (component: string) => ({
  'app.kubernetes.io/name': component,
  'app.kubernetes.io/component': 'ingress',
  'app.kubernetes.io/part-of': PART_OF,
  'app.kubernetes.io/managed-by': MANAGED_BY,
});

/** In-cluster URL of oauth2-proxy's auth endpoint, called by ingress-nginx for every protected request. */
export const oauth2AuthUrl = () => `http://${oauth2ProxyService.name}.${ns.auth.name}.svc.cluster.local:${oauth2ProxyService.port}/oauth2/auth`;

/** ingress-nginx annotations that put a UI behind oauth2-proxy (login through Dex). */
export const oauth2Annotations = (): Record<string, string> => ({
  'nginx.ingress.kubernetes.io/auth-url': oauth2AuthUrl(),
  'nginx.ingress.kubernetes.io/auth-signin': 'https://$host/oauth2/start?rd=$escaped_request_uri',
  'nginx.ingress.kubernetes.io/auth-response-headers': 'X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups',
});

/**
 * Ingresses of the operator UIs, declared here rather than in each chart's values so that every Ingress
 * of the platform has the same TLS (cert-manager, platform CA) and can be checked in dist/.
 * Prometheus, Alertmanager and Argo Rollouts sit behind oauth2-proxy; Grafana logs in through Dex
 * itself; Dex is public (it is the login page). Each protected host also routes /oauth2 to
 * oauth2-proxy (an Ingress in the auth namespace, where the Service is).
 * Kibana's Ingress is in the logging stack (src/logging/kibana.ts): Kibana logs people in itself.
 */
export class UiIngressesChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps & { hosts: Hosts }) {
    super(scope, id, props);
    const h = props.hosts;
    const protectedUis = [
      { key: 'prometheus', host: h.prometheus, namespace: ns.monitoring.name, service: kpsServices.prometheus },
      { key: 'alertmanager', host: h.alertmanager, namespace: ns.monitoring.name, service: kpsServices.alertmanager },
      { key: 'rollouts', host: h.rollouts, namespace: ns.rollouts.name, service: rolloutsDashboard },
    ] as const;
    for (const ui of protectedUis) {
      new TlsIngress(this, ui.key, {
        name: ui.key,
        namespace: ui.namespace,
        host: ui.host,
        tlsSecretName: `${ui.key}-tls`,
        labels: labels(ui.key),
        annotations: oauth2Annotations(),
        paths: [{ path: '/', service: ui.service.name, port: ui.service.port }],
      });
      new TlsIngress(this, `${ui.key}-oauth2`, {
        name: `oauth2-${ui.key}`,
        namespace: ns.auth.name,
        host: ui.host,
        tlsSecretName: `oauth2-${ui.key}-tls`,
        labels: labels('oauth2-proxy'),
        paths: [{ path: '/oauth2', service: oauth2ProxyService.name, port: oauth2ProxyService.port }],
      });
    }
    new TlsIngress(this, 'grafana', {
      name: 'grafana',
      namespace: ns.monitoring.name,
      host: h.grafana,
      tlsSecretName: 'grafana-tls',
      labels: labels('grafana'),
      paths: [{ path: '/', service: kpsServices.grafana.name, port: kpsServices.grafana.port }],
    });
    new TlsIngress(this, 'dex', {
      name: 'dex',
      namespace: ns.auth.name,
      host: h.dex,
      tlsSecretName: 'dex-tls',
      labels: labels('dex'),
      paths: [{ path: '/', service: dexService.name, port: dexService.port }],
    });
  }
}

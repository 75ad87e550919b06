import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import type { Hosts } from '../hosts.js';
import { appLabels } from '../labels.js';
import { TRAEFIK_NAMESPACE } from '../helm/releases/traefik.js';
import { CourseopsGateway } from './gateway.js';
import { routeNamespacesByHost, type HostRoute } from './host-route.js';
import { TraefikMetrics } from './metrics.js';
import { HttpsRedirectRoute } from './redirect.js';

export interface GatewayChartProps extends ChartProps {
  readonly hosts: Hosts;
  /** Every HostRoute of the app (hostRoutesIn(app)): each listener admits exactly their namespaces. */
  readonly routes: readonly HostRoute[];
  /** The ClusterIssuer of the listeners' certificates (tls/ca.ts issuerName). */
  readonly issuer: string;
}

/** The Gateway, the HTTP->HTTPS redirect and Traefik's scrape, in Traefik's namespace. */
export class GatewayChart extends Chart {
  constructor(scope: Construct, id: string, props: GatewayChartProps) {
    super(scope, id, { ...props, namespace: TRAEFIK_NAMESPACE });
    const labels = appLabels({ name: 'courseops-gateway', instance: 'courseops-gateway', component: 'gateway' });
    new CourseopsGateway(this, 'Gateway', { hosts: props.hosts, routeNamespaces: routeNamespacesByHost(props.routes), labels, issuer: props.issuer });
    new HttpsRedirectRoute(this, 'HttpsRedirect', { labels });
    new TraefikMetrics(this, 'Metrics', { labels: appLabels({ name: 'courseops-gateway', instance: 'traefik-metrics', component: 'metrics' }) });
  }
}

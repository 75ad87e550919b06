import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { ForwardAuthMiddleware, forwardAuthFilter, forwardAuthMiddlewareName } from '../gateway/forward-auth.js';
import { HostRoute } from '../gateway/host-route.js';
import type { HostKey, Hosts } from '../hosts.js';
import { MANAGED_BY, PART_OF } from '../labels.js';
import { ns } from '../namespaces.js';
import { rolloutsDashboard } from '../helm/releases/argo-rollouts.js';
import { dexService, groups } from '../helm/releases/dex.js';
import { kpsServices } from '../helm/releases/kube-prometheus-stack.js';
import { oauth2ProxyService } from '../helm/releases/oauth2-proxy.js';

const labels = (component: string) => ({
  'app.kubernetes.io/name': component,
  'app.kubernetes.io/component': 'route',
  'app.kubernetes.io/part-of': PART_OF,
  'app.kubernetes.io/managed-by': MANAGED_BY,
});

/**
 * The UIs behind oauth2-proxy: host, the route's namespace, the Service it serves, and the groups let in
 * (each route's ForwardAuth Middleware asks oauth2-proxy for exactly these). Alertmanager and the Argo
 * Rollouts dashboard change things (silences; promote, abort, retry), so only admins get in; Prometheus is
 * read-only, so viewers too.
 */
export const protectedUis = (h: Hosts) =>
  [
    { key: 'prometheus', host: h.prometheus, namespace: ns.monitoring.name, service: kpsServices.prometheus, allowedGroups: [groups.admins, groups.viewers] },
    { key: 'alertmanager', host: h.alertmanager, namespace: ns.monitoring.name, service: kpsServices.alertmanager, allowedGroups: [groups.admins] },
    { key: 'rollouts', host: h.rollouts, namespace: ns.rollouts.name, service: rolloutsDashboard, allowedGroups: [groups.admins] },
  ] as const satisfies readonly { key: HostKey; host: string; namespace: string; service: { name: string; port: number }; allowedGroups: readonly string[] }[];

/** Every group some protected UI lets in: what oauth2-proxy's own `allowed_groups` must be (values/oauth2-proxy.ts). */
export const protectedUiGroups = (h: Hosts): string[] => [...new Set(protectedUis(h).flatMap((u) => u.allowedGroups))].sort();

/**
 * HTTPRoutes of the operator UIs, declared here rather than in each chart's values so that every route of
 * the platform attaches to the one Gateway (TLS from cert-manager, platform CA) and can be checked in dist/.
 * Prometheus, Alertmanager and Argo Rollouts sit behind oauth2-proxy: their routes run the ForwardAuth
 * Middleware of their own namespace for their groups (one per namespace and group set), and each of their
 * hosts routes /oauth2 (sign-in, callback) to oauth2-proxy with a route in the auth namespace, where its
 * Service is (no ReferenceGrant needed). Grafana logs in through Dex itself; Dex is public (it is the login
 * page). Kibana's route is in the logging stack (src/logging/kibana.ts): Kibana logs people in itself.
 */
export class UiRoutesChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps & { hosts: Hosts }) {
    super(scope, id, props);
    const h = props.hosts;
    const uis = protectedUis(h);
    const policies = new Map(uis.map((u) => [`${u.namespace}/${forwardAuthMiddlewareName(u.allowedGroups)}`, u]));
    for (const [id, { namespace, allowedGroups }] of policies) {
      new ForwardAuthMiddleware(this, `forward-auth-${id.replace('/', '-')}`, { namespace, allowedGroups, labels: labels('oauth2-proxy') });
    }
    for (const ui of uis) {
      new HostRoute(this, ui.key, {
        name: ui.key,
        namespace: ui.namespace,
        hostKey: ui.key,
        host: ui.host,
        labels: labels(ui.key),
        rules: [{ path: '/', backends: [{ name: ui.service.name, port: ui.service.port }], filters: [forwardAuthFilter(ui.allowedGroups)] }],
      });
      new HostRoute(this, `${ui.key}-oauth2`, {
        name: `oauth2-${ui.key}`,
        namespace: ns.auth.name,
        hostKey: ui.key,
        host: ui.host,
        labels: labels('oauth2-proxy'),
        rules: [{ path: '/oauth2', backends: [{ name: oauth2ProxyService.name, port: oauth2ProxyService.port }] }],
      });
    }
    new HostRoute(this, 'grafana', {
      name: 'grafana',
      namespace: ns.monitoring.name,
      hostKey: 'grafana',
      host: h.grafana,
      labels: labels('grafana'),
      rules: [{ path: '/', backends: [{ name: kpsServices.grafana.name, port: kpsServices.grafana.port }] }],
    });
    new HostRoute(this, 'dex', {
      name: 'dex',
      namespace: ns.auth.name,
      hostKey: 'dex',
      host: h.dex,
      labels: labels('dex'),
      rules: [{ path: '/', backends: [{ name: dexService.name, port: dexService.port }] }],
    });
  }
}

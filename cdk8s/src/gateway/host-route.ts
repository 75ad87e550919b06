import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { HostKey } from '../hosts.js';
import { GATEWAY_API_VERSION, type BackendRef, type HTTPRouteSpec, type RouteFilter } from './api.js';
import { gatewayParent, httpsListener } from './gateway.js';

export interface HostRouteRule {
  /** Path prefix the rule matches. */
  readonly path: string;
  /** Backends in the route's namespace, never weighted (a plugin may own the weights). */
  readonly backends: readonly BackendRef[];
  readonly filters?: readonly RouteFilter[];
}

export interface HostRouteProps {
  readonly name: string;
  readonly namespace: string;
  /** The host (hosts.ts key): the route attaches to that host's HTTPS listener only. */
  readonly hostKey: HostKey;
  readonly host: string;
  readonly rules: readonly HostRouteRule[];
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * An HTTPRoute serving one public host: attached by sectionName to the host's HTTPS listener of the
 * courseops Gateway, matching the host name, with path-prefix rules to Services of its own namespace.
 * The Gateway admits it because its namespace is listed for that listener (GatewayChart collects them
 * from every HostRoute of the app).
 */
export class HostRoute extends Construct {
  readonly hostKey: HostKey;
  readonly namespace: string;
  readonly route: ApiObject;

  constructor(scope: Construct, id: string, props: HostRouteProps) {
    super(scope, id);
    this.hostKey = props.hostKey;
    this.namespace = props.namespace;
    const spec: HTTPRouteSpec = {
      parentRefs: [gatewayParent(httpsListener(props.hostKey))],
      hostnames: [props.host],
      rules: props.rules.map((r) => ({
        matches: [{ path: { type: 'PathPrefix', value: r.path } }],
        ...(r.filters?.length ? { filters: [...r.filters] } : {}),
        backendRefs: r.backends.map((b) => ({ name: b.name, port: b.port })),
      })),
    };
    this.route = new ApiObject(this, 'Resource', {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'HTTPRoute',
      metadata: { name: props.name, namespace: props.namespace, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec,
    });
  }
}

/** Every HostRoute under a construct (the whole app): the Gateway's listeners admit their namespaces. */
export function hostRoutesIn(scope: Construct): HostRoute[] {
  return scope.node.findAll().filter((c): c is HostRoute => c instanceof HostRoute);
}

/** host -> namespaces of the routes serving it. */
export function routeNamespacesByHost(routes: readonly HostRoute[]): Map<HostKey, string[]> {
  const out = new Map<HostKey, string[]>();
  for (const r of routes) {
    const list = out.get(r.hostKey) ?? [];
    if (!list.includes(r.namespace)) list.push(r.namespace);
    out.set(r.hostKey, list);
  }
  return out;
}

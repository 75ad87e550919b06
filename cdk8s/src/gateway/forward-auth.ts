import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { oauth2ProxyService } from '../helm/releases/oauth2-proxy.js';
import { ns } from '../namespaces.js';
import { TRAEFIK_API_VERSION, TRAEFIK_GROUP, type RouteFilter } from './api.js';
import { serviceUrl } from '../cluster-dns.js';

/**
 * The ForwardAuth Middleware of one access policy (the groups a UI lets in), the same name in every
 * namespace that has a UI with that policy: `oauth2-proxy-<groups, sorted, joined by ->`.
 */
export const forwardAuthMiddlewareName = (allowedGroups: readonly string[]) => {
  if (allowedGroups.length === 0) throw new Error('a protected UI must let in at least one group');
  return `oauth2-proxy-${[...allowedGroups].sort().join('-')}`;
};

/**
 * oauth2-proxy's root, in the cluster, with the groups the UI lets in: the "static upstream" variant of
 * oauth2-proxy's Traefik integration (docs/configuration/integrations/traefik.md at v7.15.3). With
 * `upstreams = static://202` and `reverse_proxy = true` (values/oauth2-proxy.ts) its root handler answers
 * 202 for a valid session and, for a browser without one, the redirect to sign-in, which Traefik hands back
 * to the client as is (its /oauth2/auth endpoint would only answer 401). At v7.15.3 that root handler
 * (oauthproxy.go, Proxy) also runs authOnlyAuthorize on the request it receives: a session whose groups
 * miss every group of the `allowed_groups` query parameter gets a 403. That query is the address's own:
 * Traefik sends the address as written, and the client's URL reaches oauth2-proxy only as X-Forwarded-Uri,
 * so no client can widen it. oauth2-proxy's own `allowed_groups` (every group of any UI) still applies first.
 */
export const oauth2ForwardAuthAddress = (allowedGroups: readonly string[]) =>
  `${serviceUrl(oauth2ProxyService.name, ns.auth.name, oauth2ProxyService.port)}/?allowed_groups=${[...allowedGroups].sort().join(',')}`;

/**
 * Every identity header oauth2-proxy v7.15.3 can set with `set_xauthrequest` (User, Email,
 * Preferred-Username, Groups; Access-Token with `pass_access_token`), from pkg/apis/options/legacy_options.go.
 * Traefik deletes each listed header from the client's request before copying oauth2-proxy's answer
 * (pkg/middlewares/auth/forward.go), so a client cannot send its own X-Auth-Request-User to the UI.
 */
export const AUTH_RESPONSE_HEADERS = [
  'X-Auth-Request-User',
  'X-Auth-Request-Email',
  'X-Auth-Request-Preferred-Username',
  'X-Auth-Request-Groups',
  'X-Auth-Request-Access-Token',
] as const;

export interface ForwardAuthSpec {
  readonly forwardAuth: {
    readonly address: string;
    readonly trustForwardHeader: boolean;
    readonly authResponseHeaders: readonly string[];
  };
}

/** The HTTPRoute filter that runs the namespace's ForwardAuth Middleware of these groups (Traefik's ExtensionRef). */
export const forwardAuthFilter = (allowedGroups: readonly string[]): RouteFilter => ({
  type: 'ExtensionRef',
  extensionRef: { group: TRAEFIK_GROUP, kind: 'Middleware', name: forwardAuthMiddlewareName(allowedGroups) },
});

/**
 * Traefik ForwardAuth Middleware to oauth2-proxy for one access policy, in the namespace of the routes that
 * use it: Traefik's CRD provider (allowCrossNamespace false) resolves a route's ExtensionRef only in the
 * route's own namespace.
 *
 * `trustForwardHeader: false`: Traefik is the edge, nothing in front of it is trusted, so it drops the
 * client's X-Forwarded-* headers and sends oauth2-proxy its own (Host, Proto https, Uri, Method), from which
 * oauth2-proxy builds the sign-in redirect and the return URL. Left unset, Traefik v3.7 forwards some
 * client X-Forwarded headers untouched and warns about it.
 */
export class ForwardAuthMiddleware extends Construct {
  constructor(scope: Construct, id: string, props: { namespace: string; allowedGroups: readonly string[]; labels?: Readonly<Record<string, string>> }) {
    super(scope, id);
    const spec: ForwardAuthSpec = {
      forwardAuth: { address: oauth2ForwardAuthAddress(props.allowedGroups), trustForwardHeader: false, authResponseHeaders: [...AUTH_RESPONSE_HEADERS] },
    };
    new ApiObject(this, 'Resource', {
      apiVersion: TRAEFIK_API_VERSION,
      kind: 'Middleware',
      metadata: { name: forwardAuthMiddlewareName(props.allowedGroups), namespace: props.namespace, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec,
    });
  }
}

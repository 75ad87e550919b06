import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { oauth2ProxyService } from '../helm/values/oauth2-proxy.js';
import { ns } from '../namespaces.js';
import { TRAEFIK_API_VERSION, TRAEFIK_GROUP, type RouteFilter } from './api.js';

/** Name of the ForwardAuth Middleware, the same in every namespace that has protected routes. */
export const OAUTH2_FORWARD_AUTH_MIDDLEWARE = 'oauth2-proxy-auth';

/**
 * oauth2-proxy's root, in the cluster: the "static upstream" variant of oauth2-proxy's Traefik integration
 * (docs/configuration/integrations/traefik.md at v7.15.3). With `upstreams = static://202` and
 * `reverse_proxy = true` (values/oauth2-proxy.ts) it answers 202 for a valid session and, for a browser
 * without one, the redirect to sign-in, which Traefik hands back to the client as is. Its /oauth2/auth
 * endpoint would only answer 401.
 */
export const oauth2ForwardAuthAddress = () => `http://${oauth2ProxyService.name}.${ns.auth.name}.svc.cluster.local:${oauth2ProxyService.port}/`;

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

/** The HTTPRoute filter that runs the namespace's ForwardAuth Middleware (Traefik's ExtensionRef). */
export const forwardAuthFilter = (): RouteFilter => ({
  type: 'ExtensionRef',
  extensionRef: { group: TRAEFIK_GROUP, kind: 'Middleware', name: OAUTH2_FORWARD_AUTH_MIDDLEWARE },
});

/**
 * Traefik ForwardAuth Middleware to oauth2-proxy, in the namespace of the routes that use it: Traefik's CRD
 * provider (allowCrossNamespace false) resolves a route's ExtensionRef only in the route's own namespace.
 *
 * `trustForwardHeader: false`: Traefik is the edge, nothing in front of it is trusted, so it drops the
 * client's X-Forwarded-* headers and sends oauth2-proxy its own (Host, Proto https, Uri, Method), from which
 * oauth2-proxy builds the sign-in redirect and the return URL. Left unset, Traefik v3.7 forwards some
 * client X-Forwarded headers untouched and warns about it.
 */
export class ForwardAuthMiddleware extends Construct {
  constructor(scope: Construct, id: string, props: { namespace: string; labels?: Readonly<Record<string, string>> }) {
    super(scope, id);
    const spec: ForwardAuthSpec = {
      forwardAuth: { address: oauth2ForwardAuthAddress(), trustForwardHeader: false, authResponseHeaders: [...AUTH_RESPONSE_HEADERS] },
    };
    new ApiObject(this, 'Resource', {
      apiVersion: TRAEFIK_API_VERSION,
      kind: 'Middleware',
      metadata: { name: OAUTH2_FORWARD_AUTH_MIDDLEWARE, namespace: props.namespace, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec,
    });
  }
}

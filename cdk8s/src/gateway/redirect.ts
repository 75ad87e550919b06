import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { GATEWAY_API_VERSION, type HTTPRouteSpec } from './api.js';
import { GATEWAY_NAMESPACE, HTTP_LISTENER, gatewayParent } from './gateway.js';

export const HTTPS_REDIRECT_ROUTE = 'https-redirect';

/**
 * Every plain-HTTP request, whatever its host, is answered 301 to the same URL over https. No port is
 * given: the Gateway API derives it from the scheme (443), not from the listener's entry point (8000).
 */
export class HttpsRedirectRoute extends Construct {
  constructor(scope: Construct, id: string, props: { labels?: Readonly<Record<string, string>> } = {}) {
    super(scope, id);
    const spec: HTTPRouteSpec = {
      parentRefs: [gatewayParent(HTTP_LISTENER)],
      rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
    };
    new ApiObject(this, 'Resource', {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'HTTPRoute',
      metadata: { name: HTTPS_REDIRECT_ROUTE, namespace: GATEWAY_NAMESPACE, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec,
    });
  }
}

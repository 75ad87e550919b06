/**
 * Traefik's per-backend request counter, as the canary analysis reads it: the requests the gateway sent to
 * one Kubernetes Service named in an HTTPRoute's backendRefs, answered or not (a 502/504 of an unreachable
 * canary counts here, and never in the service's own metrics).
 *
 * Label facts, Traefik v3.7.11 (module github.com/traefik/traefik/v3), with `addServicesLabels` on:
 * - pkg/observability/metrics/prometheus.go: `traefik_service_requests_total` has the labels code, method,
 *   protocol, service (no namespace, no router).
 * - pkg/server/service/service.go (getLoadBalancerServiceHandler): the counter wraps each server of a
 *   load-balancer service only, labelled with its qualified name; the weighted-round-robin parent an
 *   HTTPRoute rule with several backendRefs becomes (`<router>-wrr`) has no series of its own.
 * - pkg/provider/kubernetes/gateway/httproute.go (loadService): a backendRef to a core Service becomes the
 *   service `<router>-svc-<backend namespace>-<Service name>-<backendRef index>`, where <router> is
 *   makeRouterName (kubernetes.go): `httproute-<route ns>-<route>-gw-<gateway ns>-<gateway>-ep-<entry point>-<rule
 *   index>-<10-byte sha256 hex>`, one per listener and rule; the index is the backendRef's position, not a port.
 * - pkg/server/provider/provider.go (MakeQualifiedName) appends `@<provider>`, here `@kubernetesgateway`
 *   (gateway.ProviderName).
 * So the canary Service's series are exactly those whose `service` ends in
 * `-svc-<namespace>-<canary Service>-<digits>@kubernetesgateway`: the stable Service (`<name>`, without
 * `-canary`) never matches, since its name is followed directly by the index digits.
 */

/** Traefik's Kubernetes Gateway API provider name, the suffix of every service it builds. */
export const TRAEFIK_GATEWAY_PROVIDER = 'kubernetesgateway';

/**
 * RE2 pattern (Prometheus anchors it at both ends) of Traefik's `service` label for every backendRef to the
 * Service `service` of `namespace`, in any HTTPRoute, listener and rule. Namespace and Service names are
 * DNS labels ([a-z0-9-]), so they need no escaping; Rollout arguments ({{args.x}}) pass through as they are.
 */
export function traefikBackendPattern(namespace: string, service: string): string {
  return `.+-svc-${namespace}-${service}-[0-9]+@${TRAEFIK_GATEWAY_PROVIDER}`;
}

/**
 * The request counter of one Service's backends. The app namespace is matched inside the `service` label,
 * never as `namespace=`: Traefik emits no namespace label, so the scrape's target label `namespace` is
 * Traefik's own namespace. This needs the ServiceMonitor to honour Traefik's labels (honorLabels: true);
 * otherwise the target's `service` label (Traefik's Kubernetes Service) wins and Traefik's arrives as
 * `exported_service`, and this selector is empty.
 */
export function traefikBackendRequests(namespace: string, service: string, extraMatchers: string): string {
  return `traefik_service_requests_total{service=~"${traefikBackendPattern(namespace, service)}"${extraMatchers}}`;
}

/**
 * Share of the Service's backend requests not answered with a 5xx over `window`. 5xx are counted and
 * subtracted, with no 5xx series read as 0, so a backend that answers only 5xx yields 0 (a failure) rather
 * than an empty result, while a backend that got no requests still yields nothing (no data).
 */
export function traefikBackendSuccessRatio(namespace: string, service: string, window: string): string {
  const rate = (extra = '') => `sum(rate(${traefikBackendRequests(namespace, service, extra)}[${window}]))`;
  return `1 - ((${rate(',code=~"5.."')} or vector(0)) / ${rate()})`;
}

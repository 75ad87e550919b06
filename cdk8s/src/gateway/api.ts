/**
 * The Gateway API release the platform installs (standard channel), pinned in this one place: the
 * bring-up applies its `standard-install.yaml` (scripts/cluster/plan.ts) and the tests validate our objects
 * against the same version's CRDs. v1.6.1 is the version Traefik v3.7.11's go.mod requires
 * (sigs.k8s.io/gateway-api v1.6.1), so the provider and the CRDs agree.
 */
export const GATEWAY_API = {
  module: 'sigs.k8s.io/gateway-api',
  version: 'v1.6.1',
  channel: 'standard',
  installUrl: 'https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml',
} as const;

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_API_VERSION = `${GATEWAY_GROUP}/v1`;
/** Traefik's CRD group (Middleware), served by its kubernetesCRD provider. */
export const TRAEFIK_GROUP = 'traefik.io';
export const TRAEFIK_API_VERSION = `${TRAEFIK_GROUP}/v1alpha1`;

/*
 * The fields of the Gateway API v1 and Traefik objects the platform writes, as small typed shapes (names
 * from the v1.6.1 CRDs and Traefik's traefik.io_middlewares.yaml); the schema test validates the
 * synthesized objects against those CRDs in full.
 */

export interface RouteNamespaces {
  readonly from: 'Same' | 'All' | 'Selector';
  readonly selector?: { readonly matchExpressions: readonly { readonly key: string; readonly operator: 'In'; readonly values: readonly string[] }[] };
}

export interface Listener {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly hostname?: string;
  readonly tls?: { readonly mode: 'Terminate'; readonly certificateRefs: readonly { readonly kind: 'Secret'; readonly group: ''; readonly name: string }[] };
  readonly allowedRoutes: { readonly namespaces: RouteNamespaces; readonly kinds?: readonly { readonly group: string; readonly kind: string }[] };
}

export interface GatewaySpec {
  readonly gatewayClassName: string;
  readonly listeners: readonly Listener[];
}

export interface ParentRef {
  readonly group: typeof GATEWAY_GROUP;
  readonly kind: 'Gateway';
  readonly name: string;
  readonly namespace: string;
  readonly sectionName: string;
}

/** A backend without `weight`: Argo Rollouts' Gateway API plugin owns the weights of service routes. */
export interface BackendRef {
  readonly name: string;
  readonly port: number;
}

export type RouteFilter =
  | { readonly type: 'ExtensionRef'; readonly extensionRef: { readonly group: string; readonly kind: string; readonly name: string } }
  | { readonly type: 'RequestRedirect'; readonly requestRedirect: { readonly scheme: 'https'; readonly statusCode: 301 | 302 } };

export interface RouteRule {
  readonly matches?: readonly { readonly path: { readonly type: 'PathPrefix'; readonly value: string } }[];
  readonly filters?: readonly RouteFilter[];
  readonly backendRefs?: readonly BackendRef[];
}

export interface HTTPRouteSpec {
  readonly parentRefs: readonly ParentRef[];
  readonly hostnames?: readonly string[];
  readonly rules: readonly RouteRule[];
}

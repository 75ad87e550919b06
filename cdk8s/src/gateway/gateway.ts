import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { HostKey, Hosts } from '../hosts.js';
import { NAMESPACE_NAME_LABEL } from '../labels.js';
import { TRAEFIK_GATEWAY_CLASS, TRAEFIK_NAMESPACE, traefikEntryPoints } from '../helm/releases/traefik.js';
import { GATEWAY_API_VERSION, GATEWAY_GROUP, type GatewaySpec, type Listener, type ParentRef } from './api.js';

export const GATEWAY_NAME = 'courseops';
export const GATEWAY_NAMESPACE = TRAEFIK_NAMESPACE;
/** The plain-HTTP listener: only the redirect route (same namespace) attaches to it. */
export const HTTP_LISTENER = 'http';
export const httpsListener = (host: HostKey) => `https-${host}`;
/** The Secret cert-manager's gateway-shim writes the listener's certificate to (in the Gateway's namespace). */
export const listenerTlsSecret = (host: HostKey) => `${host}-tls`;

/** How a route names its listener. */
export const gatewayParent = (sectionName: string): ParentRef => ({
  group: GATEWAY_GROUP,
  kind: 'Gateway',
  name: GATEWAY_NAME,
  namespace: GATEWAY_NAMESPACE,
  sectionName,
});

export interface GatewayProps {
  readonly hosts: Hosts;
  /** For each host, the namespaces whose HTTPRoutes attach to its listener (and no other namespace may). */
  readonly routeNamespaces: ReadonlyMap<HostKey, readonly string[]>;
  readonly labels?: Readonly<Record<string, string>>;
  /** The ClusterIssuer cert-manager's gateway-shim issues each HTTPS listener's certificate from. */
  readonly issuer: string;
}

/**
 * The platform's one Gateway, on Traefik's GatewayClass: an HTTP listener on the `web` entry point and one
 * HTTPS listener per host on `websecure`, each terminating TLS with its own certificate. The
 * `cert-manager.io/cluster-issuer` annotation makes cert-manager's gateway-shim issue a certificate from the
 * platform CA for every HTTPS listener, named by its hostname, into its certificateRefs Secret (in this
 * namespace). A listener admits routes only from the namespaces that serve its host.
 */
export class CourseopsGateway extends Construct {
  constructor(scope: Construct, id: string, props: GatewayProps) {
    super(scope, id);
    const https: Listener[] = (Object.keys(props.hosts) as HostKey[]).map((key) => {
      const namespaces = [...(props.routeNamespaces.get(key) ?? [])].sort();
      if (namespaces.length === 0) throw new Error(`host ${key}: no route uses it, so its listener would admit nothing`);
      return {
        name: httpsListener(key),
        port: traefikEntryPoints.websecure.port,
        protocol: 'HTTPS',
        hostname: props.hosts[key],
        tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', group: '', name: listenerTlsSecret(key) }] },
        allowedRoutes: {
          namespaces: { from: 'Selector', selector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: namespaces }] } },
        },
      };
    });
    const spec: GatewaySpec = {
      gatewayClassName: TRAEFIK_GATEWAY_CLASS,
      listeners: [{ name: HTTP_LISTENER, port: traefikEntryPoints.web.port, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } }, ...https],
    };
    new ApiObject(this, 'Resource', {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'Gateway',
      metadata: {
        name: GATEWAY_NAME,
        namespace: GATEWAY_NAMESPACE,
        ...(props.labels ? { labels: { ...props.labels } } : {}),
        annotations: { 'cert-manager.io/cluster-issuer': props.issuer },
      },
      spec,
    });
  }
}

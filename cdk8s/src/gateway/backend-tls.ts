import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { GATEWAY_API_VERSION } from './api.js';

export interface BackendTlsProps {
  readonly name: string;
  readonly namespace: string;
  /** The Service whose port speaks HTTPS. */
  readonly service: string;
  /** Secret of the same namespace with the CA that signed the backend's certificate, under key `ca.crt`. */
  readonly caSecret: string;
  /** The name the backend's certificate is checked against (and the SNI sent). */
  readonly hostname: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Gateway API BackendTLSPolicy (v1, standard channel since v1.4): the Gateway speaks TLS to the Service
 * and validates its certificate against the given CA. A Secret as CA reference is implementation-specific
 * (the core support is a ConfigMap); Traefik v3.7.11 accepts both, reading `ca.crt`
 * (pkg/provider/kubernetes/gateway/httproute.go, loadServersTransport).
 */
export class BackendTlsPolicy extends Construct {
  constructor(scope: Construct, id: string, props: BackendTlsProps) {
    super(scope, id);
    new ApiObject(this, 'Resource', {
      apiVersion: GATEWAY_API_VERSION,
      kind: 'BackendTLSPolicy',
      metadata: { name: props.name, namespace: props.namespace, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec: {
        targetRefs: [{ group: '', kind: 'Service', name: props.service }],
        validation: { caCertificateRefs: [{ group: '', kind: 'Secret', name: props.caSecret }], hostname: props.hostname },
      },
    });
  }
}

import { Construct } from 'constructs';
import * as k8s from '../k8s.js';
import { CA_CLUSTER_ISSUER } from './ca.js';

export const INGRESS_CLASS = 'nginx';

export interface TlsIngressProps {
  readonly name: string;
  readonly namespace: string;
  readonly host: string;
  /** Secret cert-manager writes the certificate to (one per Ingress: two Ingresses never share one). */
  readonly tlsSecretName: string;
  readonly paths: readonly { readonly path: string; readonly service: string; readonly port: string | number }[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * An nginx Ingress that always has TLS: cert-manager's ingress-shim sees the cluster-issuer annotation
 * and issues a certificate for the host from the platform CA into `tlsSecretName`.
 */
export class TlsIngress extends Construct {
  readonly ingress: k8s.KubeIngress;

  constructor(scope: Construct, id: string, props: TlsIngressProps) {
    super(scope, id);
    this.ingress = new k8s.KubeIngress(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        ...(props.labels ? { labels: { ...props.labels } } : {}),
        annotations: {
          'cert-manager.io/cluster-issuer': CA_CLUSTER_ISSUER,
          'nginx.ingress.kubernetes.io/ssl-redirect': 'true',
          ...props.annotations,
        },
      },
      spec: {
        ingressClassName: INGRESS_CLASS,
        tls: [{ hosts: [props.host], secretName: props.tlsSecretName }],
        rules: [
          {
            host: props.host,
            http: {
              paths: props.paths.map((p) => ({
                path: p.path,
                pathType: 'Prefix',
                backend: {
                  service: {
                    name: p.service,
                    port: typeof p.port === 'number' ? { number: p.port } : { name: p.port },
                  },
                },
              })),
            },
          },
        ],
      },
    });
  }
}

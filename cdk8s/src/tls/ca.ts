import { ApiObject, Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { ns } from '../namespaces.js';
import type { CertificateSpec, ClusterIssuerSpec } from './cert-manager-types.js';

export const BOOTSTRAP_ISSUER = 'selfsigned-bootstrap';
export const CA_CLUSTER_ISSUER = 'courseops-ca';
/** Secret (in the cert-manager namespace) holding the root CA: `ca.crt` is what a laptop trusts. */
export const ROOT_CA_SECRET = 'courseops-root-ca';

const CERT_MANAGER = 'cert-manager.io/v1';

/**
 * The platform PKI: a self-signed bootstrap ClusterIssuer signs one root CA certificate, and a CA
 * ClusterIssuer backed by that root signs a certificate for every HTTPS listener of the Gateway (cert-manager's
 * gateway-shim reads the `cert-manager.io/cluster-issuer` annotation, see src/gateway/gateway.ts). The root's Secret lives in the
 * cert-manager namespace, where ClusterIssuers read their secrets from.
 */
export class TlsChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
    const bootstrap: ClusterIssuerSpec = { selfSigned: {} };
    new ApiObject(this, 'Bootstrap', {
      apiVersion: CERT_MANAGER,
      kind: 'ClusterIssuer',
      metadata: { name: BOOTSTRAP_ISSUER },
      spec: bootstrap,
    });
    const root: CertificateSpec = {
      isCA: true,
      commonName: 'courseops local root CA',
      secretName: ROOT_CA_SECRET,
      duration: '87600h',
      renewBefore: '720h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
      issuerRef: { name: BOOTSTRAP_ISSUER, kind: 'ClusterIssuer', group: 'cert-manager.io' },
    };
    new ApiObject(this, 'RootCa', {
      apiVersion: CERT_MANAGER,
      kind: 'Certificate',
      metadata: { name: ROOT_CA_SECRET, namespace: ns.certManager.name },
      spec: root,
    });
    const ca: ClusterIssuerSpec = { ca: { secretName: ROOT_CA_SECRET } };
    new ApiObject(this, 'CaIssuer', {
      apiVersion: CERT_MANAGER,
      kind: 'ClusterIssuer',
      metadata: { name: CA_CLUSTER_ISSUER },
      spec: ca,
    });
  }
}

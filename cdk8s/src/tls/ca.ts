import { ApiObject, Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import type { TlsIssuer } from '../config.js';
import type { ParentRef } from '../gateway/api.js';
import { ns } from '../namespaces.js';
import type { CertificateSpec, ClusterIssuerSpec } from './cert-manager-types.js';

export const BOOTSTRAP_ISSUER = 'selfsigned-bootstrap';
export const CA_CLUSTER_ISSUER = 'courseops-ca';
/** Secret (in the cert-manager namespace) holding the root CA: `ca.crt` is what a laptop trusts. */
export const ROOT_CA_SECRET = 'courseops-root-ca';

const CERT_MANAGER = 'cert-manager.io/v1';

/** The ClusterIssuer the Gateway's listener certificates come from, for each choice of the config's `tls`. */
export function issuerName(tls: TlsIssuer): string {
  switch (tls.kind) {
    case 'self-signed':
      return CA_CLUSTER_ISSUER;
    case 'acme':
      return `letsencrypt-${tls.server}`;
    case 'cluster-issuer':
      return tls.name;
  }
}

/**
 * The platform PKI: a self-signed bootstrap ClusterIssuer signs one root CA certificate, and a CA
 * ClusterIssuer backed by that root signs a certificate for every HTTPS listener of the Gateway (cert-manager's
 * gateway-shim reads the `cert-manager.io/cluster-issuer` annotation, see src/gateway/gateway.ts). The root's Secret lives in the
 * cert-manager namespace, where ClusterIssuers read their secrets from.
 */
export interface TlsChartProps extends ChartProps {
  readonly tls: TlsIssuer;
  /** Where cert-manager attaches the HTTP-01 challenge routes (the Gateway's plain-HTTP listener). */
  readonly challengeListener: ParentRef;
}

/** Let's Encrypt's ACME directories (RFC 8555); staging issues untrusted certificates without production's rate limits. */
export const ACME_SERVERS = {
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
  production: 'https://acme-v02.api.letsencrypt.org/directory',
} as const;

/**
 * The issuer of the Gateway's certificates, as the config chooses it: the self-signed platform CA (kind), or an
 * ACME ClusterIssuer for Let's Encrypt over HTTP-01 (cluster); a ClusterIssuer the cluster already has needs no
 * object here (app.ts leaves this chart out).
 */
export class TlsChart extends Chart {
  constructor(scope: Construct, id: string, props: TlsChartProps) {
    super(scope, id, props);
    if (props.tls.kind === 'acme') {
      const name = issuerName(props.tls);
      const acme: ClusterIssuerSpec = {
        acme: {
          server: ACME_SERVERS[props.tls.server],
          email: props.tls.email,
          // The ACME account key: cert-manager generates it into this Secret (cert-manager namespace) on first use.
          privateKeySecretRef: { name: `${name}-account-key` },
          solvers: [{ http01: { gatewayHTTPRoute: { parentRefs: [props.challengeListener] } } }],
        },
      };
      new ApiObject(this, 'AcmeIssuer', { apiVersion: CERT_MANAGER, kind: 'ClusterIssuer', metadata: { name }, spec: acme });
      return;
    }
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

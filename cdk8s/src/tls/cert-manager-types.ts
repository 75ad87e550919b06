/**
 * The few cert-manager.io/v1 fields the platform sets. ../shared/crds has no cert-manager CRDs to
 * generate constructs from, so these are written by hand from the cert-manager v1 API reference
 * (Certificate, ClusterIssuer) and checked by a strict schema in test/schemas/cert-manager.ts.
 */
export interface IssuerRef {
  readonly name: string;
  readonly kind: 'Issuer' | 'ClusterIssuer';
  readonly group: 'cert-manager.io';
}

export interface CertificateSpec {
  readonly secretName: string;
  readonly issuerRef: IssuerRef;
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly isCA?: boolean;
  /** Go duration, e.g. "2160h". */
  readonly duration?: string;
  readonly renewBefore?: string;
  readonly privateKey?: {
    readonly algorithm?: 'RSA' | 'ECDSA' | 'Ed25519';
    readonly size?: number;
    readonly rotationPolicy?: 'Never' | 'Always';
  };
}

export type ClusterIssuerSpec = { readonly selfSigned: Record<string, never> } | { readonly ca: { readonly secretName: string } };

/**
 * The few cert-manager.io/v1 fields the platform sets. ../shared/crds has no cert-manager CRDs to
 * generate constructs from, so these are written by hand from the cert-manager v1 API reference
 * (Certificate, ClusterIssuer); the schema test checks the objects against cert-manager's own CRDs at the
 * pinned version (test/support/module-crds.ts), unknown fields refused.
 */
import type { ParentRef } from '../gateway/api.js';

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

/** An ACME account and how its challenges are solved: HTTP-01 through an HTTPRoute cert-manager attaches to our Gateway. */
export interface AcmeIssuer {
  readonly server: string;
  readonly email: string;
  readonly privateKeySecretRef: { readonly name: string };
  readonly solvers: readonly { readonly http01: { readonly gatewayHTTPRoute: { readonly parentRefs: readonly ParentRef[] } } }[];
}

export type ClusterIssuerSpec =
  | { readonly selfSigned: Record<string, never> }
  | { readonly ca: { readonly secretName: string } }
  | { readonly acme: AcmeIssuer };

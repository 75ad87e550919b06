/**
 * Strict JSON schemas for the cert-manager.io/v1 objects the app writes. ../shared/crds has no
 * cert-manager CRDs, so these are this project's own, limited to the fields used, written from the
 * cert-manager v1 API reference (field names and enums); replace with the upstream CRDs
 * (cert-manager v1.21.1 `deploy/crds`) once they are added to ../shared/crds.
 */
const issuerRef = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string' }, kind: { enum: ['Issuer', 'ClusterIssuer'] }, group: { const: 'cert-manager.io' } },
};

const metadata = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } };

export const certManagerSchemas: Record<string, object> = {
  'cert-manager.io/v1 ClusterIssuer': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: 'cert-manager.io/v1' },
      kind: { const: 'ClusterIssuer' },
      metadata,
      spec: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        maxProperties: 1,
        properties: {
          selfSigned: { type: 'object', additionalProperties: false, properties: { crlDistributionPoints: { type: 'array' } } },
          ca: { type: 'object', required: ['secretName'], additionalProperties: false, properties: { secretName: { type: 'string' } } },
        },
      },
    },
  },
  'cert-manager.io/v1 Certificate': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: 'cert-manager.io/v1' },
      kind: { const: 'Certificate' },
      metadata: { ...metadata, required: ['name', 'namespace'] },
      spec: {
        type: 'object',
        required: ['secretName', 'issuerRef'],
        additionalProperties: false,
        properties: {
          secretName: { type: 'string' },
          issuerRef,
          commonName: { type: 'string', maxLength: 64 },
          dnsNames: { type: 'array', items: { type: 'string' } },
          isCA: { type: 'boolean' },
          duration: { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$' },
          renewBefore: { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$' },
          privateKey: {
            type: 'object',
            additionalProperties: false,
            properties: {
              algorithm: { enum: ['RSA', 'ECDSA', 'Ed25519'] },
              size: { type: 'integer' },
              rotationPolicy: { enum: ['Never', 'Always'] },
              encoding: { enum: ['PKCS1', 'PKCS8'] },
            },
          },
        },
      },
    },
  },
};

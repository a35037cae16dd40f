// The bad-input corpus, part 1: shapes of CA Secret, Issuer and PgBouncer that users plausibly get
// wrong, or that are hostile. CA material is made at run time (test/bad-input/ca-material.ts);
// nothing here holds a key. Each shape is created once; the requests in requests.ts point at them.

/** How the CA Secret of a shape is made (see makeCaSecret in ca-material.ts). */
export type CaShape =
  | 'not-a-ca' // a leaf certificate: basicConstraints CA:FALSE
  | 'expired' // a CA whose notAfter has passed
  | 'not-yet-valid' // a CA whose notBefore is a day ahead
  | 'key-mismatch' // tls.crt of one CA, tls.key of another
  | 'garbage' // tls.crt and tls.key are not PEM at all
  | 'missing-key' // tls.crt only
  | 'no-crl-sign' // a CA whose keyUsage has keyCertSign but not cRLSign
  | 'ec-secp256k1' // an EC CA on a curve TLS clients refuse
  | 'intermediate-pathlen0' // an intermediate CA (pathlen:0), not a self-signed root
  | 'rsa-1024'; // a CA with a 1024-bit RSA key

export interface IssuerShape {
  name: string;
  kind: 'Issuer' | 'ClusterIssuer';
  category: string;
  /** The CA Secret it points at: made from a CaShape, 'good' (a sound CA), or absent. */
  ca: CaShape | 'good' | 'absent';
  /** Replaces spec.ca (an ACME or self-signed issuer). */
  spec?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

export const ISSUER_SHAPES: IssuerShape[] = [
  { name: 'not-a-ca', kind: 'Issuer', category: 'CA Secret', ca: 'not-a-ca' },
  { name: 'expired', kind: 'Issuer', category: 'CA Secret', ca: 'expired' },
  { name: 'not-yet-valid', kind: 'Issuer', category: 'CA Secret', ca: 'not-yet-valid' },
  { name: 'key-mismatch', kind: 'Issuer', category: 'CA Secret', ca: 'key-mismatch' },
  { name: 'garbage', kind: 'Issuer', category: 'CA Secret', ca: 'garbage' },
  { name: 'missing-key', kind: 'Issuer', category: 'CA Secret', ca: 'missing-key' },
  { name: 'no-crl-sign', kind: 'Issuer', category: 'CA Secret', ca: 'no-crl-sign' },
  { name: 'ec-secp256k1', kind: 'Issuer', category: 'CA Secret', ca: 'ec-secp256k1' },
  { name: 'intermediate', kind: 'Issuer', category: 'CA Secret', ca: 'intermediate-pathlen0' },
  { name: 'rsa-1024', kind: 'Issuer', category: 'CA Secret', ca: 'rsa-1024' },
  { name: 'ca-secret-gone', kind: 'Issuer', category: 'issuer kinds', ca: 'absent' },
  {
    name: 'acme',
    kind: 'Issuer',
    category: 'issuer kinds',
    ca: 'absent',
    spec: { acme: { server: 'https://acme.invalid/directory', privateKeySecretRef: { name: 'acme-key' } } },
  },
  { name: 'self-signed', kind: 'Issuer', category: 'issuer kinds', ca: 'absent', spec: { selfSigned: {} } },
  // ClusterIssuers keep their CA in the cluster resource namespace (cert-manager in the tests).
  { name: 'corpus-cluster-default-deny', kind: 'ClusterIssuer', category: 'issuer kinds', ca: 'good' },
  {
    name: 'corpus-cluster-other-ns',
    kind: 'ClusterIssuer',
    category: 'issuer kinds',
    ca: 'good',
    annotations: { 'pgbtls.dev/allowed-namespaces': 'some-other-namespace' },
  },
];

/** PgBouncer, AppBinding and Issuer objects the API server must refuse, with the field it must name. */
export interface RefusedObject {
  name: string;
  category: string;
  plural: 'pgbouncers' | 'appbindings' | 'issuers';
  /** spec, merged over a sound object's spec; or metadata fields. */
  spec?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  field: string;
}

const db = { databaseName: 'postgres', databaseRef: { name: 'backend' } };

export const REFUSED_OBJECTS: RefusedObject[] = [
  {
    name: 'pb-newline-dbname',
    category: 'rendering',
    plural: 'pgbouncers',
    spec: { database: { ...db, databaseName: 'postgres\nauth_type = trust' } },
    field: 'spec.database.databaseName',
  },
  {
    name: 'pb-newline-ignore',
    category: 'rendering',
    plural: 'pgbouncers',
    spec: { connectionPool: { ignoreStartupParameters: 'extra_float_digits\nauth_type = trust' } },
    field: 'spec.connectionPool.ignoreStartupParameters',
  },
  {
    name: 'pb-admin-dbname',
    category: 'names',
    plural: 'pgbouncers',
    spec: { database: { ...db, databaseName: 'pgbouncer' } },
    field: 'spec.database.databaseName',
  },
  {
    name: 'pb-replicas-string',
    category: 'type mismatch',
    plural: 'pgbouncers',
    spec: { replicas: 'three' },
    field: 'spec.replicas',
  },
  {
    name: 'pb-issuer-kind',
    category: 'issuer kinds',
    plural: 'pgbouncers',
    spec: { tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'VaultIssuer', name: 'x' } } },
    field: 'spec.tls.issuerRef.kind',
  },
  {
    name: 'pb-port-huge',
    category: 'huge values',
    plural: 'pgbouncers',
    spec: { connectionPool: { port: 70000 } },
    field: 'spec.connectionPool.port',
  },
  {
    name: 'ab-url-newline',
    category: 'rendering',
    plural: 'appbindings',
    spec: { clientConfig: { url: 'postgres://db\n:5432' } },
    field: 'spec.clientConfig.url',
  },
  {
    name: 'ab-service-name',
    category: 'names',
    plural: 'appbindings',
    spec: { clientConfig: { service: { name: 'db host = evil', port: 5432 } } },
    field: 'spec.clientConfig.service.name',
  },
];

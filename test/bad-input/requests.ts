// The bad-input corpus, part 2: PgBouncerOpsRequests that users plausibly get wrong, or that are
// hostile, each with the outcome a user must see: refused by the API server (admission) with a
// message naming the field, or Failed with a message naming the field and the fix. Every request
// targets the corpus namespace, where `pb` has TLS from Issuer `ca-good` and `plain` has none.
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';

export interface CorpusRequest {
  name: string;
  category: string;
  spec: Record<string, unknown>;
  annotations?: Record<string, string>;
  expect: 'admission' | 'failed';
  /** The field the message must name. */
  field: string;
}

type Spec = Partial<PgBouncerOpsRequest['spec']> | Record<string, unknown>;
const issuer = (name: string, kind = 'Issuer') => ({ apiGroup: 'cert-manager.io', kind, name });
const on = (db: string, tls: Record<string, unknown>, extra: Spec = {}) => ({
  type: 'ReconfigureTLS',
  databaseRef: { name: db },
  tls,
  ...extra,
});
/** An issuer change on `pb` (TLS from ca-good) to `name`. */
const toIssuer = (name: string, kind = 'Issuer') => on('pb', { issuerRef: issuer(name, kind) });
/** A re-issue of pb's server certificate with `entry` laid over it. */
const server = (entry: Record<string, unknown>) =>
  on('pb', { rotateCertificates: true, certificates: [{ alias: 'server', ...entry }] });
const client = (entry: Record<string, unknown>) =>
  on('pb', { rotateCertificates: true, certificates: [{ alias: 'client', ...entry }] });

const r = (
  name: string,
  category: string,
  spec: Spec,
  expect: CorpusRequest['expect'],
  field: string,
  annotations?: Record<string, string>,
): CorpusRequest => ({ name, category, spec: spec as Record<string, unknown>, expect, field, annotations });

const tenThousandNames = Array.from({ length: 10_000 }, (_, i) => `n${i}.example.com`);

export const CORPUS_REQUESTS: CorpusRequest[] = [
  // --- CA Secrets behind an Issuer (issuer change from ca-good) ---
  r('ca-not-a-ca', 'CA Secret', toIssuer('not-a-ca'), 'failed', 'spec.tls.issuerRef'),
  r('ca-expired', 'CA Secret', toIssuer('expired'), 'failed', 'spec.tls.issuerRef'),
  r('ca-not-yet-valid', 'CA Secret', toIssuer('not-yet-valid'), 'failed', 'spec.tls.issuerRef'),
  r('ca-key-mismatch', 'CA Secret', toIssuer('key-mismatch'), 'failed', 'spec.tls.issuerRef'),
  r('ca-garbage', 'CA Secret', toIssuer('garbage'), 'failed', 'spec.tls.issuerRef'),
  r('ca-missing-key', 'CA Secret', toIssuer('missing-key'), 'failed', 'spec.tls.issuerRef'),
  r('ca-ec-secp256k1', 'CA Secret', toIssuer('ec-secp256k1'), 'failed', 'spec.tls.issuerRef'),
  r('ca-intermediate', 'CA Secret', toIssuer('intermediate'), 'failed', 'spec.tls.issuerRef'),
  r('ca-rsa-1024', 'CA Secret', toIssuer('rsa-1024'), 'failed', 'spec.tls.issuerRef'),
  r('ca-secret-gone', 'CA Secret', toIssuer('ca-secret-gone'), 'failed', 'spec.tls.issuerRef'),
  // --- issuer kinds and references ---
  r('issuer-not-found', 'issuer kinds', toIssuer('nobody'), 'failed', 'spec.tls.issuerRef.name'),
  r('issuer-acme', 'issuer kinds', toIssuer('acme'), 'failed', 'spec.tls.issuerRef'),
  r('issuer-self-signed', 'issuer kinds', toIssuer('self-signed'), 'failed', 'spec.tls.issuerRef'),
  r('issuer-kind-vault', 'issuer kinds', toIssuer('ca-good', 'VaultIssuer'), 'admission', 'spec.tls.issuerRef.kind'),
  r(
    'issuer-api-group',
    'issuer kinds',
    on('pb', { issuerRef: { apiGroup: 'example.com', kind: 'Issuer', name: 'ca-good' } }),
    'admission',
    'spec.tls.issuerRef.apiGroup',
  ),
  r('issuer-other-namespace', 'issuer kinds', toIssuer('other-namespace/ca-good'), 'failed', 'spec.tls.issuerRef.name'),
  r(
    'cluster-issuer-default-deny',
    'issuer kinds',
    toIssuer('corpus-cluster-default-deny', 'ClusterIssuer'),
    'failed',
    'spec.tls.issuerRef',
  ),
  r(
    'cluster-issuer-other-ns',
    'issuer kinds',
    toIssuer('corpus-cluster-other-ns', 'ClusterIssuer'),
    'failed',
    'spec.tls.issuerRef',
  ),
  r('cluster-issuer-missing', 'issuer kinds', toIssuer('nobody', 'ClusterIssuer'), 'failed', 'spec.tls.issuerRef.name'),
  r(
    'cert-issuer-acme',
    'issuer kinds',
    on('pb', { issuerRef: issuer('ca-good'), certificates: [{ alias: 'client', issuerRef: issuer('acme') }] }),
    'failed',
    'spec.tls.certificates[0].issuerRef',
  ),
  r(
    'pooler-other-namespace',
    'references',
    on('other-namespace/pb', { rotateCertificates: true }),
    'failed',
    'spec.databaseRef.name',
  ),
  r('pooler-missing', 'references', on('nobody', { rotateCertificates: true }), 'failed', 'spec.databaseRef.name'),
  // --- SAN syntax, names and the signing policy ---
  r(
    'san-underscore',
    'SAN syntax',
    server({ dnsNames: ['bad_name.example.com'] }),
    'failed',
    'spec.tls.certificates[0].dnsNames[0]',
  ),
  r(
    'san-wildcard-tld',
    'signing policy',
    server({ dnsNames: ['*.com'] }),
    'failed',
    'spec.tls.certificates[0].dnsNames[0]',
  ),
  r(
    'san-wildcard-cluster',
    'signing policy',
    server({ dnsNames: ['*.svc.cluster.local'] }),
    'failed',
    'spec.tls.certificates[0].dnsNames[0]',
  ),
  r(
    'san-extra-dns',
    'signing policy',
    server({ dnsNames: ['db.bank.example'] }),
    'failed',
    'spec.tls.certificates[0].dnsNames[0]',
  ),
  r(
    'san-ip-syntax',
    'SAN syntax',
    server({ ipAddresses: ['10.0.0.300'] }),
    'admission',
    'spec.tls.certificates[0].ipAddresses[0]',
  ),
  r(
    'san-extra-ip',
    'signing policy',
    server({ ipAddresses: ['8.8.8.8'] }),
    'failed',
    'spec.tls.certificates[0].ipAddresses[0]',
  ),
  r('san-uri-syntax', 'SAN syntax', client({ uris: ['not a uri'] }), 'failed', 'spec.tls.certificates[0].uris[0]'),
  r(
    'san-extra-uri',
    'signing policy',
    client({ uris: ['spiffe://evil.example/admin'] }),
    'failed',
    'spec.tls.certificates[0].uris[0]',
  ),
  r(
    'san-email-syntax',
    'SAN syntax',
    client({ emailAddresses: ['nobody'] }),
    'failed',
    'spec.tls.certificates[0].emailAddresses[0]',
  ),
  r(
    'san-extra-email',
    'signing policy',
    client({ emailAddresses: ['ceo@bank.example'] }),
    'failed',
    'spec.tls.certificates[0].emailAddresses[0]',
  ),
  r(
    'san-unicode',
    'unicode',
    server({ dnsNames: ['bücher.example.com'] }),
    'failed',
    'spec.tls.certificates[0].dnsNames[0]',
  ),
  r(
    'san-10000',
    'huge values',
    server({ dnsNames: tenThousandNames }),
    'admission',
    'spec.tls.certificates[0].dnsNames',
  ),
  r(
    'subject-1mb',
    'huge values',
    server({ subject: { organizations: ['x'.repeat(1024 * 1024)] } }),
    'admission',
    'spec.tls.certificates[0].subject.organizations[0]',
  ),
  r(
    'subject-unicode-control',
    'unicode',
    server({ subject: { organizations: ['Ünïcødé\u0000GmbH'] } }),
    'failed',
    'spec.tls.certificates[0].subject',
  ),
  r(
    'secret-name-unicode',
    'unicode',
    server({ secretName: 'pb-sérver-cert' }),
    'failed',
    'spec.tls.certificates[0].secretName',
  ),
  r('secret-name-upper', 'names', server({ secretName: 'PB-Server' }), 'failed', 'spec.tls.certificates[0].secretName'),
  r(
    'alias-unknown',
    'names',
    on('pb', { rotateCertificates: true, certificates: [{ alias: 'archiver' }] }),
    'admission',
    'spec.tls.certificates[0].alias',
  ),
  // --- durations and key specs ---
  r('duration-short', 'durations', server({ duration: '10m' }), 'failed', 'spec.tls.certificates[0].duration'),
  r('duration-word', 'durations', server({ duration: 'forever' }), 'admission', 'spec.tls.certificates[0].duration'),
  r('duration-negative', 'durations', server({ duration: '-1h' }), 'admission', 'spec.tls.certificates[0].duration'),
  r(
    'timeout-too-short',
    'durations',
    on('pb', { rotateCertificates: true }, { timeout: '500ms' }),
    'admission',
    'spec.timeout',
  ),
  r(
    'key-rsa-1024',
    'key specs',
    server({ privateKey: { algorithm: 'RSA', size: 1024 } }),
    'admission',
    'spec.tls.certificates[0].privateKey',
  ),
  r(
    'key-ecdsa-2048',
    'key specs',
    server({ privateKey: { algorithm: 'ECDSA', size: 2048 } }),
    'admission',
    'spec.tls.certificates[0].privateKey',
  ),
  r(
    'key-dsa',
    'key specs',
    server({ privateKey: { algorithm: 'DSA' } }),
    'admission',
    'spec.tls.certificates[0].privateKey.algorithm',
  ),
  r(
    'key-encoding',
    'key specs',
    server({ privateKey: { encoding: 'PEM' } }),
    'admission',
    'spec.tls.certificates[0].privateKey.encoding',
  ),
  // --- contradictions ---
  r(
    'remove-and-rotate',
    'contradictions',
    on('pb', { remove: true, rotateCertificates: true }),
    'admission',
    'spec.tls',
  ),
  r(
    'remove-and-issuer',
    'contradictions',
    on('pb', { remove: true, issuerRef: issuer('ca-good') }),
    'admission',
    'spec.tls',
  ),
  r(
    'remove-with-verify-full',
    'contradictions',
    on('pb', { remove: true, sslMode: 'verify-full' }),
    'admission',
    'spec.tls',
  ),
  r(
    'rotate-other-issuer',
    'contradictions',
    on('pb', { rotateCertificates: true, issuerRef: issuer('expired') }),
    'failed',
    'spec.tls.issuerRef',
  ),
  r('no-change', 'contradictions', on('pb', {}), 'admission', 'spec.tls'),
  r(
    'rotate-without-tls',
    'contradictions',
    on('plain', { rotateCertificates: true }),
    'failed',
    'spec.tls.rotateCertificates',
  ),
  r('remove-without-tls', 'contradictions', on('plain', { remove: true }), 'failed', 'spec.tls.remove'),
  r('verify-full-without-tls', 'contradictions', on('plain', { sslMode: 'verify-full' }), 'failed', 'spec.tls.sslMode'),
  r('tls-missing', 'contradictions', { type: 'ReconfigureTLS', databaseRef: { name: 'pb' } }, 'admission', 'spec'),
  r('type-unsupported', 'contradictions', { type: 'Restart', databaseRef: { name: 'pb' } }, 'failed', 'spec.type'),
  r(
    'duplicate-alias',
    'contradictions',
    on('pb', { rotateCertificates: true, certificates: [{ alias: 'server' }, { alias: 'server', duration: '720h' }] }),
    'admission',
    'spec.tls.certificates[1]',
  ),
  r(
    'force-restart-word',
    'type mismatch',
    on('pb', { rotateCertificates: true }),
    'failed',
    'metadata.annotations["pgbtls.dev/force-restart"]',
    { 'pgbtls.dev/force-restart': 'yes' },
  ),
  // --- collisions with existing Secrets ---
  r(
    'secret-is-ca',
    'collisions',
    server({ secretName: 'ca-good-ca' }),
    'failed',
    'spec.tls.certificates[0].secretName',
  ),
  r(
    'secret-is-credentials',
    'collisions',
    client({ secretName: 'app-credentials' }),
    'failed',
    'spec.tls.certificates[0].secretName',
  ),
  r(
    'secret-is-config',
    'collisions',
    server({ secretName: 'pb-config' }),
    'failed',
    'spec.tls.certificates[0].secretName',
  ),
  r('secret-is-auth', 'collisions', server({ secretName: 'pb-auth' }), 'failed', 'spec.tls.certificates[0].secretName'),
  r(
    'secret-is-dockerconfig',
    'collisions',
    server({ secretName: 'registry-pull' }),
    'failed',
    'spec.tls.certificates[0].secretName',
  ),
  r(
    'secret-shared',
    'collisions',
    on('pb', {
      rotateCertificates: true,
      certificates: [
        { alias: 'server', secretName: 'pb-both-cert' },
        { alias: 'client', secretName: 'pb-both-cert' },
      ],
    }),
    'failed',
    'spec.tls.certificates',
  ),
  r(
    'secret-add-onto-ca',
    'collisions',
    on('plain', { issuerRef: issuer('ca-good'), certificates: [{ alias: 'server', secretName: 'ca-good-ca' }] }),
    'failed',
    'spec.tls.certificates[0].secretName',
  ),
  // --- type mismatches ---
  r(
    'rotate-string',
    'type mismatch',
    on('pb', { rotateCertificates: 'yes' }),
    'admission',
    'spec.tls.rotateCertificates',
  ),
  r(
    'dns-names-string',
    'type mismatch',
    server({ dnsNames: 'a.example.com' }),
    'admission',
    'spec.tls.certificates[0].dnsNames',
  ),
  r(
    'max-retries-negative',
    'type mismatch',
    on('pb', { rotateCertificates: true }, { maxRetries: -1 }),
    'admission',
    'spec.maxRetries',
  ),
  r(
    'apply-sometimes',
    'type mismatch',
    on('pb', { rotateCertificates: true }, { apply: 'Sometimes' }),
    'admission',
    'spec.apply',
  ),
];

/**
 * A CA without cRLSign: issue 11 gives it defined semantics (probably "no CRL, with a warning").
 * The corpus records what happens today, through the planner only (nothing runs).
 */
export const NO_CRL_SIGN_REQUEST = r(
  'ca-no-crl-sign',
  'CA Secret',
  toIssuer('no-crl-sign'),
  'failed',
  'spec.tls.issuerRef',
);

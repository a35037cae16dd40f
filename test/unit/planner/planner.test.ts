import type { PgBouncerOpsRequest, PgBouncerSpec, PgBouncerTLSSpec } from '../../../src/api/types.js';
import { describePlan, planReconfigureTLS } from '../../../src/planner/planner.js';
import type { IssuerSummary, LiveState, Plan } from '../../../src/planner/types.js';

const issuer = (name: string, extra: Partial<IssuerSummary> = {}): IssuerSummary => ({
  kind: 'Issuer',
  name,
  caSecretNamespace: 'demo',
  caSecretName: `${name}-ca`,
  caFingerprintSha256: `FP:${name}`,
  caNotAfter: '2030-01-01T00:00:00.000Z',
  ...extra,
});
const ref = (name: string) => ({ apiGroup: 'cert-manager.io' as const, kind: 'Issuer' as const, name });

function live(
  tls: PgBouncerOpsRequest['spec']['tls'],
  pbSpec: Partial<PgBouncerSpec> = {},
  over: Partial<LiveState> = {},
): LiveState {
  return {
    now: '2026-11-28T00:00:00.000Z',
    clusterDomain: 'cluster.local',
    request: {
      ref: { namespace: 'demo', name: 'req', uid: 'abcdef12-3456' },
      generation: 1,
      creationTimestamp: '2026-11-28T00:00:00Z',
      spec: { type: 'ReconfigureTLS', databaseRef: { name: 'pb' }, tls },
    },
    pgbouncer: {
      name: 'pb',
      uid: 'pb-uid',
      generation: 1,
      phase: 'Ready',
      paused: false,
      spec: { replicas: 3, database: { databaseName: 'postgres', databaseRef: { name: 'pg' } }, ...pbSpec },
    },
    issuers: { 'Issuer/one': issuer('one'), 'Issuer/two': issuer('two') },
    certificates: {},
    pods: [0, 1, 2].map((i) => ({ name: `pb-${i}`, uid: `uid-${i}`, ordinal: i, ready: true })),
    ...over,
  };
}
const withTls = { tls: { issuerRef: ref('one') } };
const current = {
  certificates: {
    server: {
      alias: 'server' as const,
      secretName: 'pb-server-cert',
      serialHex: 'AA',
      fingerprintSha256: 'x',
      notAfter: '',
      dnsNames: [],
      ipAddresses: [],
    },
    client: {
      alias: 'client' as const,
      secretName: 'pb-client-cert',
      serialHex: 'BB',
      fingerprintSha256: 'y',
      notAfter: '',
      dnsNames: [],
      ipAddresses: [],
    },
  },
};
function plan(l: LiveState, hotReload = false): Plan {
  const r = planReconfigureTLS(l, { hotReload });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}
function errors(l: LiveState) {
  const r = planReconfigureTLS(l);
  if (r.ok) throw new Error('expected validation errors');
  return r.errors;
}

test.each([
  ['add', { issuerRef: ref('one') }, {}],
  ['rotate', { rotateCertificates: true }, withTls],
  ['change-issuer', { issuerRef: ref('two') }, withTls],
  ['reissue', { issuerRef: ref('one') }, withTls],
  ['reissue', { certificates: [{ alias: 'server' as const, dnsNames: ['pool.example.com'] }] }, withTls],
  ['remove', { remove: true }, withTls],
  ['update-settings', { sslMode: 'require' as const }, withTls],
])('intent %s', (intent, tls, pbSpec) => {
  expect(plan(live(tls, pbSpec, current)).intent).toBe(intent);
});

test('add TLS: server and client certificates, verify-full by default, pods highest ordinal first', () => {
  const p = plan(live({ issuerRef: ref('one') }));
  expect(p.certificates.map((c) => [c.alias, c.secretName, c.stagingSecretName, c.commonName])).toEqual([
    ['server', 'pb-server-cert', 'pb-server-cert-next-abcdef12', 'pb'],
    ['client', 'pb-client-cert', 'pb-client-cert-next-abcdef12', 'pgbouncer'],
  ]);
  expect(p.newSpec).toEqual({ tls: { issuerRef: ref('one') }, sslMode: 'verify-full' });
  expect(p.certificates[0].dnsNames).toEqual(
    expect.arrayContaining(['pb', 'pb.demo.svc.cluster.local', 'pb-2.pb-pods.demo.svc', 'localhost']),
  );
  expect(p.certificates[0].privateKey).toEqual({ algorithm: 'RSA', size: 2048, encoding: 'PKCS1' });
  expect(p.pods.map((x) => x.name)).toEqual(['pb-2', 'pb-1', 'pb-0']);
  expect(p.revoke).toEqual([]);
  expect(p.warnings.join()).toMatch(/every application client must present a certificate/);
});

test('per-alias overrides: SANs, duration, ECDSA key, subject', () => {
  const p = plan(
    live({
      issuerRef: ref('one'),
      certificates: [
        {
          alias: 'server',
          dnsNames: ['pool.example.com'],
          ipAddresses: ['10.1.2.3'],
          duration: '720h',
          privateKey: { algorithm: 'ECDSA', size: 384, encoding: 'PKCS8' },
          subject: { organizations: ['Acme'] },
        },
      ],
    }),
  );
  const server = p.certificates.find((c) => c.alias === 'server')!;
  expect(server.dnsNames).toContain('pool.example.com');
  expect(server.ipAddresses).toContain('10.1.2.3');
  expect(server.durationMs).toBe(720 * 3_600_000);
  expect(server.privateKey).toEqual({ algorithm: 'ECDSA', size: 384, encoding: 'PKCS8' });
  expect(server.subject).toEqual({ organizations: ['Acme'] });
  expect(p.newSpec.tls?.certificates?.[0].alias).toBe('server');
});

test('rotate revokes the current serials with the current issuer; change issuer bundles both CAs during the roll', () => {
  const rotate = plan(live({ rotateCertificates: true }, withTls, current));
  expect(rotate.revoke.map((r) => [r.serialHex, r.issuer.name])).toEqual([
    ['AA', 'one'],
    ['BB', 'one'],
  ]);
  expect(rotate.caBundleDuringRoll).toBe('new');
  const change = plan(live({ issuerRef: ref('two') }, withTls, current));
  expect(change.caBundleDuringRoll).toBe('old+new');
  expect(change.certificates.every((c) => c.issuer.name === 'two')).toBe(true);
  expect(change.revoke.every((r) => r.issuer.name === 'one')).toBe(true);
});

test('remove: no certificates, Secrets deleted, sslMode disable', () => {
  const p = plan(live({ remove: true }, withTls, current));
  expect(p.certificates).toEqual([]);
  expect(p.deleteSecrets).toEqual(['pb-server-cert', 'pb-client-cert']);
  expect(p.newSpec).toEqual({ tls: null, sslMode: 'disable' });
  expect(p.tlsAfter).toBe(false);
});

test.each([
  ['rotate, hot reload on', { rotateCertificates: true }, true, 'reload'],
  ['rotate, hot reload off', { rotateCertificates: true }, false, 'restart'],
  ['rotate with an sslMode change', { rotateCertificates: true, sslMode: 'require' as const }, true, 'restart'],
  ['change issuer', { issuerRef: ref('two') }, true, 'restart'],
] as const)('%s → %s', (_n, tls, hot, method) => {
  expect(new Set(plan(live(tls, withTls, current), hot).pods.map((p) => p.method))).toEqual(new Set([method]));
});

test.each([
  [
    'rotate without TLS',
    { rotateCertificates: true },
    {},
    'spec.tls.rotateCertificates',
    /has no TLS to rotate; add TLS first/,
  ],
  ['remove without TLS', { remove: true }, {}, 'spec.tls.remove', /has no TLS to remove/],
  ['remove and rotate', { remove: true, rotateCertificates: true }, withTls, 'spec.tls.remove', /choose one/],
  ['remove with issuer', { remove: true, issuerRef: ref('one') }, withTls, 'spec.tls.remove', /cannot be combined/],
  ['remove with sslMode', { remove: true, sslMode: 'require' as const }, withTls, 'spec.tls.sslMode', /use disable/],
  ['unknown issuer', { issuerRef: ref('nope') }, {}, 'spec.tls.issuerRef.name', /not found/],
  [
    'bad duration',
    { issuerRef: ref('one'), certificates: [{ alias: 'server' as const, duration: '10m' }] },
    {},
    'spec.tls.certificates[0].duration',
    /minimum/,
  ],
  [
    'bad key size',
    { issuerRef: ref('one'), certificates: [{ alias: 'server' as const, privateKey: { size: 1024 } }] },
    {},
    'spec.tls.certificates[0].privateKey.size',
    /2048/,
  ],
  [
    'bad IP',
    { issuerRef: ref('one'), certificates: [{ alias: 'server' as const, ipAddresses: ['1.2.3'] }] },
    {},
    'spec.tls.certificates[0].ipAddresses[0]',
    /not an IPv4/,
  ],
  [
    'duplicate alias',
    { issuerRef: ref('one'), certificates: [{ alias: 'server' as const }, { alias: 'server' as const }] },
    {},
    'spec.tls.certificates[1].alias',
    /twice/,
  ],
  ['nothing asked', {}, {}, 'spec.tls', /asks for no change/],
] as const)('invalid: %s', (_n, tls, pbSpec, field, message) => {
  const errs = errors(live(tls as PgBouncerTLSSpec, pbSpec, current));
  const hit = errs.find((e) => e.field === field);
  expect(hit?.message).toMatch(message);
  expect(hit?.message.startsWith(field)).toBe(true);
});

test('an issuer problem names the issuer field', () => {
  const l = live(
    { issuerRef: ref('acme') },
    {},
    {
      issuers: {
        'Issuer/acme': issuer('acme', {
          problem: 'Issuer "acme" is a acme issuer; only CA issuers (spec.ca) are supported',
        }),
      },
    },
  );
  expect(errors(l)).toEqual([
    {
      field: 'spec.tls.issuerRef.name',
      message: expect.stringMatching(/^spec\.tls\.issuerRef\.name: .*only CA issuers/),
    },
  ]);
});

test('other ops types, a missing PgBouncer and IfReady on a PgBouncer that is not Ready are refused', () => {
  const other = live({ issuerRef: ref('one') });
  other.request.spec.type = 'Restart';
  expect(errors(other)[0]).toMatchObject({ field: 'spec.type', message: expect.stringMatching(/only ReconfigureTLS/) });
  expect(errors(live({ issuerRef: ref('one') }, {}, { pgbouncer: undefined }))[0]).toMatchObject({
    field: 'spec.databaseRef.name',
  });
  const notReady = live({ issuerRef: ref('one') });
  notReady.pgbouncer!.phase = 'Critical';
  expect(errors(notReady)).toEqual([
    expect.objectContaining({ field: 'spec.apply', message: expect.stringMatching(/set spec.apply: Always/) }),
  ]);
  notReady.request.spec.apply = 'Always';
  expect(planReconfigureTLS(notReady).ok).toBe(true);
});

test('planning is deterministic and describePlan says what will happen', () => {
  const l = live({ issuerRef: ref('two') }, withTls, current);
  expect(plan(l)).toEqual(plan(l));
  const text = describePlan(plan(l));
  expect(text).toMatch(/^change-issuer on PgBouncer demo\/pb/);
  expect(text).toContain('pb-2 (restart), pb-1 (restart), pb-0 (restart)');
  expect(text).toContain('revoke server serial AA');
});

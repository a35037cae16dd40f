import { describe, expect, test } from '@jest/globals';
import { planReconfigureTLS } from '../../../lib/planner/plan.js';
import type { Intent, Plan } from '../../../lib/planner/types.js';
import {
  DAY_MS,
  REQUEST_UID,
  issuer,
  liveState,
  planOf,
  pods,
  ref,
  served,
  tlsFrom,
  withTls,
  type Scenario,
} from './live-state-builder.js';

const serials = (plan: Plan) => plan.revoke.map((r) => `${r.alias}:${r.serialHex}@${r.issuer.name}`);
const minted = (plan: Plan) => plan.certificates.map((c) => `${c.alias}@${c.issuer.name}`);

describe('every intent', () => {
  // [intent, scenario, tlsBefore, tlsAfter, minted, revoked, deleted Secrets, ca.crt during the roll]
  const table: [Intent, Scenario, boolean, boolean, string[], string[], string[], Plan['caBundleDuringRoll']][] = [
    ['add', { tls: { issuerRef: ref('ca-one') } }, false, true, ['server@ca-one', 'client@ca-one'], [], [], 'new'],
    [
      'rotate',
      { tls: { rotateCertificates: true }, ...withTls() },
      true,
      true,
      ['server@ca-one', 'client@ca-one'],
      ['server:0A01@ca-one', 'client:0B02@ca-one'],
      [],
      'new',
    ],
    [
      'change-issuer',
      { tls: { issuerRef: ref('ca-two') }, ...withTls() },
      true,
      true,
      ['server@ca-two', 'client@ca-two'],
      ['server:0A01@ca-one', 'client:0B02@ca-one'],
      [],
      'old+new',
    ],
    [
      'reissue',
      { tls: { issuerRef: ref('ca-one') }, ...withTls() },
      true,
      true,
      ['server@ca-one', 'client@ca-one'],
      ['server:0A01@ca-one', 'client:0B02@ca-one'],
      [],
      'new',
    ],
    [
      'reissue',
      { tls: { certificates: [{ alias: 'server', dnsNames: ['pb.example.com'] }] }, ...withTls() },
      true,
      true,
      ['server@ca-one', 'client@ca-one'],
      ['server:0A01@ca-one', 'client:0B02@ca-one'],
      [],
      'new',
    ],
    [
      'remove',
      { tls: { remove: true }, ...withTls() },
      true,
      false,
      [],
      ['server:0A01@ca-one', 'client:0B02@ca-one'],
      ['pb-server-cert', 'pb-client-cert'],
      'new',
    ],
    ['update-settings', { tls: { sslMode: 'require' }, ...withTls() }, true, true, [], [], [], 'new'],
    ['update-settings', { tls: { clientAuthMode: 'scram-sha-256' }, ...withTls() }, true, true, [], [], [], 'new'],
  ];
  test.each(table)('%s', (intent, scenario, tlsBefore, tlsAfter, mints, revokes, deletes, bundle) => {
    const plan = planOf(scenario);
    expect(plan.intent).toBe(intent);
    expect(plan.pgbouncer).toEqual({ namespace: 'demo', name: 'pb', uid: 'pb-uid' });
    expect([plan.tlsBefore, plan.tlsAfter]).toEqual([tlsBefore, tlsAfter]);
    expect(minted(plan)).toEqual(mints);
    expect(serials(plan)).toEqual(revokes);
    expect(plan.deleteSecrets).toEqual(deletes);
    expect(plan.caBundleDuringRoll).toBe(bundle);
    expect(plan.pods.map((p) => p.name)).toEqual(['pb-2', 'pb-1', 'pb-0']);
  });
});

describe('newSpec', () => {
  test('add: the issuer, verify-full by default', () => {
    expect(planOf({ tls: { issuerRef: ref('ca-one') } }).newSpec).toEqual({
      tls: { issuerRef: ref('ca-one') },
      sslMode: 'verify-full',
    });
  });

  test('add with an sslMode and a clientAuthMode', () => {
    const plan = planOf({ tls: { issuerRef: ref('ca-one'), sslMode: 'require', clientAuthMode: 'scram-sha-256' } });
    expect(plan.newSpec).toEqual({ tls: { issuerRef: ref('ca-one') }, sslMode: 'require', authType: 'scram-sha-256' });
  });

  test('rotate keeps the sslMode in force', () => {
    expect(planOf({ tls: { rotateCertificates: true }, ...withTls({ sslMode: 'prefer' }) }).newSpec.sslMode).toBe(
      'prefer',
    );
    expect(planOf({ tls: { rotateCertificates: true }, ...withTls() }).newSpec.sslMode).toBe('verify-full');
  });

  test('remove: tls null, sslMode disable', () => {
    expect(planOf({ tls: { remove: true }, ...withTls({ sslMode: 'require' }) }).newSpec).toEqual({
      tls: null,
      sslMode: 'disable',
    });
  });

  test('update-settings changes only the mode', () => {
    const plan = planOf({ tls: { sslMode: 'require' }, ...withTls() });
    expect(plan.newSpec).toEqual({ tls: { issuerRef: ref('ca-one') }, sslMode: 'require' });
    expect(plan.certificates).toEqual([]);
    expect(plan.revoke).toEqual([]);
  });

  test("certificates merge into the PgBouncer's, field by field, the request winning", () => {
    const plan = planOf({
      tls: {
        certificates: [
          { alias: 'server', duration: '720h' },
          { alias: 'client', secretName: 'pb-app-client' },
        ],
      },
      pb: tlsFrom('ca-one', { certificates: [{ alias: 'server', dnsNames: ['pb.example.com'], duration: '2160h' }] }),
      certificates: served(),
    });
    expect(plan.newSpec.tls).toEqual({
      issuerRef: ref('ca-one'),
      certificates: [
        { alias: 'server', dnsNames: ['pb.example.com'], duration: '720h' },
        { alias: 'client', secretName: 'pb-app-client' },
      ],
    });
  });

  test("a new issuer replaces the PgBouncer's per-certificate issuers unless the request keeps one", () => {
    const plan = planOf({
      tls: { issuerRef: ref('ca-two') },
      pb: tlsFrom('ca-one', { certificates: [{ alias: 'client', issuerRef: ref('ca-one') }] }),
      certificates: served(),
    });
    expect(plan.newSpec.tls).toEqual({ issuerRef: ref('ca-two'), certificates: [{ alias: 'client' }] });
    expect(minted(plan)).toEqual(['server@ca-two', 'client@ca-two']);
  });
});

describe('certificates', () => {
  const add = (extra: Partial<Scenario> = {}) => planOf({ tls: { issuerRef: ref('ca-one') }, ...extra });

  test('server: the PgBouncer name, every Service and pod name, loopback', () => {
    const server = add().certificates[0]!;
    expect(server).toMatchObject({ alias: 'server', usage: 'server', commonName: 'pb', secretName: 'pb-server-cert' });
    expect(server.dnsNames).toEqual(
      expect.arrayContaining([
        'pb',
        'pb.demo',
        'pb.demo.svc',
        'pb.demo.svc.cluster.local',
        'pb-pods.demo.svc.cluster.local',
        'pb-0.pb-pods.demo.svc.cluster.local',
        'pb-2.pb-pods.demo',
        'localhost',
      ]),
    );
    expect(server.dnsNames).not.toContain('pb-3.pb-pods.demo');
    expect(server.ipAddresses).toEqual(['127.0.0.1', '::1']);
  });

  test("server: the user's DNS names and IPs join, normalised; the cluster domain is the live one", () => {
    const server = planOf({
      tls: {
        issuerRef: ref('ca-one'),
        certificates: [{ alias: 'server', dnsNames: ['PB.Example.com.'], ipAddresses: ['10.0.0.5', 'FD00::5'] }],
      },
      clusterDomain: 'corp.internal',
    }).certificates[0]!;
    expect(server.dnsNames).toEqual(expect.arrayContaining(['pb.example.com', 'pb.demo.svc.corp.internal']));
    expect(server.dnsNames).not.toContain('pb.demo.svc.cluster.local');
    expect(server.ipAddresses).toEqual(['10.0.0.5', '127.0.0.1', '::1', 'fd00::5']);
  });

  test('server: a pod beyond spec.replicas (scale-down under way) is named too', () => {
    const server = add({ pb: { replicas: 2 }, pods: pods(3) }).certificates[0]!;
    expect(server.dnsNames).toContain('pb-2.pb-pods.demo.svc');
  });

  test('client: common name pgbouncer, client usage, no names unless asked', () => {
    const client = add().certificates[1]!;
    expect(client).toMatchObject({
      alias: 'client',
      usage: 'client',
      commonName: 'pgbouncer',
      secretName: 'pb-client-cert',
      dnsNames: [],
      ipAddresses: [],
      uris: [],
      emailAddresses: [],
    });
  });

  test('defaults: 90 days, RSA 2048 PKCS1, staging `<secret>-next-<uid[0:8]>`', () => {
    for (const c of add().certificates) {
      expect(c.durationMs).toBe(90 * DAY_MS);
      expect(c.privateKey).toEqual({ algorithm: 'RSA', size: 2048, encoding: 'PKCS1' });
      expect(c.stagingSecretName).toBe(`${c.secretName}-next-${REQUEST_UID.slice(0, 8)}`);
      expect(c.stagingSecretName).toMatch(/-next-abcdef12$/);
      expect(c).not.toHaveProperty('subject');
    }
  });

  test('what the request gives: secretName, duration, key, subject, URIs, e-mails', () => {
    const plan = add({
      tls: {
        issuerRef: ref('ca-one'),
        certificates: [
          {
            alias: 'client',
            secretName: 'pb-app-client',
            duration: '720h',
            privateKey: { algorithm: 'ECDSA', encoding: 'PKCS8' },
            subject: { organizations: ['Example'] },
            uris: ['spiffe://cluster.local/ns/demo/sa/pb'],
            emailAddresses: ['dba@example.com'],
          },
        ],
      },
    });
    const client = plan.certificates[1]!;
    expect(client).toMatchObject({
      secretName: 'pb-app-client',
      stagingSecretName: 'pb-app-client-next-abcdef12',
      durationMs: 30 * DAY_MS,
      privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8' },
      subject: { organizations: ['Example'] },
      uris: ['spiffe://cluster.local/ns/demo/sa/pb'],
      emailAddresses: ['dba@example.com'],
    });
    expect(plan.certificates[0]!.secretName).toBe('pb-server-cert');
  });

  test('a per-certificate issuerRef overrides the top-level one', () => {
    const plan = add({
      tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'client', issuerRef: ref('ca-two') }] },
    });
    expect(minted(plan)).toEqual(['server@ca-one', 'client@ca-two']);
  });

  test("rotate mints from the PgBouncer's current issuers", () => {
    const plan = planOf({
      tls: { rotateCertificates: true },
      pb: tlsFrom('ca-one', { certificates: [{ alias: 'client', issuerRef: ref('ca-two') }] }),
      certificates: {
        ...served('ca-one'),
        client: { ...served('ca-two').client!, issuerFingerprintSha256: 'FP:ca-two' },
      },
    });
    expect(minted(plan)).toEqual(['server@ca-one', 'client@ca-two']);
    expect(serials(plan)).toEqual(['server:0A01@ca-one', 'client:0B02@ca-two']);
  });

  test('metrics-exporter is kept in the spec but not minted, with a warning', () => {
    const plan = add({
      tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'metrics-exporter', duration: '720h' }] },
    });
    expect(plan.certificates.map((c) => c.alias)).toEqual(['server', 'client']);
    expect(plan.newSpec.tls?.certificates).toEqual([{ alias: 'metrics-exporter', duration: '720h' }]);
    expect(plan.warnings.join('\n')).toMatch(/alias metrics-exporter is kept .* no certificate is issued/);
  });
});

describe('revocations and deleted Secrets', () => {
  test('nothing is revoked when no certificate is served today', () => {
    expect(planOf({ tls: { rotateCertificates: true }, pb: tlsFrom('ca-one') }).revoke).toEqual([]);
  });

  test('remove deletes the Secrets the PgBouncer names, custom names included', () => {
    const plan = planOf({
      tls: { remove: true },
      pb: tlsFrom('ca-one', { certificates: [{ alias: 'server', secretName: 'pb-tls' }] }),
      certificates: served(),
    });
    expect(plan.deleteSecrets).toEqual(['pb-tls', 'pb-client-cert']);
  });

  test('a certificate that moves to another Secret: the old Secret goes when the request succeeds', () => {
    const plan = planOf({ tls: { certificates: [{ alias: 'server', secretName: 'pb-tls' }] }, ...withTls() });
    expect(plan.certificates[0]).toMatchObject({ secretName: 'pb-tls', stagingSecretName: 'pb-tls-next-abcdef12' });
    expect(plan.deleteSecrets).toEqual(['pb-server-cert']);
    expect(plan.warnings.join('\n')).toMatch(/moves from Secret pb-server-cert to pb-tls/);
  });

  test("Secrets swapped between aliases: the server's old Secret now holds the client certificate and stays", () => {
    const plan = planOf({
      tls: {
        certificates: [
          { alias: 'server', secretName: 'pb-tls' },
          { alias: 'client', secretName: 'pb-server-cert' },
        ],
      },
      ...withTls(),
    });
    expect(plan.certificates.map((c) => c.secretName)).toEqual(['pb-tls', 'pb-server-cert']);
    expect(plan.deleteSecrets).toEqual(['pb-client-cert']);
  });

  test('a serial signed by a CA the issuer no longer holds is not put on its CRL', () => {
    const plan = planOf({
      tls: { rotateCertificates: true },
      pb: tlsFrom('ca-one'),
      certificates: served('ca-one', 'FP:old-ca'),
    });
    expect(plan.revoke).toEqual([]);
    expect(plan.warnings.join('\n')).toMatch(/signed by a CA that Issuer "ca-one" no longer holds/);
    // The CA behind the issuer changed: ca.crt trusts both during the roll.
    expect(plan.caBundleDuringRoll).toBe('old+new');
  });

  test('a CA without cRLSign (cert-manager isCA shape): no CRL, a warning, and the request goes on', () => {
    for (const tls of [{ rotateCertificates: true }, { issuerRef: ref('ca-two') }, { remove: true }]) {
      const plan = planOf({
        tls,
        ...withTls(),
        issuers: [issuer('ca-one', { canSignCrls: false }), issuer('ca-two')],
      });
      expect(plan.revoke).toEqual([]);
      expect(plan.warnings.join('\n')).toMatch(
        /the server certificate .* is not put on a CRL: the CA of Issuer "ca-one" \(Secret demo\/ca-one-ca\) has no cRLSign/,
      );
    }
  });

  test("a CRL Secret of the CA's name that is not ours: no CRL, a warning, never overwritten", () => {
    const plan = planOf({
      tls: { rotateCertificates: true },
      ...withTls(),
      issuers: [issuer('ca-one', { foreignCrlSecret: 'demo/ca-one-ca-crl' }), issuer('ca-two')],
    });
    expect(plan.revoke).toEqual([]);
    expect(plan.warnings.join('\n')).toMatch(
      /Secret demo\/ca-one-ca-crl exists and was not created by this orchestrator/,
    );
  });

  test('the revoke entries carry the issuer that signed them', () => {
    const plan = planOf({ tls: { issuerRef: ref('ca-two') }, ...withTls() });
    expect(plan.revoke.map((r) => r.issuer)).toEqual([issuer('ca-one'), issuer('ca-one')]);
  });
});

describe('pods', () => {
  test('every pod, highest ordinal first, uids carried', () => {
    const shuffled = [
      { name: 'pb-1', uid: 'u1', ordinal: 1, ready: true },
      { name: 'pb-10', uid: 'u10', ordinal: 10, ready: true },
      { name: 'pb-0', uid: 'u0', ordinal: 0, ready: true },
      { name: 'pb-2', uid: 'u2', ordinal: 2, ready: false },
    ];
    const plan = planOf({ tls: { rotateCertificates: true }, ...withTls({ replicas: 11 }), pods: shuffled });
    expect(plan.pods).toEqual([
      { name: 'pb-10', uid: 'u10', ordinal: 10, method: 'restart' },
      { name: 'pb-2', uid: 'u2', ordinal: 2, method: 'restart' },
      { name: 'pb-1', uid: 'u1', ordinal: 1, method: 'restart' },
      { name: 'pb-0', uid: 'u0', ordinal: 0, method: 'restart' },
    ]);
    expect(plan.warnings.join('\n')).toMatch(/pods not Ready now: pb-2/);
  });

  // [case, scenario, hotReload, expected method]
  const reload: [string, Scenario, boolean, 'reload' | 'restart'][] = [
    ['rotate, hot reload on', { tls: { rotateCertificates: true }, ...withTls() }, true, 'reload'],
    ['rotate, hot reload off', { tls: { rotateCertificates: true }, ...withTls() }, false, 'restart'],
    [
      'rotate naming the same sslMode',
      { tls: { rotateCertificates: true, sslMode: 'verify-full' }, ...withTls() },
      true,
      'reload',
    ],
    [
      'rotate changing the sslMode (client_tls_sslmode is re-read on RELOAD)',
      { tls: { rotateCertificates: true, sslMode: 'require' }, ...withTls() },
      true,
      'reload',
    ],
    [
      'rotate changing the auth type (auth_type is re-read on RELOAD)',
      { tls: { rotateCertificates: true, clientAuthMode: 'scram-sha-256' }, ...withTls() },
      true,
      'reload',
    ],
    [
      'rotate naming the auth type in force',
      { tls: { rotateCertificates: true, clientAuthMode: 'md5' }, ...withTls() },
      true,
      'reload',
    ],
    [
      'rotate when the CA behind the issuer changed, under verify-full (the admin certificate is from the new CA)',
      { tls: { rotateCertificates: true }, pb: tlsFrom(), certificates: served('ca-one', 'FP:old') },
      true,
      'restart',
    ],
    [
      'reissue, same issuer',
      { tls: { certificates: [{ alias: 'server', duration: '720h' }] }, ...withTls() },
      true,
      'reload',
    ],
    ['reissue naming the same issuer', { tls: { issuerRef: ref('ca-one') }, ...withTls() }, true, 'reload'],
    [
      'reissue with another issuer for one certificate, under verify-full',
      { tls: { certificates: [{ alias: 'client', issuerRef: ref('ca-two') }] }, ...withTls() },
      true,
      'restart',
    ],
    [
      'reissue into another Secret',
      { tls: { certificates: [{ alias: 'server', secretName: 'pb-tls' }] }, ...withTls() },
      true,
      'restart',
    ],
    ['change-issuer under verify-full', { tls: { issuerRef: ref('ca-two') }, ...withTls() }, true, 'restart'],
    [
      'change-issuer under require (no client certificate checked)',
      { tls: { issuerRef: ref('ca-two') }, ...withTls({ sslMode: 'require' }) },
      true,
      'reload',
    ],
    [
      'change-issuer, hot reload off',
      { tls: { issuerRef: ref('ca-two') }, ...withTls({ sslMode: 'require' }) },
      false,
      'restart',
    ],
    ['add (no TLS admin console before)', { tls: { issuerRef: ref('ca-one') } }, true, 'restart'],
    ['remove', { tls: { remove: true }, ...withTls() }, true, 'reload'],
    ['update-settings', { tls: { sslMode: 'require' }, ...withTls() }, true, 'reload'],
    [
      'update-settings from sslMode disable (no TLS served before)',
      { tls: { sslMode: 'require' }, ...withTls({ sslMode: 'disable' }) },
      true,
      'restart',
    ],
    [
      'rotate with pgbtls.dev/force-restart "true"',
      { tls: { rotateCertificates: true }, ...withTls(), annotations: { 'pgbtls.dev/force-restart': 'true' } },
      true,
      'restart',
    ],
    [
      'rotate with pgbtls.dev/force-restart "false"',
      { tls: { rotateCertificates: true }, ...withTls(), annotations: { 'pgbtls.dev/force-restart': 'false' } },
      true,
      'reload',
    ],
  ];
  test.each(reload)('%s → %s', (_name, scenario, hotReload, method) => {
    const plan = planOf(scenario, { hotReload });
    expect(new Set(plan.pods.map((p) => p.method))).toEqual(new Set([method]));
  });
});

describe('warnings', () => {
  const text = (plan: Plan) => plan.warnings.join('\n');

  test('verify-full: every application client must present a CA-signed certificate', () => {
    expect(text(planOf({ tls: { issuerRef: ref('ca-one') } }))).toMatch(
      /sslMode verify-full: from now on every application client must present a certificate signed by the CA in ca\.crt of Secret pb-server-cert/,
    );
    expect(text(planOf({ tls: { issuerRef: ref('ca-one'), sslMode: 'verify-ca' } }))).toMatch(/sslMode verify-ca:/);
    expect(text(planOf({ tls: { rotateCertificates: true }, ...withTls() }))).toMatch(
      /sslMode verify-full \(as before\): every application client must present/,
    );
  });

  test('a CA change: applications verifying PgBouncer must trust the new CA, whatever the sslMode', () => {
    const plan = planOf({ tls: { issuerRef: ref('ca-two'), sslMode: 'require' }, ...withTls() });
    expect(text(plan)).toMatch(
      /signed by the CA of Issuer "ca-two": applications that verify PgBouncer .* must trust that CA/,
    );
    expect(text(plan)).not.toMatch(/application client certificates from the old CA stop working/);
    expect(text(planOf({ tls: { issuerRef: ref('ca-two') }, ...withTls() }))).toMatch(
      /application client certificates from the old CA stop working when the request ends/,
    );
    expect(text(planOf({ tls: { rotateCertificates: true }, ...withTls() }))).not.toMatch(/applications that verify/);
    expect(text(planOf({ tls: { issuerRef: ref('ca-one') } }))).not.toMatch(/applications that verify/);
  });

  test('no client-certificate warning for require, nor after remove', () => {
    expect(text(planOf({ tls: { issuerRef: ref('ca-one'), sslMode: 'require' } }))).not.toMatch(/must present/);
    expect(text(planOf({ tls: { remove: true }, ...withTls() }))).not.toMatch(/must present/);
  });

  test('sslMode disable with TLS kept', () => {
    expect(text(planOf({ tls: { sslMode: 'disable' }, ...withTls() }))).toMatch(
      /to turn TLS off, use spec\.tls\.remove/,
    );
  });

  test('one replica: a restart is downtime; a reload is not', () => {
    const one = { pb: { ...tlsFrom(), replicas: 1 }, certificates: served(), pods: pods(1) };
    expect(text(planOf({ tls: { rotateCertificates: true }, ...one }))).toMatch(
      /has 1 replica: restarting pb-0 drops every connection/,
    );
    expect(text(planOf({ tls: { rotateCertificates: true }, ...one }, { hotReload: true }))).not.toMatch(/1 replica/);
    expect(text(planOf({ tls: { rotateCertificates: true }, ...withTls() }))).not.toMatch(/1 replica/);
  });

  test("a duration past the CA's notAfter is cut there", () => {
    const plan = planOf({
      tls: { issuerRef: ref('ca-one') },
      issuers: [issuer('ca-one', { caNotAfter: '2027-01-01T00:00:00.000Z' })],
    });
    expect(plan.warnings.filter((w) => /outlasts the CA/.test(w))).toHaveLength(2);
    expect(text(plan)).toMatch(
      /server certificate: the requested 2160h \(90d\) outlasts the CA of Issuer "ca-one", which expires 2027-01-01T00:00:00.000Z; the certificate will end at the CA's notAfter/,
    );
    const short = planOf({
      tls: {
        issuerRef: ref('ca-one'),
        certificates: [
          { alias: 'server', duration: '24h' },
          { alias: 'client', duration: '24h' },
        ],
      },
      issuers: [issuer('ca-one', { caNotAfter: '2027-01-01T00:00:00.000Z' })],
    });
    expect(text(short)).not.toMatch(/outlasts/);
  });

  test('renewBefore is kept in the PgBouncer spec for the renewal, without a warning', () => {
    const plan = planOf({
      tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', renewBefore: '360h' }] },
    });
    expect(text(plan)).not.toMatch(/renewBefore/);
    expect(JSON.stringify(plan.newSpec)).toMatch(/"renewBefore":"360h"/);
  });

  test('an already paused PgBouncer', () => {
    expect(text(planOf({ tls: { rotateCertificates: true }, ...withTls(), paused: true }))).toMatch(/already paused/);
  });

  test('no pods', () => {
    expect(text(planOf({ tls: { issuerRef: ref('ca-one') }, pods: [] }))).toMatch(
      /no pods of PgBouncer "pb" were found/,
    );
  });
});

describe('determinism', () => {
  const scenarios: Scenario[] = [
    {
      tls: {
        issuerRef: ref('ca-one'),
        certificates: [{ alias: 'server', dnsNames: ['b.example.com', 'a.example.com'] }],
      },
    },
    { tls: { issuerRef: ref('ca-two') }, ...withTls() },
    { tls: { remove: true }, ...withTls() },
  ];
  test.each(scenarios.map((s, i) => [i, s] as const))('scenario %i: same input, deep-equal plan', (_i, scenario) => {
    const live = liveState(scenario);
    const frozen = JSON.stringify(live);
    const first = planReconfigureTLS(live, { hotReload: true });
    const second = planReconfigureTLS(liveState(scenario), { hotReload: true });
    expect(second).toStrictEqual(first);
    // Pure: the input is left as it was, and the plan survives JSON (the workflow history) unchanged.
    expect(JSON.stringify(live)).toBe(frozen);
    expect(JSON.parse(JSON.stringify(first))).toStrictEqual(first);
  });

  test('time comes from live.now only', () => {
    const live = (now: string) => ({
      ...liveState({
        tls: { issuerRef: ref('ca-one') },
        issuers: [issuer('ca-one', { caNotAfter: '2027-01-01T00:00:00.000Z' })],
      }),
      now,
    });
    const cut = (now: string) => {
      const r = planReconfigureTLS(live(now));
      return r.ok ? r.plan.warnings.filter((w) => /outlasts/.test(w)).length : -1;
    };
    expect(cut('2026-11-28T12:00:00.000Z')).toBe(2);
    expect(cut('2026-01-01T00:00:00.000Z')).toBe(0);
  });
});

describe('step limits', () => {
  test.each([
    ['no timeout, no maxRetries: no deadline, the CRD default of one retry', {}, 0, 1],
    ['timeout 1h30m, maxRetries 0', { timeout: '1h30m', maxRetries: 0 }, 5_400_000, 0],
    ['timeout 90s, maxRetries 3', { timeout: '90s', maxRetries: 3 }, 90_000, 3],
  ])('%s', (_, request, stepTimeoutMs, maxRetries) => {
    const plan = planOf({ tls: { rotateCertificates: true }, ...withTls(), request });
    expect({ stepTimeoutMs: plan.stepTimeoutMs, maxRetries: plan.maxRetries }).toEqual({ stepTimeoutMs, maxRetries });
  });
});

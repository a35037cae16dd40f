import { describe, expect, test } from '@jest/globals';
import { validateRequest } from '../../../lib/planner/validate.js';
import {
  errorsOf,
  issuer,
  liveState,
  planOf,
  ref,
  served,
  tlsFrom,
  withTls,
  type Scenario,
} from './live-state-builder.js';

// [case, scenario, field the error names, what the message must say (the fix)]
const cases: [string, Scenario, string, RegExp][] = [
  [
    'force-restart annotation not a boolean',
    { tls: { rotateCertificates: true }, ...withTls(), annotations: { 'pgbtls.dev/force-restart': 'yes' } },
    'metadata.annotations["pgbtls.dev/force-restart"]',
    /"yes" is not a boolean; use "true" to restart every pod/,
  ],
  [
    'another ops type',
    { request: { type: 'Restart' }, tls: undefined },
    'spec.type',
    /"Restart" is not supported by this orchestrator; only ReconfigureTLS; .*create a ReconfigureTLS request/,
  ],
  ['spec.tls missing', {}, 'spec.tls', /is required for spec.type ReconfigureTLS; set spec\.tls\.issuerRef/],
  [
    'PgBouncer not found',
    { pb: null, tls: { issuerRef: ref('ca-one') } },
    'spec.databaseRef.name',
    /PgBouncer "pb" not found in namespace "demo"; create it or name an existing PgBouncer/,
  ],
  [
    'databaseRef.name empty',
    { request: { databaseRef: { name: '' } }, tls: { issuerRef: ref('ca-one') } },
    'spec.databaseRef.name',
    /is empty; name the PgBouncer in namespace "demo"/,
  ],
  ['tls asks nothing', { tls: {}, ...withTls() }, 'spec.tls', /asks for no change; set issuerRef/],
  [
    'remove with rotateCertificates',
    { tls: { remove: true, rotateCertificates: true }, ...withTls() },
    'spec.tls.rotateCertificates',
    /cannot be combined with spec\.tls\.remove.*; keep only one of remove and rotateCertificates/,
  ],
  [
    'remove with issuerRef',
    { tls: { remove: true, issuerRef: ref('ca-two') }, ...withTls() },
    'spec.tls.issuerRef',
    /cannot be combined with spec\.tls\.remove.*; drop issuerRef to remove TLS/,
  ],
  [
    'remove with certificates',
    { tls: { remove: true, certificates: [{ alias: 'server', duration: '720h' }] }, ...withTls() },
    'spec.tls.certificates',
    /cannot be combined with spec\.tls\.remove.*; drop certificates/,
  ],
  [
    'remove with an sslMode that needs TLS',
    { tls: { remove: true, sslMode: 'require' }, ...withTls() },
    'spec.tls.sslMode',
    /"require" needs TLS, which spec\.tls\.remove turns off; use sslMode: disable or leave it out/,
  ],
  [
    'rotateCertificates without TLS',
    { tls: { rotateCertificates: true } },
    'spec.tls.rotateCertificates',
    /PgBouncer "pb" has no TLS, so there is no certificate to rotate; add TLS first with spec\.tls\.issuerRef/,
  ],
  [
    'rotateCertificates with issuerRef, without TLS',
    { tls: { rotateCertificates: true, issuerRef: ref('ca-one') } },
    'spec.tls.rotateCertificates',
    /drop rotateCertificates: spec\.tls\.issuerRef alone adds TLS/,
  ],
  [
    'remove without TLS',
    { tls: { remove: true } },
    'spec.tls.remove',
    /PgBouncer "pb" has no TLS to remove; nothing needs doing/,
  ],
  [
    'verify-full on a PgBouncer that keeps no TLS',
    { tls: { sslMode: 'verify-full' } },
    'spec.tls.sslMode',
    /"verify-full" needs TLS, but PgBouncer "pb" has none.*; set spec\.tls\.issuerRef to add TLS, or use sslMode: disable/,
  ],
  [
    'certificates alone without TLS',
    { tls: { certificates: [{ alias: 'server', duration: '720h' }] } },
    'spec.tls.certificates',
    /has no TLS, so there is no certificate to re-issue; set spec\.tls\.issuerRef/,
  ],
  [
    'rotate naming another issuer',
    { tls: { rotateCertificates: true, issuerRef: ref('ca-two') }, ...withTls() },
    'spec.tls.issuerRef',
    /re-issues from the current issuer; drop rotateCertificates to change the issuer, or drop issuerRef to rotate/,
  ],
  [
    'rotate naming another issuer for one certificate',
    { tls: { rotateCertificates: true, certificates: [{ alias: 'client', issuerRef: ref('ca-two') }] }, ...withTls() },
    'spec.tls.certificates[0].issuerRef',
    /drop this issuerRef to rotate, or drop rotateCertificates/,
  ],
  [
    'issuer unknown to the live state',
    { tls: { issuerRef: ref('pb-issuer') } },
    'spec.tls.issuerRef.name',
    /^spec\.tls\.issuerRef\.name: Issuer "pb-issuer" not found in namespace "demo"; create it or name an existing Issuer$/,
  ],
  [
    'issuer not found (gatherer problem)',
    {
      tls: { issuerRef: ref('pb-issuer') },
      issuers: [issuer('pb-issuer', { problem: 'Issuer "pb-issuer" not found in namespace "demo"' })],
    },
    'spec.tls.issuerRef.name',
    /^spec\.tls\.issuerRef\.name: Issuer "pb-issuer" not found in namespace "demo"; create it or name an existing Issuer$/,
  ],
  [
    'ClusterIssuer not found',
    { tls: { issuerRef: ref('global', 'ClusterIssuer') } },
    'spec.tls.issuerRef.name',
    /ClusterIssuer "global" not found; create it or name an existing ClusterIssuer/,
  ],
  [
    'ACME issuer',
    {
      tls: { issuerRef: ref('letsencrypt') },
      issuers: [
        issuer('letsencrypt', {
          problem: 'Issuer "letsencrypt" is a acme issuer; only CA issuers (spec.ca) are supported',
        }),
      ],
    },
    'spec.tls.issuerRef',
    /acme issuer.*ACME server cannot issue the client certificate.*; .*name an Issuer or ClusterIssuer with spec\.ca\.secretName/,
  ],
  [
    'self-signed issuer',
    {
      tls: { issuerRef: ref('self') },
      issuers: [
        issuer('self', { problem: 'Issuer "self" is a selfSigned issuer; only CA issuers (spec.ca) are supported' }),
      ],
    },
    'spec.tls.issuerRef',
    /selfSigned.*; .*name an Issuer or ClusterIssuer with spec\.ca\.secretName/,
  ],
  [
    'CA Secret missing',
    {
      tls: { issuerRef: ref('ca-one') },
      issuers: [
        issuer('ca-one', { problem: 'Secret demo/ca-one-ca (spec.ca.secretName of Issuer "ca-one") not found' }),
      ],
    },
    'spec.tls.issuerRef',
    /Issuer "ca-one" in namespace "demo" cannot sign: Secret demo\/ca-one-ca .* not found; fix its CA Secret or name another Issuer/,
  ],
  [
    'CA expired',
    { tls: { issuerRef: ref('ca-one') }, issuers: [issuer('ca-one', { caNotAfter: '2026-01-01T00:00:00.000Z' })] },
    'spec.tls.issuerRef',
    /the CA of Issuer "ca-one" .*Secret demo\/ca-one-ca.* expired at 2026-01-01.*; renew the CA in that Secret or name another Issuer/,
  ],
  [
    'per-certificate issuer not found',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'client', issuerRef: ref('clients') }] } },
    'spec.tls.certificates[0].issuerRef.name',
    /Issuer "clients" not found in namespace "demo"; create it or name an existing Issuer/,
  ],
  [
    "the PgBouncer's own issuer is broken (rotate)",
    {
      tls: { rotateCertificates: true },
      ...withTls(),
      issuers: [
        issuer('ca-one', { problem: 'Secret demo/ca-one-ca (spec.ca.secretName of Issuer "ca-one") not found' }),
      ],
    },
    'spec.tls.issuerRef',
    /PgBouncer "pb" uses Issuer "ca-one" in namespace "demo", which cannot sign: .*; fix its CA Secret or name a working issuer in spec\.tls\.issuerRef/,
  ],
  [
    "the PgBouncer's own issuer is gone (reissue)",
    { tls: { certificates: [{ alias: 'server', duration: '720h' }] }, ...withTls(), issuers: [] },
    'spec.tls.issuerRef',
    /PgBouncer "pb" uses Issuer "ca-one", which was not found in namespace "demo"; create it, or name a working issuer/,
  ],
  [
    'issuerRef of another kind',
    { tls: { issuerRef: { kind: 'Vault' as 'Issuer', name: 'v' } } },
    'spec.tls.issuerRef.kind',
    /"Vault" is not supported; use Issuer or ClusterIssuer/,
  ],
  [
    'issuerRef of another group',
    { tls: { issuerRef: { apiGroup: 'example.com' as 'cert-manager.io', kind: 'Issuer', name: 'ca-one' } } },
    'spec.tls.issuerRef.apiGroup',
    /"example.com" is not supported; use cert-manager.io or leave it out/,
  ],
  [
    'unknown alias',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'archiver' as 'server' }] } },
    'spec.tls.certificates[0].alias',
    /"archiver" is not a PgBouncer certificate alias; use server, client, metrics-exporter/,
  ],
  [
    'duplicate alias',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server' }, { alias: 'server', duration: '720h' }] } },
    'spec.tls.certificates[1].alias',
    /"server" is already given in spec\.tls\.certificates\[0\]; merge the two entries into one/,
  ],
  [
    'duration in days',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', duration: '90d' }] } },
    'spec.tls.certificates[0].duration',
    /no day unit \(90 days is 2160h\); write it like 2160h/,
  ],
  [
    'duration below the minimum',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', duration: '30m' }] } },
    'spec.tls.certificates[0].duration',
    /shorter than the minimum certificate duration of 1h; use at least 1h/,
  ],
  [
    'renewBefore as long as the duration',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', duration: '1h', renewBefore: '1h' }] } },
    'spec.tls.certificates[0].renewBefore',
    /renewBefore "1h" must be positive and shorter than the server certificate's duration 1h.*; set renewBefore below 1h \(e\.g\. 20m/,
  ],
  [
    'renewBefore longer than the default duration (2160h)',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'client', renewBefore: '3000h' }] } },
    'spec.tls.certificates[0].renewBefore',
    /renewBefore "3000h" must be positive and shorter than the client certificate's duration 2160h/,
  ],
  [
    'renewBefore that is no duration',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', renewBefore: '30 days' }] } },
    'spec.tls.certificates[0].renewBefore',
    /renewBefore "30 days" is not a duration; write it like 720h or 30m/,
  ],
  [
    "a duration shorter than the PgBouncer's renewBefore",
    {
      tls: { certificates: [{ alias: 'server', duration: '1h' }] },
      pb: tlsFrom('ca-one', { certificates: [{ alias: 'server', renewBefore: '720h' }] }),
      certificates: served(),
    },
    'spec.tls.certificates[0].duration',
    /renewBefore "720h" must be positive and shorter than the server certificate's duration 1h/,
  ],
  [
    'an invalid IP address',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', ipAddresses: ['10.0.0.1', '10.0.0.300'] }] } },
    'spec.tls.certificates[0].ipAddresses[1]',
    /"10\.0\.0\.300" is not an IPv4 or IPv6 address; write an IPv4 or IPv6 address such as 10\.0\.0\.5/,
  ],
  [
    'an invalid DNS name',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', dnsNames: ['bad_name.example.com'] }] } },
    'spec.tls.certificates[0].dnsNames[0]',
    /is not a valid DNS name.*; write a DNS name such as pb\.example\.com/,
  ],
  [
    'an invalid URI',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'client', uris: ['not a uri'] }] } },
    'spec.tls.certificates[0].uris[0]',
    /not an absolute ASCII URI.*; fix or remove it/,
  ],
  [
    'an invalid e-mail address',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'client', emailAddresses: ['nobody'] }] } },
    'spec.tls.certificates[0].emailAddresses[0]',
    /not an ASCII e-mail address; write an address such as dba@example\.com/,
  ],
  [
    'a key algorithm we cannot generate',
    {
      tls: {
        issuerRef: ref('ca-one'),
        certificates: [{ alias: 'server', privateKey: { algorithm: 'Ed25519' as 'RSA' } }],
      },
    },
    'spec.tls.certificates[0].privateKey.algorithm',
    /"Ed25519" is not supported; use RSA or ECDSA/,
  ],
  [
    'a key size we cannot generate',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', privateKey: { size: 1024 } }] } },
    'spec.tls.certificates[0].privateKey.size',
    /1024 is not supported for RSA; use 2048, 3072 or 4096/,
  ],
  [
    'an unknown key encoding',
    {
      tls: {
        issuerRef: ref('ca-one'),
        certificates: [{ alias: 'client', privateKey: { encoding: 'DER' as 'PKCS1' } }],
      },
    },
    'spec.tls.certificates[0].privateKey.encoding',
    /"DER" is not supported; use PKCS1 or PKCS8/,
  ],
  [
    'an unusable secretName',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', secretName: 'My_Secret' }] } },
    'spec.tls.certificates[0].secretName',
    /"My_Secret" is not a usable Secret name; use lower-case letters/,
  ],
  [
    "a secretName that is the PgBouncer's config Secret",
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', secretName: 'pb-config' }] } },
    'spec.tls.certificates[0].secretName',
    /Secret "pb-config" is PgBouncer "pb"'s config Secret.*; choose another secretName, e.g\. pb-server-cert/,
  ],
  [
    'server and client in one Secret',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'client', secretName: 'pb-server-cert' }] } },
    'spec.tls.certificates[0].secretName',
    /the server and the client certificate would share Secret "pb-server-cert"; give each certificate its own secretName/,
  ],
  [
    'a subject country that is not two letters',
    { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', subject: { countries: ['Germany'] } }] } },
    'spec.tls.certificates[0].subject.countries[0]',
    /"Germany" is not a two-letter ISO 3166 country code.*; correct it/,
  ],
  [
    'IfReady on a PgBouncer that is not Ready',
    { tls: { rotateCertificates: true }, ...withTls(), phase: 'NotReady', request: { apply: 'IfReady' } },
    'spec.apply',
    /PgBouncer "pb" is NotReady; wait until it is Ready or set spec\.apply: Always/,
  ],
  [
    'IfReady by default on a PgBouncer still provisioning',
    { tls: { rotateCertificates: true }, ...withTls(), phase: 'Provisioning' },
    'spec.apply',
    /IfReady \(the default\).*is Provisioning; wait until it is Ready or set spec\.apply: Always/,
  ],
  [
    'a timeout that is no Go duration',
    { tls: { rotateCertificates: true }, ...withTls(), request: { timeout: '5 minutes' } },
    'spec.timeout',
    /"5 minutes" is not a duration; write it like 2160h, 90m, 1h30m or 45s/,
  ],
  [
    'a timeout below 1s',
    { tls: { rotateCertificates: true }, ...withTls(), request: { timeout: '500ms' } },
    'spec.timeout',
    /"500ms" is shorter than 1s; give each step at least 1s/,
  ],
  [
    'negative maxRetries',
    { tls: { rotateCertificates: true }, ...withTls(), request: { maxRetries: -1 } },
    'spec.maxRetries',
    /is not a whole number of retries; use 0 to 10/,
  ],
  [
    'maxRetries beyond the bound (a failing step would grow the history until Temporal ends the run)',
    { tls: { rotateCertificates: true }, ...withTls(), request: { maxRetries: 2147483647 } },
    'spec.maxRetries',
    /2147483647 is more than 10; use 0 to 10/,
  ],
  [
    'an sslMode outside the enum',
    { tls: { sslMode: 'disabled' as 'disable' }, ...withTls() },
    'spec.tls.sslMode',
    /"disabled" is not an sslMode; use one of disable, allow, prefer, require, verify-ca, verify-full/,
  ],
  [
    'clientAuthMode scram',
    { tls: { clientAuthMode: 'scram' as 'md5' }, ...withTls() },
    'spec.tls.clientAuthMode',
    /"scram" is not a client auth mode; use md5 or scram-sha-256/,
  ],
  [
    'a PgBouncer whose name cannot be a DNS label',
    { tls: { issuerRef: ref('ca-one') }, pbName: 'pb.v1' },
    'spec.databaseRef.name',
    /cannot get a server certificate.*; TLS needs a PgBouncer whose name is a DNS label/,
  ],
];

describe('validation errors', () => {
  test.each(cases)('%s', (_name, scenario, field, message) => {
    const live = liveState(scenario);
    const errors = validateRequest(live);
    const hit = errors.find((e) => e.field === field);
    if (!hit) throw new Error(`no error on ${field}; got:\n${errors.map((e) => e.message).join('\n')}`);
    expect(hit.message.startsWith(`${field}: `)).toBe(true);
    expect(hit.message).toMatch(message);
    // Every message says what to fix after what is wrong.
    expect(hit.message).toContain('; ');
  });
});

describe('validation', () => {
  test('collects every error, not just the first', () => {
    const errors = errorsOf({
      tls: {
        remove: true,
        rotateCertificates: true,
        sslMode: 'verify-ca',
        certificates: [{ alias: 'server', duration: '10m', ipAddresses: ['nope'] }],
      },
      ...withTls(),
      phase: 'NotReady',
      request: { timeout: 'soon' },
    });
    expect(errors.map((e) => e.field).sort()).toEqual(
      [
        'spec.apply',
        'spec.timeout',
        'spec.tls.certificates',
        'spec.tls.certificates[0].duration',
        'spec.tls.certificates[0].ipAddresses[0]',
        'spec.tls.rotateCertificates',
        'spec.tls.sslMode',
      ].sort(),
    );
  });

  test('a missing PgBouncer still reports the problems of the request itself', () => {
    const errors = errorsOf({
      pb: null,
      tls: { issuerRef: ref('nowhere'), certificates: [{ alias: 'server', duration: 'forever' }] },
    });
    expect(errors.map((e) => e.field)).toEqual([
      'spec.databaseRef.name',
      'spec.tls.issuerRef.name',
      'spec.tls.certificates[0].duration',
    ]);
  });

  test('an issuer shared by two certificates is reported once per field', () => {
    const errors = errorsOf({
      tls: { certificates: [{ alias: 'server', duration: '720h' }] },
      ...withTls(),
      issuers: [issuer('ca-one', { problem: 'Secret demo/ca-one-ca has no tls.key' })],
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.field).toBe('spec.tls.issuerRef');
  });

  test('a wrong type skips the TLS checks', () => {
    const errors = errorsOf({
      request: { type: 'HorizontalScaling' },
      tls: { remove: true, rotateCertificates: true },
    });
    expect(errors.map((e) => e.field)).toEqual(['spec.type']);
  });

  test('remove needs no working issuer: the old one may be gone', () => {
    const plan = planOf({ tls: { remove: true }, ...withTls(), issuers: [] });
    expect(plan.intent).toBe('remove');
    expect(plan.revoke).toEqual([]);
    expect(plan.warnings.join('\n')).toMatch(/cannot be recorded as revoked: Issuer "ca-one" was not found/);
  });

  test('rotate naming the issuer already in use is fine', () => {
    expect(planOf({ tls: { rotateCertificates: true, issuerRef: ref('ca-one') }, ...withTls() }).intent).toBe('rotate');
  });

  test('apply: Always runs on a PgBouncer that is not Ready, with a warning', () => {
    const plan = planOf({
      tls: { rotateCertificates: true },
      ...withTls(),
      phase: 'Critical',
      request: { apply: 'Always' },
    });
    expect(plan.warnings.join('\n')).toMatch(/is Critical; spec\.apply: Always runs the request anyway/);
  });

  test('sslMode disable alone on a PgBouncer without TLS is a valid (no-op) settings update', () => {
    expect(planOf({ tls: { sslMode: 'disable' } }).intent).toBe('update-settings');
  });

  test('clientAuthMode alone on a PgBouncer without TLS updates the settings', () => {
    const plan = planOf({ tls: { clientAuthMode: 'scram-sha-256' } });
    expect(plan.intent).toBe('update-settings');
    expect(plan.newSpec).toEqual({ tls: null, sslMode: 'disable', authType: 'scram-sha-256' });
  });

  test('renewBefore shorter than the duration is valid: 1h with 59m50s', () => {
    const errors = validateRequest(
      liveState({
        tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', duration: '1h', renewBefore: '59m50s' }] },
      }),
    );
    expect(errors).toEqual([]);
  });

  test("a bad value in the PgBouncer's stored certificate spec names the PgBouncer and the override", () => {
    const errors = errorsOf({
      tls: { rotateCertificates: true },
      pb: tlsFrom('ca-one', { certificates: [{ alias: 'server', duration: 'a while' }] }),
      certificates: served(),
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.field).toBe('spec.tls.certificates[alias=server].duration');
    expect(errors[0]!.message).toMatch(
      /PgBouncer "pb"'s spec\.tls\); set the field in this request's spec\.tls\.certificates to override it/,
    );
  });
});

test('a CA that is not valid yet is refused, naming the issuer field and the fix', () => {
  const errors = errorsOf({
    issuers: [issuer('ca-one'), issuer('future', { caNotBefore: '2026-11-29T12:00:00.000Z' })],
    tls: { issuerRef: ref('future') },
  });
  expect(errors.map((e) => e.field)).toEqual(['spec.tls.issuerRef']);
  expect(errors[0].message).toMatch(
    /CA of Issuer "future" .* is not valid until 2026-11-29T12:00:00\.000Z.*; wait until then/,
  );
});

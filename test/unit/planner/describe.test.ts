import { describe, expect, test } from '@jest/globals';
import { describePlan } from '../../../lib/planner/plan.js';
import { issuer, planOf, pods, ref, served, tlsFrom, withTls } from './live-state-builder.js';

describe('describePlan', () => {
  test('an issuer change: Secrets, staging, SANs, CA bundle, revocations, pods, warnings', () => {
    const text = describePlan(
      planOf({
        tls: {
          issuerRef: ref('ca-two'),
          certificates: [{ alias: 'server', dnsNames: ['pb.example.com'], subject: { organizations: ['Example'] } }],
        },
        ...withTls(),
      }),
    );
    expect(text.split('\n')[0]).toBe('PgBouncer demo/pb: change issuer: re-issue the certificates from another CA');
    expect(text).toContain('TLS on → on; sslMode verify-full');
    expect(text).toContain(
      'server (server certificate) → Secret pb-server-cert, staged in pb-server-cert-next-abcdef12',
    );
    expect(text).toContain(
      'client (client certificate) → Secret pb-client-cert, staged in pb-client-cert-next-abcdef12',
    );
    expect(text).toContain('issuer:   Issuer "ca-two" (CA valid until 2036-01-01T00:00:00.000Z)');
    expect(text).toContain('subject:  CN=pb, O=Example');
    expect(text).toContain('subject:  CN=pgbouncer');
    expect(text).toContain('key:      RSA 2048, PKCS1; valid 2160h (90d)');
    expect(text).toMatch(/DNS: +localhost, pb, /);
    expect(text).toContain('pb.example.com');
    expect(text).toContain('IP:       127.0.0.1, ::1');
    expect(text).toContain('ca.crt carries the old and the new CA until every pod serves the new certificate');
    expect(text).toContain('server serial 0A01 (Issuer "ca-one")');
    expect(text.indexOf('pb-2: restart')).toBeLessThan(text.indexOf('pb-0: restart'));
    expect(text).toMatch(/Warnings:\n {2}! sslMode verify-full/);
    expect(text).toMatch(/! the CA changes to that of Issuer "ca-two"/);
    // Long SAN lists wrap instead of running off the terminal.
    expect(
      Math.max(
        ...text
          .split('\n')
          .filter((l) => !l.includes('!'))
          .map((l) => l.length),
      ),
    ).toBeLessThanOrEqual(120);
  });

  test('remove on one replica: deleted Secrets, no certificates, the downtime warning', () => {
    const text = describePlan(
      planOf({ tls: { remove: true }, pb: { ...tlsFrom(), replicas: 1 }, certificates: served(), pods: pods(1) }),
    );
    expect(text).toContain('PgBouncer demo/pb: remove TLS');
    expect(text).toContain('TLS on → off; sslMode disable');
    expect(text).toContain('Certificates to issue: none');
    expect(text).toMatch(/Secrets deleted when the request succeeds:\n {2}pb-server-cert\n {2}pb-client-cert/);
    expect(text).toContain('pb-0: restart (drain up to 30s, then eviction)');
    expect(text).toContain('has 1 replica');
  });

  test('a hot-reloaded rotation says reload per pod', () => {
    const text = describePlan(planOf({ tls: { rotateCertificates: true }, ...withTls() }, { hotReload: true }));
    expect(text).toMatch(/pb-2: reload \(RELOAD, no restart\)\n {2}pb-1: reload/);
    expect(text).toContain('ca.crt carries the new CA');
  });

  test('the step deadline and retries the request asks for', () => {
    const withLimits = (request: object) =>
      describePlan(planOf({ tls: { rotateCertificates: true }, ...withTls(), request }));
    expect(withLimits({ timeout: '5m', maxRetries: 2 })).toContain(
      'Steps: at most 5m each; a failed step is tried 2 more time(s)',
    );
    expect(withLimits({})).toContain('Steps: no deadline; a failed step is tried 1 more time(s)');
  });

  test('settings only, with no pods and an auth type', () => {
    const text = describePlan(
      planOf({
        tls: { clientAuthMode: 'scram-sha-256', sslMode: 'require' },
        ...withTls(),
        pods: [],
        issuers: [issuer('ca-one')],
      }),
    );
    expect(text).toContain('update TLS settings; no certificate is issued');
    expect(text).toContain('sslMode require; auth_type scram-sha-256');
    expect(text).toMatch(/highest ordinal first:\n {2}none/);
  });
});

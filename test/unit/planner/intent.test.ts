import { describe, expect, test } from '@jest/globals';
import type { PgBouncerTLSSpec, TLSConfig } from '../../../lib/api/types.js';
import {
  intentOf,
  mintsCertificates,
  replacesCertificates,
  sameIssuer,
  tlsEnabled,
} from '../../../lib/planner/intent.js';
import type { Intent } from '../../../lib/planner/types.js';
import { ref } from './live-state-builder.js';

const on: TLSConfig = { issuerRef: ref('ca-one') };

describe('intentOf (DESIGN §3)', () => {
  const table: [string, PgBouncerTLSSpec, TLSConfig | undefined, Intent][] = [
    ['remove', { remove: true }, on, 'remove'],
    ['remove wins over everything', { remove: true, rotateCertificates: true, issuerRef: ref('ca-two') }, on, 'remove'],
    ['rotateCertificates', { rotateCertificates: true }, on, 'rotate'],
    ['rotateCertificates wins over issuerRef', { rotateCertificates: true, issuerRef: ref('ca-one') }, on, 'rotate'],
    ['issuerRef without TLS', { issuerRef: ref('ca-one') }, undefined, 'add'],
    ['issuerRef on an empty spec.tls', { issuerRef: ref('ca-one') }, {}, 'add'],
    ['another issuerRef', { issuerRef: ref('ca-two') }, on, 'change-issuer'],
    ['same name, other kind', { issuerRef: ref('ca-one', 'ClusterIssuer') }, on, 'change-issuer'],
    ['the same issuerRef', { issuerRef: ref('ca-one') }, on, 'reissue'],
    ['the same issuerRef without apiGroup', { issuerRef: { kind: 'Issuer', name: 'ca-one' } }, on, 'reissue'],
    ['certificates alone', { certificates: [{ alias: 'server', duration: '720h' }] }, on, 'reissue'],
    ['sslMode alone', { sslMode: 'require' }, on, 'update-settings'],
    ['clientAuthMode alone', { clientAuthMode: 'scram-sha-256' }, undefined, 'update-settings'],
    ['an empty certificates list', { certificates: [], sslMode: 'prefer' }, on, 'update-settings'],
  ];
  test.each(table)('%s', (_name, request, current, intent) => {
    expect(intentOf(request, current)).toBe(intent);
  });
});

describe('intent helpers', () => {
  test('which intents mint and which replace what is served', () => {
    const all: Intent[] = ['add', 'rotate', 'change-issuer', 'remove', 'reissue', 'update-settings'];
    expect(all.filter(mintsCertificates)).toEqual(['add', 'rotate', 'change-issuer', 'reissue']);
    expect(all.filter(replacesCertificates)).toEqual(['rotate', 'change-issuer', 'remove', 'reissue']);
  });

  test('TLS is on when an issuer is named; issuers compare by kind and name', () => {
    expect([tlsEnabled(undefined), tlsEnabled(null), tlsEnabled({}), tlsEnabled(on)]).toEqual([
      false,
      false,
      false,
      true,
    ]);
    expect(sameIssuer(ref('a'), { kind: 'Issuer', name: 'a' })).toBe(true);
    expect(sameIssuer(ref('a'), ref('a', 'ClusterIssuer'))).toBe(false);
    expect(sameIssuer(ref('a'), undefined)).toBe(false);
  });
});

// The skipper as a table: which newer request may make an older Pending one Skipped.
import type { PgBouncerOpsRequest, PgBouncerTLSSpec } from '../../../lib/api/types.js';
import { supersedingRequest, tlsAsk } from '../../../lib/planner/supersede.js';

interface Req {
  name: string;
  at: string; // creationTimestamp
  phase?: string;
  tls?: PgBouncerTLSSpec;
  type?: PgBouncerOpsRequest['spec']['type'];
  db?: string;
}

const issuer = (name: string, kind: 'Issuer' | 'ClusterIssuer' = 'Issuer') => ({
  apiGroup: 'cert-manager.io' as const,
  kind,
  name,
});

function request(r: Req): PgBouncerOpsRequest {
  return {
    apiVersion: 'ops.kubedb.com/v1alpha1',
    kind: 'PgBouncerOpsRequest',
    metadata: { name: r.name, uid: `uid-${r.name}`, creationTimestamp: r.at as unknown as Date },
    spec: { type: r.type ?? 'ReconfigureTLS', databaseRef: { name: r.db ?? 'pb' }, tls: r.tls },
    ...(r.phase === undefined ? {} : { status: { phase: r.phase as 'Pending' } }),
  };
}

const T0 = '2026-12-01T10:00:00Z';
const T1 = '2026-12-01T10:00:05Z';
const rotate: PgBouncerTLSSpec = { rotateCertificates: true };
const me: Req = { name: 'older', at: T0, phase: 'Pending', tls: rotate };

const cases: [string, Req, Req[], string | undefined][] = [
  [
    'a newer validated request with the same ask',
    me,
    [{ name: 'newer', at: T1, phase: 'Pending', tls: rotate }],
    'newer',
  ],
  [
    'the newest of several',
    me,
    [
      { name: 'mid', at: '2026-12-01T10:00:02Z', phase: 'Pending', tls: rotate },
      { name: 'newest', at: T1, phase: 'Pending', tls: rotate },
    ],
    'newest',
  ],
  ['a newer request not yet validated (no phase)', me, [{ name: 'newer', at: T1, tls: rotate }], undefined],
  ['a newer request that failed validation', me, [{ name: 'newer', at: T1, phase: 'Failed', tls: rotate }], undefined],
  ['an older request', me, [{ name: 'old', at: '2026-12-01T09:00:00Z', phase: 'Pending', tls: rotate }], undefined],
  [
    'add against change-issuer: another issuer',
    { ...me, tls: { issuerRef: issuer('ca-one') } },
    [{ name: 'newer', at: T1, phase: 'Pending', tls: { issuerRef: issuer('ca-two') } }],
    undefined,
  ],
  [
    'same issuer name, other kind',
    { ...me, tls: { issuerRef: issuer('ca-one') } },
    [{ name: 'newer', at: T1, phase: 'Pending', tls: { issuerRef: issuer('ca-one', 'ClusterIssuer') } }],
    undefined,
  ],
  ['rotate against remove', me, [{ name: 'newer', at: T1, phase: 'Pending', tls: { remove: true } }], undefined],
  [
    'another certificate spec',
    { ...me, tls: { ...rotate, certificates: [{ alias: 'server', duration: '720h' }] } },
    [
      {
        name: 'newer',
        at: T1,
        phase: 'Pending',
        tls: { ...rotate, certificates: [{ alias: 'server', duration: '2160h' }] },
      },
    ],
    undefined,
  ],
  [
    'the same certificates listed in another order',
    {
      ...me,
      tls: {
        ...rotate,
        certificates: [
          { alias: 'server', duration: '720h' },
          { alias: 'client', duration: '720h' },
        ],
      },
    },
    [
      {
        name: 'newer',
        at: T1,
        phase: 'Pending',
        tls: {
          certificates: [
            { duration: '720h', alias: 'client' },
            { alias: 'server', duration: '720h' },
          ],
          rotateCertificates: true,
        },
      },
    ],
    'newer',
  ],
  [
    'another sslMode',
    me,
    [{ name: 'newer', at: T1, phase: 'Pending', tls: { ...rotate, sslMode: 'require' } }],
    undefined,
  ],
  ['another type', me, [{ name: 'newer', at: T1, phase: 'Pending', tls: rotate, type: 'Restart' }], undefined],
  ['another PgBouncer', me, [{ name: 'newer', at: T1, phase: 'Pending', tls: rotate, db: 'other' }], undefined],
  [
    'I am already Progressing',
    { ...me, phase: 'Progressing' },
    [{ name: 'newer', at: T1, phase: 'Pending', tls: rotate }],
    undefined,
  ],
  [
    'I am not validated yet either (empty phase counts as Pending for me)',
    { ...me, phase: undefined },
    [{ name: 'newer', at: T1, phase: 'Pending', tls: rotate }],
    'newer',
  ],
  [
    'same second: the smaller name is newer',
    { ...me, name: 'b' },
    [{ name: 'a', at: T0, phase: 'Pending', tls: rotate }],
    'a',
  ],
  [
    'same second: the larger name is older',
    { ...me, name: 'a' },
    [{ name: 'b', at: T0, phase: 'Pending', tls: rotate }],
    undefined,
  ],
];

test.each(cases)('%s', (_what, mine, others, expected) => {
  expect(supersedingRequest(request(mine), others.map(request))?.metadata.name).toBe(expected);
});

test('the ask ignores undefined fields and key order', () => {
  expect(tlsAsk({ rotateCertificates: true, sslMode: undefined })).toBe(tlsAsk({ rotateCertificates: true }));
  expect(tlsAsk({ issuerRef: issuer('x') })).not.toBe(tlsAsk({ issuerRef: issuer('y') }));
});

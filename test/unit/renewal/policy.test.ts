import { describe, expect, test } from '@jest/globals';
import {
  caMarginWarnings,
  expiryStamp,
  planRenewal,
  renewalRequestName,
  retryBackoffMs,
  type CertificateFacts,
  type PlanInput,
} from '../../../lib/renewal/policy.js';
import { parseMaintenanceWindows } from '../../../lib/renewal/window.js';

const H = 3_600_000;
const D = 24 * H;
const t0 = Date.parse('2026-12-05T12:00:00Z'); // a Saturday
const iso = (ms: number) => new Date(ms).toISOString();

function cert(
  alias: string,
  notBefore: number,
  lifetime: number,
  extra: Partial<CertificateFacts> = {},
): CertificateFacts {
  return {
    alias,
    secretName: `pb-${alias}-cert`,
    serialHex: '01',
    notBefore: iso(notBefore),
    notAfter: iso(notBefore + lifetime),
    ca: { issuer: 'Issuer ca-one', notBefore: iso(t0 - 100 * D), notAfter: iso(t0 + 3650 * D) },
    ...extra,
  };
}

const input = (over: Partial<PlanInput>): PlanInput => ({
  pgbouncer: 'pb',
  now: t0,
  certificates: [cert('server', t0, 90 * D), cert('client', t0, 90 * D)],
  attempts: [],
  ...over,
});

describe('planRenewal: when the next request is created', () => {
  const cases: [string, Partial<PlanInput>, string, RegExp][] = [
    ['default: a third of the lifetime before expiry', {}, iso(t0 + 60 * D), /a third of the 90d lifetime/],
    [
      'renewBefore of the spec',
      { certificates: [cert('server', t0, 90 * D, { renewBeforeMs: 10 * D }), cert('client', t0, 90 * D)] },
      iso(t0 + 60 * D), // the client's default (30d before) comes first
      /client certificate expires/,
    ],
    [
      'the earliest expiry decides',
      { certificates: [cert('server', t0, 90 * D), cert('client', t0 - 80 * D, 90 * D)] },
      iso(t0 - 20 * D), // overdue: now
      /client certificate/,
    ],
    [
      '1h with renewBefore 59m50s renews 10 s after issuance',
      {
        certificates: [
          cert('server', t0, H, { renewBeforeMs: H - 10_000 }),
          cert('client', t0, H, { renewBeforeMs: H - 10_000 }),
        ],
      },
      iso(t0 + 10_000),
      /spec\.tls\.certificates\[alias=server\]\.renewBefore/,
    ],
    [
      'renewBefore not shorter than the lifetime falls back to a third, and says why',
      { certificates: [cert('server', t0, 30 * D, { renewBeforeMs: 60 * D })] },
      iso(t0 + 20 * D),
      /renewBefore \(60d\) is not shorter than the certificate's 30d lifetime/,
    ],
    [
      'after two failures: backoff of 2 minutes from the last end',
      {
        certificates: [cert('server', t0 - 61 * D, 90 * D)],
        attempts: [
          { name: 'a', phase: 'Failed', endedAt: iso(t0 - 5 * 60_000) },
          { name: 'b', phase: 'Failed', endedAt: iso(t0 - 60_000) },
        ],
      },
      iso(t0 + 60_000),
      /2 earlier tries failed \(last: b\); retrying after 2m/,
    ],
  ];
  test.each(cases)('%s', (_name, over, at, reason) => {
    const plan = planRenewal(input(over));
    expect(plan.at).toBe(at);
    expect(plan.reasons.join('\n')).toMatch(reason);
  });

  test('maintenance window: closed delays to its opening; the safety margin overrides it', () => {
    const windows = parseMaintenanceWindows('Sun 02:00-03:00'); // next: 2026-12-06T02:00Z
    const lifetime = H;
    const facts = [cert('server', t0, lifetime, { renewBeforeMs: lifetime - 10_000 })];
    // 59m50s left at the renewal time, default margin 6m: the window (14 h away) would end past
    // expiry, so the renewal waits only until the margin begins.
    const defaultMargin = planRenewal(input({ certificates: facts, windows }));
    expect(defaultMargin.at).toBe(iso(t0 + lifetime - 6 * 60_000));
    expect(defaultMargin.reasons.join()).toMatch(/safety margin \(6m before expiry\) begins/);
    // A margin longer than what is left: the window is ignored.
    const urgent = planRenewal(input({ certificates: facts, windows, safetyMarginMs: H }));
    expect(urgent.at).toBe(iso(t0 + 10_000));
    expect(urgent.reasons.join()).toMatch(/does not wait for it/);
    // A 90-day certificate waits for the window.
    const long = planRenewal(input({ certificates: [cert('server', t0 - 61 * D, 90 * D)], windows }));
    expect(long.at).toBe('2026-12-06T02:00:00.000Z');
    expect(long.reasons.join()).toMatch(/waits for the maintenance window/);
    // Open now: no delay.
    const open = planRenewal(
      input({
        certificates: [cert('server', t0 - 61 * D, 90 * D)],
        windows: parseMaintenanceWindows('Sat 11:00-13:00'),
      }),
    );
    expect(open.at).toBe(iso(t0 - D));
  });

  test('a request of this expiry still running: wait for it; the next name counts every try', () => {
    const plan = planRenewal(
      input({
        attempts: [
          { name: 'pb-renew-x-1', phase: 'Failed', endedAt: iso(t0) },
          { name: 'pb-renew-x-2', phase: 'Progressing' },
        ],
      }),
    );
    expect(plan.inProgress).toBe('pb-renew-x-2');
    expect(plan.attempt).toBe(3);
    expect(plan.requestName).toBe(`pb-renew-${expiryStamp(iso(t0 + 90 * D))}-3`);
  });

  test("a person's request on the pooler not yet ended is passed on, for the renewal to wait", () => {
    expect(planRenewal(input({ busyWith: ['remove-tls'] })).busyWith).toEqual(['remove-tls']);
    expect(planRenewal(input({ busyWith: [] })).busyWith).toBeUndefined();
  });

  test('urgency: under 10% of the lifetime or under 24 h left', () => {
    expect(planRenewal(input({})).urgency).toBeUndefined();
    const late = planRenewal(input({ certificates: [cert('server', t0 - 82 * D, 90 * D)] }));
    expect(late.urgency).toMatch(/only 8d left until the certificate expires \(less than 10% of its lifetime\)/);
    const day = planRenewal(input({ certificates: [cert('server', t0 - 89.5 * D, 90 * D)] }));
    expect(day.urgency).toMatch(/less than 10% of its lifetime and less than 24 h/);
    const gone = planRenewal(input({ certificates: [cert('server', t0 - 91 * D, 90 * D)] }));
    expect(gone.urgency).toMatch(/EXPIRED 1d ago/);
  });

  test('a leaf that already ends with its CA is blocked: renewing cannot extend it', () => {
    const ca = { issuer: 'Issuer ca-one', notBefore: iso(t0 - 300 * D), notAfter: iso(t0 + 20 * D) };
    const plan = planRenewal(input({ certificates: [cert('server', t0, 20 * D, { ca })] }));
    expect(plan.at).toBeUndefined();
    expect(plan.blocked).toMatch(
      /ends when its CA \(Issuer ca-one\) expires, .*renewing it cannot extend it: renew the CA/,
    );
    expect(plan.caWarnings.join()).toMatch(/within the last third of its lifetime/);
  });
});

test('CA margin: a third of the CA lifetime', () => {
  const ca = (notBefore: number, notAfter: number) => [
    cert('server', t0, D, { ca: { issuer: 'Issuer x', notBefore: iso(notBefore), notAfter: iso(notAfter) } }),
  ];
  expect(caMarginWarnings(ca(t0 - 100 * D, t0 + 201 * D), t0)).toEqual([]);
  expect(caMarginWarnings(ca(t0 - 300 * D, t0 + 99 * D), t0)[0]).toMatch(/expires .* \(in 99d/);
  expect(caMarginWarnings(ca(t0 - 300 * D, t0 - D), t0)[0]).toMatch(/EXPIRED/);
});

test('names: derived from the expiry and the try, usable as object names and label values', () => {
  expect(expiryStamp('2026-12-05T12:34:56.000Z')).toBe('20261205-123456');
  expect(renewalRequestName('pb', '2026-12-05T12:34:56.000Z', 2)).toBe('pb-renew-20261205-123456-2');
  expect(retryBackoffMs(1)).toBe(60_000);
  expect(retryBackoffMs(3)).toBe(240_000);
  expect(retryBackoffMs(30)).toBe(6 * H);
});

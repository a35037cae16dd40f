// When a turn's Lease counts as expired: its holder stopped renewing it for leaseDurationSeconds
// (a run terminated from the UI, or its workers gone that long). Leases from before durations never expire.
import type { V1Lease } from '@kubernetes/client-node';
import { leaseExpired } from '../../../activities/kubernetes/turn.js';

const lease = (renewTime: string | undefined, leaseDurationSeconds?: number): V1Lease => ({
  spec: { holderIdentity: 'r/uid', renewTime: renewTime as unknown as Date, leaseDurationSeconds },
});
const now = Date.parse('2026-12-02T12:00:00Z');

test.each([
  ['renewed within its duration', lease('2026-12-02T11:58:00.000000Z', 300), false],
  ['not renewed for longer than its duration', lease('2026-12-02T11:54:59.000000Z', 300), true],
  ['written before Leases had a duration', lease('2026-12-01T00:00:00.000000Z'), false],
  ['with no renewTime at all', lease(undefined, 300), false],
])('a Lease %s', (_, l, expired) => {
  expect(leaseExpired(l, now)).toBe(expired);
});

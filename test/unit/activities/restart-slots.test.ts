// The fleet-wide restart slots: who holds one is read from the Lease's annotation, and a holder
// that stopped renewing (its run terminated) no longer counts.
import type { V1Lease } from '@kubernetes/client-node';
import { HOLDERS_ANNOTATION, holdersOf } from '../../../activities/kubernetes/restart-slots.js';

const lease = (annotation: string | undefined): V1Lease => ({
  metadata: { annotations: annotation === undefined ? {} : { [HOLDERS_ANNOTATION]: annotation } },
});
const now = 1_000_000;

test.each([
  ['no Lease yet', undefined, {}],
  ['no holders yet', lease(undefined), {}],
  [
    'holders renewed within the duration',
    lease(JSON.stringify({ a: now - 1_000, b: now })),
    { a: now - 1_000, b: now },
  ],
  ['a holder that stopped renewing is dropped', lease(JSON.stringify({ a: now - 300_001, b: now })), { b: now }],
  ['an annotation that is not JSON counts as no holders', lease('{oops'), {}],
  ['entries that are not timestamps are ignored', lease(JSON.stringify({ a: 'x', b: now })), { b: now }],
])('%s', (_, l, expected) => {
  expect(holdersOf(l, now, 300_000)).toEqual(expected);
});

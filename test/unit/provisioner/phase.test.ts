import type { PgBouncerPhase } from '../../../lib/api/types.js';
import { computePhase } from '../../../provisioner/phase.js';

test.each<[PgBouncerPhase | undefined, number, number, PgBouncerPhase]>([
  [undefined, 3, 0, 'Provisioning'],
  [undefined, 3, 3, 'Ready'],
  ['Provisioning', 3, 2, 'Provisioning'],
  ['Provisioning', 3, 0, 'Provisioning'],
  ['Provisioning', 3, 3, 'Ready'],
  ['Ready', 3, 3, 'Ready'],
  ['Ready', 3, 2, 'Critical'],
  ['Ready', 4, 3, 'Critical'],
  ['Ready', 3, 0, 'NotReady'],
  ['Critical', 3, 3, 'Ready'],
  ['Critical', 3, 0, 'NotReady'],
  ['NotReady', 3, 1, 'Critical'],
  ['NotReady', 1, 1, 'Ready'],
  ['Ready', 2, 3, 'Ready'], // scaling down: more ready than wanted is still all ready
])('after %s with %i replicas and %i ready: %s', (previous, replicas, ready, expected) => {
  expect(computePhase(previous, replicas, ready)).toBe(expected);
});

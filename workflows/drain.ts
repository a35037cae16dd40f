// The drain before a restart, as the workflow sees it: what to ask the drainPod activity for and
// how to say what it did. Deterministic, no I/O.
import type { DrainResult, DrainTarget } from '../activities/pgbouncer/drain.js';
import { DEFAULT_DRAIN_BOUND_MS } from '../lib/planner/pods.js';
import type { Plan } from '../lib/planner/types.js';
import type { Rollout } from './run.js';

export const drainBoundMs = (plan: Plan) => plan.drainBoundMs ?? DEFAULT_DRAIN_BOUND_MS;

export function drainTarget(run: Rollout, pod: string, uid: string): DrainTarget {
  const { namespace, name: pgbouncer } = run.plan.pgbouncer;
  return {
    namespace,
    pgbouncer,
    pod,
    uid,
    boundMs: drainBoundMs(run.plan),
    snapshot: run.undo.snapshot,
    staging: run.undo.staging,
  };
}

export function describeDrain(d: DrainResult): string {
  const took = `${(d.elapsedMs / 1000).toFixed(1)} s`;
  switch (d.method) {
    case 'already-replaced':
      return `pod ${d.pod}: that incarnation is already gone; nothing to drain`;
    case 'timed':
      return `pod ${d.pod} out of the Service for ${took} (no TLS admin console to watch its sessions)`;
    default:
      return (
        `pod ${d.pod} out of the Service; ${d.clientsAtStart} client(s) at the start, ` +
        `${d.lateConnections} arrived late, ${d.clientsLeft} still open after ${took}` +
        (d.clientsLeft ? ' (they outlived the drain bound and are dropped by the restart)' : '')
      );
  }
}

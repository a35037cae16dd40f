// The pure half of the watcher's orphan sweep. A request deleted while no watcher was watching
// (or deleted and created again under the same name) never produces the delete event that cancels
// its workflow; the sweep finds such runs by asking Temporal which reconfigureTLS runs are open and
// checking each one's request, named by its workflow id, against the cluster.
import type { OpsRequestRef } from '../lib/planner/types.js';
import { requestOfWorkflowId } from '../workflows/ids.js';

export { requestOfWorkflowId };

/** A string literal of Temporal's visibility query language. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The visibility query for the open runs a watcher answers for: its workflow type on its task
 * queue (the workers polling a queue act on one cluster, so runs on other queues belong to other
 * clusters and their requests are not ours to judge), in the namespaces it watches (none: all).
 */
export function openRunsQuery(opts: { workflowType: string; taskQueue: string; namespaces: string[] }): string {
  const clauses = [
    `WorkflowType = ${literal(opts.workflowType)}`,
    `ExecutionStatus = 'Running'`,
    `TaskQueue = ${literal(opts.taskQueue)}`,
  ];
  if (opts.namespaces.length === 1) clauses.push(`Namespace = ${literal(opts.namespaces[0])}`);
  else if (opts.namespaces.length > 1) clauses.push(`Namespace IN (${opts.namespaces.map(literal).join(', ')})`);
  return clauses.join(' AND ');
}

/** A run is orphaned when its request is gone, or its name now belongs to another request (another uid). */
export const requestIsGone = (ref: OpsRequestRef, liveUid: string | undefined): boolean => liveUid !== ref.uid;

export interface OrphanCandidate {
  workflowId: string;
  ref: OpsRequestRef;
}

/**
 * Open runs whose request the watcher's cache does not hold with the run's uid. Only candidates:
 * the cache may lag behind a request created a moment ago, so each one is checked against the API
 * server before its run is cancelled. Ids of another shape are not ours and are left alone.
 */
export function orphanCandidates(
  openWorkflowIds: Iterable<string>,
  cachedUid: (ref: OpsRequestRef) => string | undefined,
): OrphanCandidate[] {
  const out: OrphanCandidate[] = [];
  for (const workflowId of openWorkflowIds) {
    const ref = requestOfWorkflowId(workflowId);
    if (ref && requestIsGone(ref, cachedUid(ref))) out.push({ workflowId, ref });
  }
  return out;
}

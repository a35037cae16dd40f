// Reading and writing the PgBouncerOpsRequest: its status the way KubeDB shows it (phase,
// observedGeneration, one condition per step) and an Event per step.
import { OPS_REQUESTS } from '../../lib/api/resources.js';
import { type Condition, type OpsRequestPhase, type PgBouncerOpsRequest } from '../../lib/api/types.js';
import { getOrUndefined, isConflict, isNotFound, mergePatch, type Kube } from '../../lib/kube/kube.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import { objectGone } from '../failures.js';

export interface StatusUpdate {
  phase?: OpsRequestPhase;
  condition?: { type: string; status: 'True' | 'False' | 'Unknown'; reason: string; message: string };
  event?: { type: 'Normal' | 'Warning'; reason: string; message: string };
  /** More conditions and Events that became true together with this one, in the same write. */
  also?: Pick<StatusUpdate, 'condition' | 'event'>[];
}

export async function readOpsRequest(kube: Kube, ref: OpsRequestRef): Promise<PgBouncerOpsRequest | undefined> {
  const req = (await getOrUndefined(() =>
    kube.custom.getNamespacedCustomObject({ ...OPS_REQUESTS, namespace: ref.namespace, name: ref.name }),
  )) as PgBouncerOpsRequest | undefined;
  // A request deleted and re-created under the same name is another request.
  return req && req.metadata.uid === ref.uid ? req : undefined;
}

/** Merges one condition into the list by type, keeping lastTransitionTime when the status is unchanged. */
export function mergeCondition(
  conditions: Condition[],
  next: NonNullable<StatusUpdate['condition']>,
  generation: number,
  now: string,
): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const merged: Condition = {
    ...next,
    observedGeneration: generation,
    lastTransitionTime: previous && previous.status === next.status ? previous.lastTransitionTime : now,
  };
  return [...conditions.filter((c) => c.type !== next.type), merged];
}

/**
 * Writes one status update (phase, a condition, an Event). `known` is the request as this worker
 * last wrote it: the write is a compare-and-swap on its resourceVersion, so a stale copy costs a
 * 409, a fresh read and one more try, never a lost condition; without it the request is read
 * first. Returns the request as written, or undefined when it is gone and `ifExists` says that is
 * fine (nobody left to tell).
 */
export async function updateOpsRequestStatus(
  kube: Kube,
  ref: OpsRequestRef,
  update: StatusUpdate,
  opts: { ifExists?: boolean; known?: PgBouncerOpsRequest } = {},
): Promise<PgBouncerOpsRequest | undefined> {
  let req = opts.known?.metadata.uid === ref.uid ? opts.known : await readOpsRequest(kube, ref);
  for (let attempt = 0; ; attempt++) {
    if (!req) {
      if (opts.ifExists) return undefined;
      throw objectGone(`PgBouncerOpsRequest ${ref.namespace}/${ref.name} (uid ${ref.uid}) no longer exists`);
    }
    const now = new Date().toISOString();
    const generation = req.metadata.generation ?? 1;
    const status: Record<string, unknown> = { observedGeneration: generation };
    if (update.phase) status.phase = update.phase;
    const conditions = [update.condition, ...(update.also ?? []).map((u) => u.condition)].filter(
      (c) => c !== undefined,
    );
    if (conditions.length)
      status.conditions = conditions.reduce(
        (all, c) => mergeCondition(all, c, generation, now),
        req.status?.conditions ?? [],
      );
    try {
      // resourceVersion makes this a compare-and-swap: a concurrent writer gives 409.
      const written = (await kube.custom.patchNamespacedCustomObjectStatus(
        {
          ...OPS_REQUESTS,
          namespace: ref.namespace,
          name: ref.name,
          body: { metadata: { resourceVersion: req.metadata.resourceVersion }, status },
        },
        mergePatch,
      )) as PgBouncerOpsRequest;
      for (const event of [update.event, ...(update.also ?? []).map((u) => u.event)])
        if (event) await recordEvent(kube, written, event);
      return written;
    } catch (err) {
      // Written from a kept copy, a deleted request answers 404: gone, as if read first.
      if (isNotFound(err)) {
        req = undefined;
        continue;
      }
      // A copy from an earlier write may be stale (another writer, another worker): read, retry
      // once; a 409 after a fresh read is a real race and goes to the activity's retries.
      if (!isConflict(err) || attempt > 0 || !opts.known) throw err;
      req = await readOpsRequest(kube, ref);
    }
  }
}

/** An Event on a request, or on any object (the renewal reports on its PgBouncer). */
export async function recordEvent(
  kube: Kube,
  req: { apiVersion: string; kind: string; metadata: PgBouncerOpsRequest['metadata'] },
  event: NonNullable<StatusUpdate['event']>,
): Promise<void> {
  const now = new Date();
  await kube.core.createNamespacedEvent({
    namespace: req.metadata.namespace!,
    body: {
      metadata: { generateName: `${req.metadata.name}.`, namespace: req.metadata.namespace },
      involvedObject: {
        apiVersion: req.apiVersion,
        kind: req.kind,
        name: req.metadata.name,
        namespace: req.metadata.namespace,
        uid: req.metadata.uid,
        resourceVersion: req.metadata.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message: event.message,
      source: { component: 'pgbouncer-tls-orchestrator' },
      reportingComponent: 'pgbouncer-tls-orchestrator',
      reportingInstance: 'worker',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    },
  });
}

// Restarting one pod the way KubeDB does: through the Eviction API, so the PodDisruptionBudget
// applies, then waiting until the StatefulSet controller's replacement is Ready. Keyed by the
// pod's uid: if that incarnation is already gone, a retry only waits, never evicts twice.
import type { V1Pod } from '@kubernetes/client-node';
import { classifyKubeError, getOrUndefined, isNotFound, type Kube } from '../../lib/kube/kube.js';
import { ApplicationFailure } from '@temporalio/common';
import { CONFIG_HASH_ANNOTATION } from '../../lib/api/names.js';
import { objectGone } from '../failures.js';

export interface WaitHooks {
  /** Called on every poll; activities heartbeat here. */
  progress(details: { phase: string; uid?: string }): void;
  /** Waits; rejects with the cancellation when the caller gave up. */
  sleep(ms: number): Promise<void>;
  /** Reads a pod for a poll (the worker's watch cache); default: from the API. */
  readPod?(namespace: string, name: string): Promise<V1Pod | undefined>;
}

/** How often a wait checks that the StatefulSet still wants the pod it waits for. */
export const WANTED_CHECK_MS = 5_000;

/** How long after a refused eviction (429) the next one is tried. */
const EVICTION_BACKOFF_MS = 2_000;

export const podReader =
  (kube: Kube, hooks: Pick<WaitHooks, 'readPod'>) =>
  (namespace: string, name: string): Promise<V1Pod | undefined> =>
    hooks.readPod
      ? hooks.readPod(namespace, name)
      : getOrUndefined(() => kube.core.readNamespacedPod({ name, namespace }));

export const isPodReady = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp &&
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export interface RestartResult {
  pod: string;
  oldUid: string;
  newUid: string;
  /** False when a previous attempt had already evicted this incarnation. */
  evicted: boolean;
  readyAfterMs: number;
}

export async function evictPodAndWaitReady(
  kube: Kube,
  args: { namespace: string; pod: string; uid: string; pollMs?: number },
  hooks: WaitHooks,
): Promise<RestartResult> {
  const { namespace, pod, uid } = args;
  const pollMs = args.pollMs ?? 500;
  const started = Date.now();
  const readPod = podReader(kube, hooks);
  let evicted = false;
  let wantedCheckedAt = 0;
  /** After the PDB refused an eviction (429), the next try waits this long: its status lags. */
  let evictNotBefore = 0;
  /** Replacement pods (by uid) already compared with the StatefulSet's template. */
  const upToDate = new Set<string>();
  for (;;) {
    const current = await readPod(namespace, pod);
    const currentUid = current?.metadata?.uid;
    // A cached copy may not show the eviction yet: evict an incarnation once, unless it was refused.
    if (current && currentUid === uid && !current.metadata?.deletionTimestamp && evicted) {
      hooks.progress({ phase: 'terminating', uid });
    } else if (current && currentUid === uid && !current.metadata?.deletionTimestamp) {
      if (Date.now() < evictNotBefore) {
        await hooks.sleep(pollMs);
        continue;
      }
      try {
        await kube.core.createNamespacedPodEviction({
          name: pod,
          namespace,
          body: { metadata: { name: pod, namespace }, deleteOptions: { preconditions: { uid } } },
        });
        evicted = true;
        hooks.progress({ phase: 'evicted', uid });
      } catch (err) {
        const info = classifyKubeError(err);
        // 429: the budget allows no disruption right now; wait and ask again.
        if (info.code === 429) {
          hooks.progress({ phase: 'eviction blocked by PodDisruptionBudget', uid });
          evictNotBefore = Date.now() + EVICTION_BACKOFF_MS;
        } else if (!isNotFound(err) && info.code !== 409) throw err;
      }
    } else if (
      current &&
      currentUid !== uid &&
      !current.metadata?.deletionTimestamp &&
      !upToDate.has(currentUid!) &&
      (await isOutdated(kube, current))
    ) {
      // A controller with a stale cache (e.g. just after an API server restart) made the
      // replacement from the old template: it would never carry the new configuration.
      await kube.core
        .deleteNamespacedPod({ name: pod, namespace, body: { preconditions: { uid: currentUid } } })
        .catch((err) => {
          if (!isNotFound(err) && classifyKubeError(err).code !== 409) throw err;
        });
      hooks.progress({ phase: 'replacement made from an outdated template; deleted it', uid: currentUid });
    } else if (current && currentUid !== uid && isPodReady(current)) {
      return { pod, oldUid: uid, newUid: currentUid!, evicted, readyAfterMs: Date.now() - started };
    } else {
      if (current && currentUid !== uid && !current.metadata?.deletionTimestamp) upToDate.add(currentUid!);
      // Waiting for a replacement only makes sense while the StatefulSet still wants this pod.
      if (Date.now() - wantedCheckedAt >= WANTED_CHECK_MS) {
        await expectPodWanted(kube, namespace, pod);
        wantedCheckedAt = Date.now();
      }
      hooks.progress({
        phase: current ? (currentUid === uid ? 'terminating' : 'waiting for Ready') : 'waiting for the replacement pod',
        uid: currentUid,
      });
    }
    await hooks.sleep(pollMs);
  }
}

/**
 * Throws when nothing will bring `pod` back: its StatefulSet (and so its PgBouncer) was deleted,
 * or was scaled below the pod's ordinal during the operation. Both end the step at once instead
 * of polling for hours with the pooler paused.
 */
export async function expectPodWanted(kube: Kube, namespace: string, pod: string): Promise<void> {
  const match = /^(.+)-(\d+)$/.exec(pod);
  if (!match) return;
  const [, statefulSet, ordinal] = match;
  const sts = await getOrUndefined(() => kube.apps.readNamespacedStatefulSet({ name: statefulSet, namespace }));
  if (!sts || sts.metadata?.deletionTimestamp) {
    throw objectGone(
      `StatefulSet ${namespace}/${statefulSet} was deleted during the operation (its PgBouncer is gone)`,
    );
  }
  const replicas = sts.spec?.replicas ?? 1;
  if (Number(ordinal) >= replicas) {
    throw ApplicationFailure.nonRetryable(
      `PgBouncer ${namespace}/${statefulSet} was scaled to ${replicas} replica(s) during the operation, so pod ${pod} is not coming back; the request is rolled back: retry it after scaling`,
      'ReplicasChanged',
    );
  }
}

/** The pod's configuration hash differs from its StatefulSet's current template. */
async function isOutdated(kube: Kube, pod: V1Pod): Promise<boolean> {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.kind === 'StatefulSet');
  const podHash = pod.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
  if (!owner || !podHash) return false;
  const sts = await getOrUndefined(() =>
    kube.apps.readNamespacedStatefulSet({ name: owner.name, namespace: pod.metadata!.namespace! }),
  );
  const wanted = sts?.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
  return Boolean(wanted) && wanted !== podHash;
}

export async function readPodUid(kube: Kube, namespace: string, pod: string): Promise<string | null> {
  const current = await getOrUndefined(() => kube.core.readNamespacedPod({ name: pod, namespace }));
  return current?.metadata?.uid ?? null;
}

export { isNotFound };

/**
 * The replica count the plan rolled is still the one the PgBouncer and its StatefulSet want. A
 * scale-up during the operation would bring pods whose names the server certificate does not
 * carry and that were never verified; a scale-down leaves planned pods unchecked. Either way the
 * request is rolled back with a message that says to retry after scaling.
 */
export async function expectReplicasAsPlanned(
  kube: Kube,
  pgbouncer: { namespace: string; name: string; replicas: number | undefined; planned: number },
): Promise<void> {
  const { namespace, name, planned } = pgbouncer;
  const sts = await getOrUndefined(() => kube.apps.readNamespacedStatefulSet({ name, namespace }));
  if (!sts) throw objectGone(`StatefulSet ${namespace}/${name} was deleted during the operation`);
  const wanted = [pgbouncer.replicas ?? 1, sts.spec?.replicas ?? 1];
  if (wanted.some((n) => n !== planned)) {
    throw ApplicationFailure.nonRetryable(
      `PgBouncer ${namespace}/${name} was scaled during the operation (the plan rolled ${planned} pod(s); spec.replicas is now ${wanted[0]}, its StatefulSet ${wanted[1]}); the request is rolled back: retry it after scaling`,
      'ReplicasChanged',
    );
  }
}

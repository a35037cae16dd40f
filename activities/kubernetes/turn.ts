// One ops request per PgBouncer at a time, oldest first (KubeDB's order). The turn is a
// coordination Lease named after the PgBouncer, taken with create / compare-and-swap, so two
// workflows can never both believe they hold it.
import type { V1Lease } from '@kubernetes/client-node';
import { FINISHED_PHASES, OPS_REQUESTS } from '../../lib/api/resources.js';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import { classifyKubeError, getOrUndefined, isNotFound, type Kube } from '../../lib/kube/kube.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import { leaseName } from '../../lib/api/names.js';
import { supersedingRequest } from '../../lib/planner/supersede.js';
import { objectGone } from '../failures.js';
import type { WatchCaches } from './caches.js';

export type TurnOutcome =
  /** unchanged: the PgBouncer is as the caller's plan saw it (asked for by the caller). */
  | { outcome: 'acquired'; unchanged?: boolean }
  | { outcome: 'wait'; blockedBy: string }
  | { outcome: 'skipped'; supersededBy: string };

const isTerminal = (r: PgBouncerOpsRequest) => FINISHED_PHASES.has(r.status?.phase ?? '');
const holderId = (r: { name: string; uid: string }) => `${r.name}/${r.uid}`;

/** KubeDB's order: creationTimestamp, then name on a tie. */
function compareAge(a: PgBouncerOpsRequest, b: PgBouncerOpsRequest): number {
  const ta = Date.parse(a.metadata.creationTimestamp as unknown as string);
  const tb = Date.parse(b.metadata.creationTimestamp as unknown as string);
  return ta !== tb ? ta - tb : a.metadata.name!.localeCompare(b.metadata.name!);
}

/** The only type anything here processes; requests of other types never hold up the queue. */
const HANDLED_TYPE = 'ReconfigureTLS';

/** Lease times are MicroTime: the API refuses JavaScript's millisecond ISO strings. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;

/**
 * A Lease is expired when its holder has not renewed it for leaseDurationSeconds: the holder's
 * run was terminated or timed out, or its workers have been gone that long.
 */
export function leaseExpired(lease: V1Lease, now = Date.now()): boolean {
  const duration = lease.spec?.leaseDurationSeconds;
  const renewed = Date.parse(String(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? ''));
  if (!duration || !Number.isFinite(renewed)) return false; // written before Leases had a duration
  return renewed + duration * 1000 < now;
}

/**
 * The requests of the namespace, including the asking one: from the worker's watch cache once it
 * holds the asker (so every older request too), else one LIST (the cache lags or is down).
 */
async function requestsOfNamespace(
  kube: Kube,
  ref: OpsRequestRef,
  caches?: WatchCaches,
): Promise<PgBouncerOpsRequest[]> {
  const cached = await caches?.opsRequestsUpTo(ref.namespace, ref.uid);
  if (cached) return cached;
  const { items } = (await kube.custom.listNamespacedCustomObject({ ...OPS_REQUESTS, namespace: ref.namespace })) as {
    items: PgBouncerOpsRequest[];
  };
  return items;
}

export async function claimTurn(
  kube: Kube,
  ref: OpsRequestRef,
  leaseDurationSeconds = 300,
  caches?: WatchCaches,
): Promise<TurnOutcome> {
  const items = await requestsOfNamespace(kube, ref, caches);
  // The spec is immutable, so the listed copy of this request is as good as a fresh read.
  const me = items.find((r) => r.metadata.uid === ref.uid && r.metadata.name === ref.name);
  if (!me) throw objectGone(`PgBouncerOpsRequest ${ref.namespace}/${ref.name} no longer exists`);
  const db = me.spec.databaseRef.name;
  // Only requests something will process can block: other types are marked Failed by the watcher.
  let others = items.filter(
    (r) =>
      r.spec.databaseRef?.name === db && r.metadata.uid !== ref.uid && r.spec.type === HANDLED_TYPE && !isTerminal(r),
  );

  const lease = await getOrUndefined(() =>
    kube.coordination.readNamespacedLease({ name: leaseName(db), namespace: ref.namespace }),
  );
  const holder = lease?.spec?.holderIdentity;
  if (holder === holderId(ref)) return { outcome: 'acquired' }; // a retried claim

  // A newer validated request with the same ask makes this one redundant (lib/planner/supersede.ts).
  const newer = supersedingRequest(me, others);
  if (newer) return { outcome: 'skipped', supersededBy: newer.metadata.name! };
  if (lease && holder && leaseExpired(lease)) {
    // Its holder stopped renewing: that run is dead, and its request no longer blocks (the
    // watcher's sweep marks it Failed and resumes the pooler).
    others = others.filter((r) => holderId({ name: r.metadata.name!, uid: r.metadata.uid! }) !== holder);
  }
  const holderAlive =
    holder && others.some((r) => holderId({ name: r.metadata.name!, uid: r.metadata.uid! }) === holder);
  if (holderAlive) return { outcome: 'wait', blockedBy: holder.split('/')[0] };
  const older = others.filter((r) => compareAge(r, me) < 0).sort(compareAge);
  if (older.length) return { outcome: 'wait', blockedBy: older[0].metadata.name! };

  const now = microTime(new Date());
  const body: V1Lease = {
    metadata: { name: leaseName(db), namespace: ref.namespace, resourceVersion: lease?.metadata?.resourceVersion },
    spec: { holderIdentity: holderId(ref), acquireTime: now, renewTime: now, leaseDurationSeconds },
  };
  try {
    if (lease) await kube.coordination.replaceNamespacedLease({ name: leaseName(db), namespace: ref.namespace, body });
    else await kube.coordination.createNamespacedLease({ namespace: ref.namespace, body });
  } catch (err) {
    // Someone else got there first: look again next time.
    if (classifyKubeError(err).code === 409) return { outcome: 'wait', blockedBy: 'a concurrent claim' };
    throw err;
  }
  return { outcome: 'acquired' };
}

export async function releaseTurn(kube: Kube, ref: OpsRequestRef, pgbouncer: string): Promise<void> {
  const lease = await getOrUndefined(() =>
    kube.coordination.readNamespacedLease({ name: leaseName(pgbouncer), namespace: ref.namespace }),
  );
  if (lease?.spec?.holderIdentity !== holderId(ref)) return;
  try {
    await kube.coordination.deleteNamespacedLease({
      name: leaseName(pgbouncer),
      namespace: ref.namespace,
      body: { preconditions: { uid: lease.metadata!.uid, resourceVersion: lease.metadata!.resourceVersion } },
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Renews the Lease while its holder lives: called from the holder's status writes and from the
 * heartbeats of its long waits, at most once per third of the duration. Never takes a Lease it
 * does not hold; a conflict only means the next call renews.
 */
export async function renewTurn(kube: Kube, ref: OpsRequestRef, pgbouncer: string, now = Date.now()): Promise<void> {
  const lease = await getOrUndefined(() =>
    kube.coordination.readNamespacedLease({ name: leaseName(pgbouncer), namespace: ref.namespace }),
  );
  if (!lease || lease.spec?.holderIdentity !== holderId(ref)) return;
  const duration = lease.spec.leaseDurationSeconds ?? 0;
  const renewed = Date.parse(String(lease.spec.renewTime ?? ''));
  if (duration && Number.isFinite(renewed) && now - renewed < (duration * 1000) / 3) return;
  try {
    await kube.coordination.replaceNamespacedLease({
      name: leaseName(pgbouncer),
      namespace: ref.namespace,
      body: { ...lease, spec: { ...lease.spec, renewTime: microTime(new Date(now)) } },
    });
  } catch (err) {
    if (!isNotFound(err) && classifyKubeError(err).code !== 409) throw err;
  }
}

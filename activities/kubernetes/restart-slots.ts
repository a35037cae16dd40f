// A fleet-wide cap on poolers restarting pods at once (PGBTLS_MAX_CONCURRENT_RESTARTS), beside
// each pooler's PodDisruptionBudget: a PDB bounds the pods one pooler loses at a time, this bounds
// how many poolers are rolling at all, across every worker. The slots are one coordination Lease
// (`pgbtls-restart-slots` in PGBTLS_RESTART_SLOTS_NAMESPACE) whose annotation lists the holders
// and when each last renewed; every change is a compare-and-swap on its resourceVersion. A holder
// is a request; it takes a slot before its first eviction and gives it back when it releases its
// turn. A holder that stops renewing (its run terminated) loses its slot after the Lease duration.
import type { V1Lease } from '@kubernetes/client-node';
import { classifyKubeError, getOrUndefined, isNotFound, type Kube } from '../../lib/kube/kube.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';

export const RESTART_SLOTS_LEASE = 'pgbtls-restart-slots';
export const HOLDERS_ANNOTATION = 'pgbtls.dev/restart-slot-holders';

export interface RestartSlots {
  /** At most this many requests hold a slot at once. */
  max: number;
  namespace: string;
  /** A holder that has not renewed for this long has lost its slot. */
  leaseDurationSeconds: number;
}

type Holders = Record<string, number>; // holder → last renewal, ms since the epoch

const holderOf = (ref: OpsRequestRef) => `${ref.namespace}/${ref.name}/${ref.uid}`;

export function holdersOf(lease: V1Lease | undefined, now: number, durationMs: number): Holders {
  let raw: unknown;
  try {
    raw = JSON.parse(lease?.metadata?.annotations?.[HOLDERS_ANNOTATION] ?? '{}');
  } catch {
    raw = {};
  }
  const live: Holders = {};
  for (const [holder, at] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof at === 'number' && at + durationMs >= now) live[holder] = at;
  }
  return live;
}

/** Writes the holders back, only over the Lease as it was read (409 means: read again). */
async function writeHolders(kube: Kube, slots: RestartSlots, lease: V1Lease | undefined, holders: Holders) {
  const metadata = {
    name: RESTART_SLOTS_LEASE,
    namespace: slots.namespace,
    resourceVersion: lease?.metadata?.resourceVersion,
    annotations: { ...lease?.metadata?.annotations, [HOLDERS_ANNOTATION]: JSON.stringify(holders) },
  };
  const body: V1Lease = { ...lease, metadata, spec: { ...lease?.spec, holderIdentity: 'pgbouncer-tls-orchestrator' } };
  if (lease)
    await kube.coordination.replaceNamespacedLease({ name: RESTART_SLOTS_LEASE, namespace: slots.namespace, body });
  else await kube.coordination.createNamespacedLease({ namespace: slots.namespace, body });
}

const readSlots = (kube: Kube, slots: RestartSlots) =>
  getOrUndefined(() =>
    kube.coordination.readNamespacedLease({ name: RESTART_SLOTS_LEASE, namespace: slots.namespace }),
  );

/**
 * Takes (or renews) this request's slot. Returns false when every slot is held by others (the
 * caller waits and asks again) or when another writer got there first.
 */
export async function takeRestartSlot(kube: Kube, slots: RestartSlots, ref: OpsRequestRef, now = Date.now()) {
  const lease = await readSlots(kube, slots);
  const holders = holdersOf(lease, now, slots.leaseDurationSeconds * 1000);
  const me = holderOf(ref);
  if (!(me in holders) && Object.keys(holders).length >= slots.max) return false;
  holders[me] = now;
  try {
    await writeHolders(kube, slots, lease, holders);
  } catch (err) {
    if (classifyKubeError(err).code === 409) return false; // someone else changed the slots: ask again
    throw err;
  }
  return true;
}

/** Gives the slot back (nothing to do when this request holds none). */
export async function releaseRestartSlot(kube: Kube, slots: RestartSlots, ref: OpsRequestRef): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const lease = await readSlots(kube, slots);
    const holders = holdersOf(lease, Date.now(), slots.leaseDurationSeconds * 1000);
    if (!lease || !(holderOf(ref) in holders)) return;
    delete holders[holderOf(ref)];
    try {
      await writeHolders(kube, slots, lease, holders);
      return;
    } catch (err) {
      const { code } = classifyKubeError(err);
      if (isNotFound(err)) return;
      if (code !== 409) throw err;
    }
  }
}

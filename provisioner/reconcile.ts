// One reconcile of one PgBouncer: gather the inputs, compute the desired objects, apply them, and
// report what changed. A paused PgBouncer is left alone, and the pause is re-checked right before
// every write, so a pause that lands mid-reconcile stops it before its next write rather than after
// the whole batch (the ops workflow starts changing things as soon as its pause is recorded).
import { randomBytes } from 'node:crypto';
import type { KubernetesObject, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { PGBOUNCERS } from '../lib/api/resources.js';
import { isPaused, type PgBouncer, type PgBouncerPhase } from '../lib/api/types.js';
import { getOrUndefined, isAlreadyExists, isNotFound, mergePatch, type Kube } from '../lib/kube/kube.js';
import type { Logger } from '../lib/log.js';
import { applyAsProvisioner, objectRef } from '../lib/pgbouncer/apply.js';
import { resolveBackend } from '../lib/pgbouncer/backend.js';
import { desiredAuthSecret, desiredObjects } from '../lib/pgbouncer/desired-objects.js';
import { FIELD_MANAGER } from '../lib/api/names.js';
import { computePhase } from './phase.js';
import { renderPgBouncerIni } from '../lib/pgbouncer/render-ini.js';
import { poolerUsers, renderUserlist } from '../lib/pgbouncer/userlist.js';

export interface ReconcileResult {
  /** reconciled: done; paused: left alone (maybe part-way, see changes); gone: deleted meanwhile. */
  outcome: 'reconciled' | 'paused' | 'gone';
  /** One line per object whose content this reconcile changed, e.g. "updated StatefulSet demo/pb". */
  changes: string[];
  /** status.phase after this reconcile (undefined unless reconciled). */
  phase?: PgBouncerPhase;
  /** Whether status (phase, observedGeneration) was written. Not counted in `changes`: status follows the pods. */
  statusUpdated: boolean;
}

/** Ends a reconcile early; not an error. */
class StopReconcile extends Error {
  constructor(readonly outcome: 'paused' | 'gone') {
    super(outcome);
  }
}

export async function readPgBouncer(kube: Kube, namespace: string, name: string): Promise<PgBouncer | undefined> {
  return (await getOrUndefined(() => kube.custom.getNamespacedCustomObject({ ...PGBOUNCERS, namespace, name }))) as
    PgBouncer | undefined;
}

const decode = (secret: V1Secret, key: string) => {
  const b64 = secret.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
};

export async function reconcilePgBouncer(kube: Kube, pb: PgBouncer, logger: Logger): Promise<ReconcileResult> {
  const namespace = pb.metadata.namespace!;
  const name = pb.metadata.name!;
  const changes: string[] = [];
  const live = await readPgBouncer(kube, namespace, name);
  if (!live || live.metadata.deletionTimestamp) return { outcome: 'gone', changes, statusUpdated: false };
  if (isPaused(live)) {
    logger.debug('paused: leaving it alone');
    return { outcome: 'paused', changes, statusUpdated: false };
  }
  const uid = live.metadata.uid;

  /** Re-reads the PgBouncer before a write; stops when it was paused, deleted or replaced meanwhile. */
  const beforeWrite = async (): Promise<PgBouncer> => {
    const now = await readPgBouncer(kube, namespace, name);
    if (!now || now.metadata.uid !== uid || now.metadata.deletionTimestamp) throw new StopReconcile('gone');
    if (isPaused(now)) throw new StopReconcile('paused');
    return now;
  };

  const apply = async <T extends KubernetesObject>(obj: T): Promise<T> => {
    await beforeWrite();
    const { object, change } = await applyAsProvisioner(kube, obj);
    if (change) changes.push(change);
    return object;
  };

  try {
    const backend = await resolveBackend(kube, live);
    const ini = renderPgBouncerIni(live, backend.address);
    const adminPassword = await ensureAdminPassword(kube, live, beforeWrite, changes);
    const userlist = renderUserlist(poolerUsers(adminPassword, backend.credentials));
    const desired = desiredObjects(live, ini, userlist);

    // Config first: a pod the StatefulSet creates must find its Secrets.
    await apply(desired.configSecret);
    await apply(desired.userlistSecret);
    for (const service of desired.services) await apply(service);
    const statefulSet = await apply(desired.statefulSet);
    if (desired.pdb) await apply(desired.pdb);
    else await deleteStalePdb(kube, live, beforeWrite, changes);

    // observedGeneration is the generation whose spec was rendered and applied above, even when the
    // spec has moved on meanwhile (its own event brings the next reconcile); the phase builds on
    // the freshest status.
    const appliedGeneration = live.metadata.generation;
    const now = await beforeWrite();
    const phase = computePhase(now.status?.phase, desired.statefulSet.spec!.replicas!, readyReplicas(statefulSet));
    if (phase === now.status?.phase && appliedGeneration === now.status?.observedGeneration) {
      return { outcome: 'reconciled', changes, phase, statusUpdated: false };
    }
    // Merge patch of the two fields only: conditions (Paused among them) belong to others.
    await kube.custom.patchNamespacedCustomObjectStatus(
      { ...PGBOUNCERS, namespace, name, body: { status: { phase, observedGeneration: appliedGeneration } } },
      mergePatch,
    );
    return { outcome: 'reconciled', changes, phase, statusUpdated: true };
  } catch (err) {
    if (err instanceof StopReconcile) {
      if (err.outcome === 'paused') {
        // Worth a line only when something was already written before the pause was seen.
        logger[changes.length > 0 ? 'info' : 'debug']('paused meanwhile: stopped before the next write', { changes });
      }
      return { outcome: err.outcome, changes, statusUpdated: false };
    }
    throw err;
  }
}

function readyReplicas(sts: V1StatefulSet): number {
  return sts.status?.readyReplicas ?? 0;
}

/**
 * The admin password lives in the auth Secret. It is generated once, when the Secret is created,
 * and never rewritten: the pods' userlist and every tool that logs in as admin depend on it.
 */
async function ensureAdminPassword(
  kube: Kube,
  pb: PgBouncer,
  beforeWrite: () => Promise<PgBouncer>,
  changes: string[],
): Promise<string> {
  const fresh = desiredAuthSecret(pb, randomBytes(24).toString('base64url'));
  const { name, namespace } = fresh.metadata as { name: string; namespace: string };
  let secret = await getOrUndefined(() => kube.core.readNamespacedSecret({ name, namespace }));
  if (!secret) {
    await beforeWrite();
    try {
      secret = await kube.core.createNamespacedSecret({ namespace, body: fresh, fieldManager: FIELD_MANAGER });
      changes.push(`created ${objectRef(fresh)}`);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      secret = await kube.core.readNamespacedSecret({ name, namespace });
    }
  }
  const password = decode(secret, 'password');
  if (!password)
    throw new Error(
      `Secret ${namespace}/${name} (spec.authSecret) has no "password" key; add one or delete the Secret to have it generated`,
    );
  return password;
}

/** KubeDB keeps a PDB only from two replicas up (one pod has nothing to protect); removes ours, never someone else's. */
async function deleteStalePdb(
  kube: Kube,
  pb: PgBouncer,
  beforeWrite: () => Promise<PgBouncer>,
  changes: string[],
): Promise<void> {
  const namespace = pb.metadata.namespace!;
  const name = pb.metadata.name!;
  const pdb = await getOrUndefined(() => kube.policy.readNamespacedPodDisruptionBudget({ name, namespace }));
  const ours = pdb?.metadata?.ownerReferences?.some((o) => o.controller && o.uid === pb.metadata.uid);
  if (!pdb || !ours) return;
  await beforeWrite();
  try {
    await kube.policy.deleteNamespacedPodDisruptionBudget({
      name,
      namespace,
      body: { preconditions: { uid: pdb.metadata!.uid } },
    });
    changes.push(`deleted PodDisruptionBudget ${namespace}/${name}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

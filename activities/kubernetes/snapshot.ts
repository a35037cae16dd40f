// The last good configuration, kept for compensation: the PgBouncer's TLS fields and the exact
// bytes of every Secret the change touches. It holds keys, so it lives in a Secret, never in the
// workflow history; the history only carries the snapshot's name.
import type { V1Secret } from '@kubernetes/client-node';
import type { PgBouncer } from '../../lib/api/types.js';
import { jsonPatch, type Kube } from '../../lib/kube/kube.js';
import { PGBOUNCERS } from '../../lib/api/resources.js';
import type { OpsRequestRef, Plan } from '../../lib/planner/types.js';
import { certificateSecretName, configSecretName, snapshotSecretName } from '../../lib/api/names.js';
import { markOwned, secretOwnership, type PoolerIdentity } from '../../lib/api/ownership.js';
import { objectGone } from '../failures.js';
import { readPgBouncer } from './pause.js';
import {
  assertSecretOurs,
  b64,
  contentOf,
  createSecretIfMissing,
  deleteSecrets,
  readSecret,
  unb64,
  writeSecret,
  type SecretContent,
} from './secrets.js';

export interface Snapshot {
  pgbouncerSpec: Pick<PgBouncer['spec'], 'tls' | 'sslMode'> & { authType?: string };
  /** null: the Secret did not exist, so restoring deletes it. */
  secrets: Record<string, SecretContent | null>;
}

/** Every Secret the plan may change: the certificate Secrets before and after, and the config. */
export function touchedSecretNames(pb: PgBouncer, plan: Plan): string[] {
  const names = new Set<string>([configSecretName(pb.metadata.name!), ...plan.deleteSecrets]);
  for (const alias of ['server', 'client'] as const) names.add(certificateSecretName(pb, alias));
  for (const c of plan.certificates) names.add(c.secretName);
  return [...names].sort();
}

function sameSecret(current: V1Secret | undefined, content: SecretContent): boolean {
  if (!current || (current.type ?? 'Opaque') !== content.type) return false;
  const a = current.data ?? {};
  const b = content.data;
  return Object.keys(a).length === Object.keys(b).length && Object.keys(b).every((k) => a[k] === b[k]);
}

/** Takes the snapshot once: a retry, or a step after a crash, keeps the first (pre-change) one. */
export async function takeSnapshot(kube: Kube, ref: OpsRequestRef, plan: Plan): Promise<string> {
  const { namespace, name } = plan.pgbouncer;
  const pb = await readPgBouncer(kube, namespace, name);
  if (!pb) throw objectGone(`PgBouncer ${namespace}/${name} no longer exists`);
  const snapshotName = snapshotSecretName(name, ref.uid);
  const owner = { name, uid: pb.metadata.uid! };
  // A Secret of that name we did not make must never be restored from (nor deleted at cleanup).
  if (await assertSecretOurs(kube, namespace, snapshotName, owner)) return snapshotName;
  const snapshot: Snapshot = {
    pgbouncerSpec: { tls: pb.spec.tls, sslMode: pb.spec.sslMode, authType: pb.spec.connectionPool?.authType },
    secrets: {},
  };
  for (const secretName of touchedSecretNames(pb, plan)) {
    const secret = await readSecret(kube, namespace, secretName);
    snapshot.secrets[secretName] = secret ? contentOf(secret) : null;
  }
  await createSecretIfMissing(
    kube,
    namespace,
    snapshotName,
    markOwned(
      {
        type: 'Opaque',
        data: { 'snapshot.json': b64(JSON.stringify(snapshot)) },
        labels: { 'pgbtls.dev/ops-request-uid': ref.uid },
      },
      owner,
    ),
  );
  return snapshotName;
}

export async function readSnapshot(
  kube: Kube,
  namespace: string,
  snapshotName: string,
  owner: PoolerIdentity,
): Promise<Snapshot> {
  // Only a snapshot we made for this pooler says what to restore: any other could name any Secret.
  const secret = await assertSecretOurs(kube, namespace, snapshotName, owner);
  if (!secret) throw objectGone(`snapshot Secret ${namespace}/${snapshotName} is gone; cannot restore`);
  return JSON.parse(unb64(secret.data?.['snapshot.json'])) as Snapshot;
}

/**
 * JSON-patch operations that make the TLS fields exactly the snapshot's: each field is set whole
 * or removed. (A merge patch of the old spec.tls over the new one would keep keys the old spec
 * lacked, e.g. a certificates[].secretName the failed request introduced.)
 */
export function exactSpecPatch(pb: PgBouncer, snapshot: Snapshot): object[] {
  const { tls, sslMode, authType } = snapshot.pgbouncerSpec;
  const ops: object[] = [];
  const put = (path: string, present: boolean, value: unknown) => {
    if (value !== undefined && value !== null) ops.push({ op: 'add', path, value });
    else if (present) ops.push({ op: 'remove', path });
  };
  put('/spec/tls', pb.spec.tls !== undefined, tls);
  put('/spec/sslMode', pb.spec.sslMode !== undefined, sslMode);
  if (pb.spec.connectionPool)
    put('/spec/connectionPool/authType', pb.spec.connectionPool.authType !== undefined, authType);
  else if (authType) ops.push({ op: 'add', path: '/spec/connectionPool', value: { authType } });
  return ops;
}

/** Puts back the PgBouncer's TLS fields and every touched Secret byte for byte. Idempotent. */
export async function restoreSnapshotContents(
  kube: Kube,
  namespace: string,
  pgbouncer: string,
  snapshot: Snapshot,
  /** When given, a Secret that is not ours for this pooler is left alone (it was not ours before either). */
  owner?: PoolerIdentity,
): Promise<void> {
  const pb = await readPgBouncer(kube, namespace, pgbouncer);
  if (!pb) return; // deleted: nothing to restore into (its Secrets go with it)
  await kube.custom.patchNamespacedCustomObject(
    {
      ...PGBOUNCERS,
      namespace,
      name: pgbouncer,
      body: exactSpecPatch(pb, snapshot),
    },
    jsonPatch,
  );
  for (const [name, content] of Object.entries(snapshot.secrets)) {
    // Restore overwrites whatever the run left: the base is what is there now. Equal bytes are
    // left alone, so a repeated restore changes nothing.
    const current = await readSecret(kube, namespace, name);
    // A Secret that is not ours for this pooler is left alone (it was not ours before either).
    if (owner && secretOwnership(current?.metadata, owner) === 'foreign') continue;
    if (content && !sameSecret(current, content)) await writeSecret(kube, namespace, name, content, current);
    else if (!content && current) await deleteSecrets(kube, namespace, [name]);
  }
}

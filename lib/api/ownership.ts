// Which Secrets the worker may write or delete for a pooler (DESIGN §5: "a request touches only its
// own pooler"). The worker may read and write Secrets across namespaces, so a request's
// secretName must never steer it at a Secret it did not create: a CA key, an application's
// credentials, another pooler's certificate.
//
// Ours, for PgBouncer P: an ownerReference to P (by uid) AND a label saying we made it for P
// (pgbtls.dev/pgbouncer=<P>). Secrets made before that label existed are recognised by the
// ownerReference to P together with the managed-by label our code always set on them
// (pgbouncer-tls-orchestrator for certificates, staging Secrets and snapshots; kubedb.com for the
// provisioner's config, userlist and auth Secrets). Nothing else counts, whatever its name.
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { LABEL_MANAGED_BY, MANAGED_BY } from './names.js';

export const ORCHESTRATOR = 'pgbouncer-tls-orchestrator';
/** Set on every Secret the orchestrator or the provisioner creates for a pooler: the pooler's name. */
export const POOLER_LABEL = 'pgbtls.dev/pgbouncer';
/** Set on the CRL Secrets next to a CA (shared by every pooler that CA signs for, so no ownerReference). */
export const CRL_LABEL = 'pgbtls.dev/crl';

export interface PoolerIdentity {
  name: string;
  uid: string;
}

export type SecretOwnership = 'absent' | 'ours' | 'foreign';

const LEGACY_MANAGERS = new Set([ORCHESTRATOR, MANAGED_BY]);

export function poolerOwnerReference(pb: PoolerIdentity): V1OwnerReference {
  return { apiVersion: 'kubedb.com/v1', kind: 'PgBouncer', name: pb.name, uid: pb.uid };
}

/** Adds our marks to a Secret's labels and ownerReferences (keeps what is there; never a second reference to P). */
export function markOwned<T extends { labels?: Record<string, string>; ownerReferences?: V1OwnerReference[] }>(
  content: T,
  pb: PoolerIdentity,
): T {
  const refs = content.ownerReferences ?? [];
  const hasRef = refs.some((r) => r.kind === 'PgBouncer' && r.uid === pb.uid);
  return {
    ...content,
    labels: { [LABEL_MANAGED_BY]: ORCHESTRATOR, ...content.labels, [POOLER_LABEL]: pb.name },
    ownerReferences: hasRef ? refs : [...refs, poolerOwnerReference(pb)],
  };
}

/** Whether an existing Secret (its metadata; undefined: absent) was made by us for this pooler. */
export function secretOwnership(meta: V1ObjectMeta | undefined, pb: PoolerIdentity): SecretOwnership {
  if (!meta) return 'absent';
  const ownedByPooler = (meta.ownerReferences ?? []).some((r) => r.kind === 'PgBouncer' && r.uid === pb.uid);
  const labels = meta.labels ?? {};
  const marked = labels[POOLER_LABEL] === pb.name || LEGACY_MANAGERS.has(labels[LABEL_MANAGED_BY] ?? '');
  return ownedByPooler && marked ? 'ours' : 'foreign';
}

/** A CRL Secret is ours when we made it: our CRL label, or our managed-by label (its name sits next to a CA's Secret). */
export function crlSecretOwnership(meta: V1ObjectMeta | undefined): SecretOwnership {
  if (!meta) return 'absent';
  const labels = meta.labels ?? {};
  return labels[CRL_LABEL] === 'true' || labels[LABEL_MANAGED_BY] === ORCHESTRATOR ? 'ours' : 'foreign';
}

/** How a user adopts an existing Secret, or avoids it (for messages). */
export function adoptionHint(namespace: string, secret: string, pb: PoolerIdentity): string {
  return (
    `choose a secretName that does not exist yet, or, if Secret ${namespace}/${secret} really belongs to PgBouncer ` +
    `"${pb.name}", label it ${POOLER_LABEL}=${pb.name} and give it an ownerReference to the PgBouncer (uid ${pb.uid})`
  );
}

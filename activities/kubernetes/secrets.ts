// Small, idempotent Secret operations the steps share: write a Secret whole (create or replace,
// recreating it when its immutable type differs), delete Secrets treating 404 as done, and the
// ownership checks made before a write (marking is lib/api/ownership.ts's markOwned).
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { classifyKubeError, getOrUndefined, isNotFound, type Kube } from '../../lib/kube/kube.js';
import { adoptionHint, crlSecretOwnership, secretOwnership, type PoolerIdentity } from '../../lib/api/ownership.js';
import { invalidInput } from '../failures.js';

export interface SecretContent {
  type: string;
  data: Record<string, string>; // base64 values, exactly as the API returns them
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: V1OwnerReference[];
}

export const readSecret = (kube: Kube, namespace: string, name: string) =>
  getOrUndefined(() => kube.core.readNamespacedSecret({ name, namespace }));

export function contentOf(secret: V1Secret): SecretContent {
  return {
    type: secret.type ?? 'Opaque',
    data: secret.data ?? {},
    labels: secret.metadata?.labels,
    annotations: secret.metadata?.annotations,
    ownerReferences: secret.metadata?.ownerReferences,
  };
}

function secretBody(namespace: string, name: string, content: SecretContent, resourceVersion?: string): V1Secret {
  const { labels, annotations, ownerReferences, type, data } = content;
  return { metadata: { name, namespace, labels, annotations, ownerReferences, resourceVersion }, type, data };
}

/**
 * Writes a Secret whole, as a compare-and-swap against `base`: the Secret as the caller read it
 * (undefined: it did not exist). If anyone changed it since, the API answers 409 and nothing is
 * written; the caller reads again and recomputes (activities retry 409 as transient). The
 * resourceVersion is never re-read here: that would turn the swap into last-writer-wins.
 */
export async function writeSecret(
  kube: Kube,
  namespace: string,
  name: string,
  content: SecretContent,
  base: V1Secret | undefined,
): Promise<void> {
  if (!base) {
    await kube.core.createNamespacedSecret({ namespace, body: secretBody(namespace, name, content) });
  } else if ((base.type ?? 'Opaque') !== content.type) {
    // The type is immutable: replace the Secret whole, still only if it is the one we read.
    await kube.core.deleteNamespacedSecret({
      name,
      namespace,
      body: { preconditions: { resourceVersion: base.metadata?.resourceVersion, uid: base.metadata?.uid } },
    });
    await kube.core.createNamespacedSecret({ namespace, body: secretBody(namespace, name, content) });
  } else {
    await kube.core.replaceNamespacedSecret({
      name,
      namespace,
      body: secretBody(namespace, name, content, base.metadata?.resourceVersion),
    });
  }
}

export async function createSecretIfMissing(
  kube: Kube,
  namespace: string,
  name: string,
  content: SecretContent,
): Promise<boolean> {
  try {
    await kube.core.createNamespacedSecret({ namespace, body: secretBody(namespace, name, content) });
    return true;
  } catch (err) {
    if (classifyKubeError(err).code === 409) return false;
    throw err;
  }
}

export async function deleteSecrets(kube: Kube, namespace: string, names: string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of names) {
    try {
      await kube.core.deleteNamespacedSecret({ name, namespace });
      deleted.push(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return deleted;
}

export const b64 = (text: string) => Buffer.from(text).toString('base64');
export const unb64 = (value: string | undefined) => (value ? Buffer.from(value, 'base64').toString() : '');

// --- Ownership (lib/api/ownership.ts): checks made right before a write or delete. The planner
// refused foreign Secrets already; these catch one created in between.

/** Throws (non-retryable) when Secret `name` exists and is not ours for this pooler; returns it otherwise. */
export async function assertSecretOurs(
  kube: Kube,
  namespace: string,
  name: string,
  pb: PoolerIdentity,
): Promise<V1Secret | undefined> {
  const existing = await readSecret(kube, namespace, name);
  if (secretOwnership(existing?.metadata, pb) === 'foreign') {
    throw invalidInput(
      `Secret ${namespace}/${name} exists and was not created by this orchestrator for PgBouncer "${pb.name}"; not writing it: ${adoptionHint(namespace, name, pb)}`,
    );
  }
  return existing;
}

/** The same for a CRL Secret next to a CA (ours: our managed-by label). */
export async function assertCrlSecretOurs(kube: Kube, namespace: string, name: string): Promise<V1Secret | undefined> {
  const existing = await readSecret(kube, namespace, name);
  if (crlSecretOwnership(existing?.metadata) === 'foreign') {
    throw invalidInput(
      `CRL Secret ${namespace}/${name} exists and was not created by this orchestrator; not writing it: rename or delete it`,
    );
  }
  return existing;
}

/** Ours for whichever pooler its PgBouncer ownerReference names (for callers that know only names). */
function ownedByItsPooler(secret: V1Secret): boolean {
  return (secret.metadata?.ownerReferences ?? []).some(
    (r) => r.kind === 'PgBouncer' && secretOwnership(secret.metadata, { name: r.name, uid: r.uid }) === 'ours',
  );
}

/**
 * Deletes the named Secrets that a pooler owns by our marks, leaving any other alone (returned in
 * `kept`), with the uid as precondition so a Secret recreated meanwhile is not the one deleted.
 */
export async function deleteOwnedSecrets(
  kube: Kube,
  namespace: string,
  names: string[],
): Promise<{ deleted: string[]; kept: string[] }> {
  const deleted: string[] = [];
  const kept: string[] = [];
  for (const name of names) {
    const secret = await readSecret(kube, namespace, name);
    if (!secret) continue;
    if (!ownedByItsPooler(secret)) {
      kept.push(name);
      continue;
    }
    try {
      await kube.core.deleteNamespacedSecret({
        name,
        namespace,
        body: { preconditions: { uid: secret.metadata?.uid } },
      });
      deleted.push(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return { deleted, kept };
}

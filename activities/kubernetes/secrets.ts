// Small, idempotent Secret operations the steps share: write a Secret whole (create or replace,
// recreating it when its immutable type differs) and delete Secrets treating 404 as done.
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { classifyKubeError, getOrUndefined, isNotFound, type Kube } from '../../lib/kube/kube.js';

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

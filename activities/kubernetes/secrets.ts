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

export async function writeSecret(kube: Kube, namespace: string, name: string, content: SecretContent): Promise<void> {
  const existing = await readSecret(kube, namespace, name);
  const body = secretBody(namespace, name, content, existing?.metadata?.resourceVersion);
  if (existing && (existing.type ?? 'Opaque') !== content.type) {
    // The type is immutable: replace the Secret whole.
    await deleteSecrets(kube, namespace, [name]);
    await kube.core.createNamespacedSecret({ namespace, body: secretBody(namespace, name, content) });
  } else if (existing) {
    await kube.core.replaceNamespacedSecret({ name, namespace, body });
  } else {
    await kube.core.createNamespacedSecret({ namespace, body });
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

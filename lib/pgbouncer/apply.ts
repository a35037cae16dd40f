// Server-side apply as the provisioner, telling whether the object's content changed. Shared with
// the ops workflow, which applies the same rendered objects while the PgBouncer is paused: both
// must agree on what "changed" means for "after resume the provisioner finds nothing to change".
import type { KubernetesObject } from '@kubernetes/client-node';
import { getOrUndefined, type Kube } from '../kube/kube.js';
import { FIELD_MANAGER } from '../api/names.js';

export interface ApplyOutcome<T> {
  object: T;
  /** "created Secret demo/pb-config", "updated StatefulSet demo/pb", or undefined when nothing changed. */
  change?: string;
}

export const objectRef = (obj: KubernetesObject) => `${obj.kind} ${obj.metadata?.namespace}/${obj.metadata?.name}`;

/**
 * The content that matters, without what the server and other controllers change on their own.
 * resourceVersion is not a measure: a StatefulSet's changes with every status update.
 */
function comparableContent(obj: KubernetesObject): string {
  const copy = JSON.parse(JSON.stringify(obj)) as KubernetesObject & { status?: unknown };
  delete copy.status;
  delete copy.metadata?.resourceVersion;
  delete copy.metadata?.managedFields;
  delete copy.metadata?.generation;
  return JSON.stringify(copy);
}

export async function applyAsProvisioner<T extends KubernetesObject>(kube: Kube, obj: T): Promise<ApplyOutcome<T>> {
  const before = await getOrUndefined(() => kube.objects.read(obj as T & { metadata: { name: string } }));
  const object = await kube.apply(obj, FIELD_MANAGER);
  if (!before) return { object, change: `created ${objectRef(obj)}` };
  return comparableContent(before) === comparableContent(object)
    ? { object }
    : { object, change: `updated ${objectRef(obj)}` };
}

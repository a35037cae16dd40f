// KubeDB's pause: the Paused condition on the PgBouncer's status. The provisioner leaves a paused
// PgBouncer alone, so the workflow owns its objects until it resumes it.
import { PGBOUNCERS } from '../../lib/api/resources.js';
import { PAUSED_CONDITION, type PgBouncer } from '../../lib/api/types.js';
import { getOrUndefined, mergePatch, type Kube } from '../../lib/kube/kube.js';
import { objectGone } from '../failures.js';

export async function readPgBouncer(kube: Kube, namespace: string, name: string): Promise<PgBouncer | undefined> {
  return (await getOrUndefined(() => kube.custom.getNamespacedCustomObject({ ...PGBOUNCERS, namespace, name }))) as
    PgBouncer | undefined;
}

export async function setPaused(
  kube: Kube,
  namespace: string,
  name: string,
  paused: boolean,
  why: string,
): Promise<void> {
  const pb = await readPgBouncer(kube, namespace, name);
  if (!pb) {
    if (!paused) return; // nothing left to resume
    throw objectGone(`PgBouncer ${namespace}/${name} no longer exists`);
  }
  const conditions = (pb.status?.conditions ?? []).filter((c) => c.type !== PAUSED_CONDITION);
  const isPaused = (pb.status?.conditions ?? []).some((c) => c.type === PAUSED_CONDITION && c.status === 'True');
  if (isPaused === paused) return;
  if (paused) {
    conditions.push({
      type: PAUSED_CONDITION,
      status: 'True',
      reason: 'OpsRequestProgressing',
      message: why,
      lastTransitionTime: new Date().toISOString(),
      observedGeneration: pb.metadata.generation,
    });
  }
  await kube.custom.patchNamespacedCustomObjectStatus(
    {
      ...PGBOUNCERS,
      namespace,
      name,
      body: { metadata: { resourceVersion: pb.metadata.resourceVersion }, status: { conditions } },
    },
    mergePatch,
  );
}

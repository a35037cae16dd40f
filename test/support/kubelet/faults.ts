// Failure injection for tests, read by the kubelet stand-in each time it starts a pod: the
// ConfigMap `pgbtls-kubelet-faults` in the pod's namespace, key `pods.json`, maps a pod name to a
// fault and how many incarnations it applies to, e.g. {"pb-1": {"neverReady": true, "times": 1}}.
// Each use counts down in the ConfigMap, so a rolled-back pod comes up healthy.
import type { Kube } from '../../../lib/kube/kube.js';
import { classifyKubeError, getOrUndefined } from '../../../lib/kube/kube.js';

export const FAULTS_CONFIGMAP = 'pgbtls-kubelet-faults';

export interface PodFault {
  /** The pod runs but never reports Ready. */
  neverReady?: boolean;
  /** Extra time before the pod reports Ready. */
  readyDelayMs?: number;
  /** The pod's files never follow its Secrets after it started (a stuck kubelet sync). */
  frozenFiles?: boolean;
  /** How many incarnations of the pod the fault applies to (default 1). */
  times?: number;
}

/** Takes one use of the fault for this pod, if any; a concurrent update just retries. */
export async function takeFault(kube: Kube, namespace: string, pod: string): Promise<PodFault | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const cm = await getOrUndefined(() => kube.core.readNamespacedConfigMap({ name: FAULTS_CONFIGMAP, namespace }));
    const faults = JSON.parse(cm?.data?.['pods.json'] ?? '{}') as Record<string, PodFault>;
    const fault = faults[pod];
    if (!cm || !fault) return undefined;
    const left = (fault.times ?? 1) - 1;
    if (left > 0) faults[pod] = { ...fault, times: left };
    else delete faults[pod];
    try {
      await kube.core.replaceNamespacedConfigMap({
        name: FAULTS_CONFIGMAP,
        namespace,
        body: { ...cm, data: { ...cm.data, 'pods.json': JSON.stringify(faults) } },
      });
      return fault;
    } catch (err) {
      if (classifyKubeError(err).code !== 409) throw err;
    }
  }
  return undefined;
}

/** Replaces the namespace's fault table (tests call this before the pods they target start). */
export async function setPodFaults(kube: Kube, namespace: string, faults: Record<string, PodFault>): Promise<void> {
  await kube.core.deleteNamespacedConfigMap({ name: FAULTS_CONFIGMAP, namespace }).catch(() => undefined);
  await kube.core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: FAULTS_CONFIGMAP, namespace }, data: { 'pods.json': JSON.stringify(faults) } },
  });
}

// Applies the project's CRDs with server-side apply and waits until the API server serves them.
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { loadCrds } from '../lib/api/crds.js';
import type { Kube } from '../lib/kube/kube.js';

export async function applyCrds(kube: Kube, { timeoutMs = 30_000 } = {}): Promise<string[]> {
  const crds = loadCrds();
  for (const crd of crds)
    await kube.apply(
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', ...crd },
      'pgbtls-stack',
    );
  const ext = kube.kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata!.name!;
    for (;;) {
      const live = await ext.readCustomResourceDefinition({ name });
      const established = live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      if (established) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return crds.map((c) => c.metadata!.name!);
}

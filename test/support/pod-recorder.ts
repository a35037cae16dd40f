// Records every incarnation (uid) of every pod of a PgBouncer while a test runs, so a test can
// say "each pod was restarted exactly once" from what the API server actually saw.
import { makeInformer, type Informer, type V1Pod } from '@kubernetes/client-node';
import { testKube } from './cluster.js';

export class PodRecorder {
  private readonly uids = new Map<string, string[]>();
  private informer?: Informer<V1Pod>;

  constructor(
    private readonly namespace: string,
    private readonly pgbouncer: string,
  ) {}

  async start(): Promise<void> {
    const kube = testKube();
    const selector = `app.kubernetes.io/instance=${this.pgbouncer}`;
    this.informer = makeInformer<V1Pod>(
      kube.kc,
      `/api/v1/namespaces/${this.namespace}/pods`,
      () => kube.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector }),
      selector,
    );
    const seen = (pod: V1Pod) => {
      const list = this.uids.get(pod.metadata!.name!) ?? [];
      if (!list.includes(pod.metadata!.uid!)) list.push(pod.metadata!.uid!);
      this.uids.set(pod.metadata!.name!, list);
    };
    this.informer.on('add', seen);
    this.informer.on('update', seen);
    await this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }

  /** pod name → how many incarnations beyond the first were seen. */
  restarts(): Record<string, number> {
    return Object.fromEntries([...this.uids.entries()].map(([name, uids]) => [name, uids.length - 1]));
  }
}

// The provisioner's control loop: watches PgBouncers and their StatefulSets, and reconciles each
// PgBouncer on every change and on a periodic resync, one reconcile at a time per PgBouncer.
// Failures are logged and retried with backoff; nothing here ends the process.
import type { KubernetesListObject, V1StatefulSet } from '@kubernetes/client-node';
import { collectionPath, PGBOUNCERS } from '../lib/api/resources.js';
import type { PgBouncer } from '../lib/api/types.js';
import type { Config } from '../lib/config.js';
import { startResilientInformer, type ResilientInformer } from '../lib/kube/informer.js';
import { KeyedSerialQueue } from '../lib/keyed-queue.js';
import { classifyKubeError, type Kube } from '../lib/kube/kube.js';
import type { Logger } from '../lib/log.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../lib/api/names.js';
import { reconcilePgBouncer } from './reconcile.js';

export { reconcilePgBouncer, type ReconcileResult } from './reconcile.js';

export interface ProvisionerDeps {
  kube: Kube;
  logger: Logger;
  config: Pick<Config, 'watchNamespaces' | 'resyncIntervalMs'>;
}

export interface Provisioner {
  stop(): Promise<void>;
}

const STATEFULSET_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
const FIRST_RETRY_MS = 1_000;

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

/** The PgBouncer that controls a StatefulSet, as a queue key. */
function ownerKey(sts: V1StatefulSet): string | undefined {
  const owner = sts.metadata?.ownerReferences?.find((o) => o.controller && o.kind === 'PgBouncer');
  return owner && sts.metadata?.namespace ? keyOf(sts.metadata.namespace, owner.name) : undefined;
}

export async function startProvisioner({ kube, logger, config }: ProvisionerDeps): Promise<Provisioner> {
  const retries = new Map<string, { failures: number; lastError: string; timer?: NodeJS.Timeout }>();
  let stopped = false;

  const queue = new KeyedSerialQueue(async (key) => {
    const [namespace, name] = key.split('/') as [string, string];
    const log = logger.child({ pgbouncer: key });
    const retry = retries.get(key);
    clearTimeout(retry?.timer);
    try {
      const result = await reconcilePgBouncer(kube, { metadata: { namespace, name } } as PgBouncer, log);
      retries.delete(key);
      if (result.changes.length > 0 || result.statusUpdated) {
        log.info('reconciled', { outcome: result.outcome, changes: result.changes, phase: result.phase });
      } else {
        log.debug('nothing to change', { outcome: result.outcome, phase: result.phase });
      }
    } catch (err) {
      const message = classifyKubeError(err).message;
      const failures = (retry?.failures ?? 0) + 1;
      const delay = Math.min(FIRST_RETRY_MS * 2 ** (failures - 1), config.resyncIntervalMs);
      // The first failure, and every new cause, at error level; the same cause again only at debug.
      const level = message === retry?.lastError ? 'debug' : 'error';
      log[level]('reconcile failed; will retry', { error: message, failures, retryInMs: delay });
      const timer = stopped ? undefined : setTimeout(() => queue.enqueue(key), delay);
      retries.set(key, { failures, lastError: message, timer });
    }
  });

  const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [undefined];
  const pgbouncerInformers: ResilientInformer<PgBouncer>[] = [];
  const informers: { stop(): Promise<void> }[] = [];
  for (const namespace of namespaces) {
    const scope = namespace ? `/namespaces/${namespace}` : '';
    const where = namespace ? `in namespace ${namespace}` : 'in all namespaces';
    const pgbouncers = await startResilientInformer<PgBouncer>({
      kube,
      logger,
      what: `PgBouncers ${where}`,
      path: collectionPath(PGBOUNCERS, namespace),
      list: () =>
        (namespace
          ? kube.custom.listNamespacedCustomObject({ ...PGBOUNCERS, namespace })
          : kube.custom.listClusterCustomObject(PGBOUNCERS)) as Promise<KubernetesListObject<PgBouncer>>,
      // A deleted PgBouncer's objects go with it through their owner references.
      onChange: (pb, verb) => {
        if (verb !== 'delete') queue.enqueue(keyOf(pb.metadata.namespace!, pb.metadata.name!));
      },
    });
    pgbouncerInformers.push(pgbouncers);
    informers.push(pgbouncers);
    // Readiness changes arrive on the StatefulSet; a deleted or edited one is put back.
    informers.push(
      await startResilientInformer<V1StatefulSet>({
        kube,
        logger,
        what: `StatefulSets ${where}`,
        path: `/apis/apps/v1${scope}/statefulsets`,
        labelSelector: STATEFULSET_SELECTOR,
        list: () =>
          namespace
            ? kube.apps.listNamespacedStatefulSet({ namespace, labelSelector: STATEFULSET_SELECTOR })
            : kube.apps.listStatefulSetForAllNamespaces({ labelSelector: STATEFULSET_SELECTOR }),
        onChange: (sts) => {
          const key = ownerKey(sts);
          if (key) queue.enqueue(key);
        },
      }),
    );
  }

  // The resync catches what no event announces: an AppBinding or its Secret that changed, a
  // Secret edited by hand, a reconcile whose retry was lost.
  const resync = setInterval(() => {
    for (const informer of pgbouncerInformers) {
      for (const pb of informer.cache.list()) queue.enqueue(keyOf(pb.metadata.namespace!, pb.metadata.name!));
    }
  }, config.resyncIntervalMs);

  return {
    async stop() {
      stopped = true;
      clearInterval(resync);
      for (const r of retries.values()) clearTimeout(r.timer);
      await Promise.all(informers.map((i) => i.stop()));
      await queue.drain();
    },
  };
}

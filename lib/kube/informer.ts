// A client-node informer that survives API outages: client-node stops watching after an error and
// leaves restarting to the caller. This one restarts with exponential backoff and logs one line
// when an outage starts and one when it ends, not one per attempt.
import {
  makeInformer,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { collectionPath, type Resource } from '../api/resources.js';
import { classifyKubeError, type Kube } from './kube.js';
import type { Logger } from '../log.js';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  kube: Kube;
  /** Watch path, e.g. /apis/apps/v1/statefulsets or /apis/kubedb.com/v1/namespaces/demo/pgbouncers. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  /** What is watched, for log lines ("PgBouncers in demo"). */
  what: string;
  logger: Logger;
  /** Called for add, update and delete. */
  onChange: (obj: T, verb: 'add' | 'update' | 'delete') => void;
  /**
   * Called after each full list (the first, and every re-list after a 410 Gone) once its items are
   * in the cache: what happened while nobody watched is known only then.
   */
  onListed?: (cache: ObjectCache<T>) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface ResilientInformer<T extends KubernetesObject> {
  /** The informer's cache (what the last list and watch delivered). */
  cache: ObjectCache<T>;
  /** Listed at least once and watching now (no outage under way): the cache follows the API. */
  synced(): boolean;
  stop(): Promise<void>;
}

export async function startResilientInformer<T extends KubernetesObject>(
  opts: ResilientInformerOptions<T>,
): Promise<ResilientInformer<T>> {
  const { logger, what } = opts;
  const minBackoff = opts.minBackoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  let stopped = false;
  let listedOnce = false;
  const list = async () => {
    const listed = await opts.list();
    listedOnce = true;
    // ListWatch puts the listed items into its cache in the same tick this resolves; setImmediate
    // runs after that.
    const { onListed } = opts;
    if (onListed)
      setImmediate(() => {
        if (!stopped) onListed(informer);
      });
    return listed;
  };
  const informer: Informer<T> & ObjectCache<T> = makeInformer<T>(opts.kube.kc, opts.path, list, opts.labelSelector);
  let errors = 0; // counts every error, so a restart can tell whether it went through cleanly
  let outageSince: number | undefined;
  let backoff = minBackoff;
  let timer: NodeJS.Timeout | undefined;

  informer.on('add', (o) => opts.onChange(o, 'add'));
  informer.on('update', (o) => opts.onChange(o, 'update'));
  informer.on('delete', (o) => opts.onChange(o, 'delete'));
  const onError = (err: unknown) => {
    errors++;
    if (stopped) return;
    if (outageSince === undefined) {
      outageSince = Date.now();
      logger.warn(`watch of ${what} failed; retrying with backoff`, { error: classifyKubeError(err).message });
    }
    clearTimeout(timer);
    timer = setTimeout(() => void run(), backoff);
    backoff = Math.min(backoff * 2, maxBackoff);
  };
  informer.on('error', onError);

  // start() resolves even when listing or watching fails (the failure arrives as an 'error'
  // event), so a start that raised no error is the sign the watch is back. It rejects only when
  // the request cannot even be built (e.g. credentials); that is an outage like any other.
  async function run(): Promise<void> {
    if (stopped) return;
    const before = errors;
    try {
      await informer.start();
    } catch (err) {
      onError(err);
      return;
    }
    if (errors === before && outageSince !== undefined) {
      logger.info(`watch of ${what} restored`, { outageMs: Date.now() - outageSince });
      outageSince = undefined;
      backoff = minBackoff;
    }
  }

  await run();
  return {
    cache: informer,
    synced: () => listedOnce && outageSince === undefined && !stopped,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
}

/** The watch path and list call of a custom resource in one namespace, or in all (namespace undefined). */
export function customObjectSource<T extends KubernetesObject>(
  kube: Kube,
  api: Resource,
  namespace: string | undefined,
): Pick<ResilientInformerOptions<T>, 'path' | 'list'> {
  return {
    path: collectionPath(api, namespace),
    list: async () =>
      (namespace
        ? await kube.custom.listNamespacedCustomObject({ ...api, namespace })
        : await kube.custom.listClusterCustomObject(api)) as KubernetesListObject<T>,
  };
}

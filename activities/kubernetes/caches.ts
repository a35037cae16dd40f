// The worker's watch caches: one LIST and one WATCH per namespace for the objects its activities
// would otherwise poll or list per request — the ops requests (every turn poll compared a request
// with all others in its namespace) and the PgBouncers' pods (every wait polled its pod). A fleet
// of N poolers then costs the API server N watchers' worth of events, not N LISTs per poll.
//
// The caches are used only where a stale answer is safe: a wait that reads a stale pod waits one
// poll longer; a turn decision is made only once the cache holds the asking request itself, so it
// holds every request created before it (a watch delivers in resourceVersion order). Anything that
// decides what to change (planning, the uids of the pods to restart) reads the API directly.
import type { V1Pod } from '@kubernetes/client-node';
import { customObjectSource, startResilientInformer, type ResilientInformer } from '../../lib/kube/informer.js';
import { OPS_REQUESTS } from '../../lib/api/resources.js';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import { getOrUndefined, type Kube } from '../../lib/kube/kube.js';
import type { Logger } from '../../lib/log.js';

/** The pods the provisioner makes (desired-objects.ts) carry this label. */
const MANAGED_PODS = 'app.kubernetes.io/managed-by=kubedb.com';

export interface WatchCaches {
  /**
   * The ops requests of `namespace`, once the cache holds the request `uid` (and so every request
   * created before it); undefined when the cache cannot say (not synced, or lagging behind).
   */
  opsRequestsUpTo(namespace: string, uid: string): Promise<PgBouncerOpsRequest[] | undefined>;
  /** The pod as the cache has it when the cache follows the API, else read from the API. */
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  stop(): Promise<void>;
}

/** How long a turn poll waits for the cache to catch up with its own request before it lists. */
const CATCH_UP_MS = 2_000;

export async function startWatchCaches(
  kube: Kube,
  opts: { namespaces: string[]; logger: Logger },
): Promise<WatchCaches> {
  const { logger } = opts;
  // All namespaces (one watch each) or the managed ones; `undefined` means cluster-wide.
  const scopes: (string | undefined)[] = opts.namespaces.length ? opts.namespaces : [undefined];
  const requests = new Map<string | undefined, ResilientInformer<PgBouncerOpsRequest>>();
  const pods = new Map<string | undefined, ResilientInformer<V1Pod>>();
  for (const ns of scopes) {
    requests.set(
      ns,
      await startResilientInformer<PgBouncerOpsRequest>({
        kube,
        ...customObjectSource<PgBouncerOpsRequest>(kube, OPS_REQUESTS, ns),
        what: `ops requests${ns ? ` in ${ns}` : ''} (worker cache)`,
        logger,
        onChange: () => {},
      }),
    );
    pods.set(
      ns,
      await startResilientInformer<V1Pod>({
        kube,
        path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods',
        list: () =>
          ns
            ? kube.core.listNamespacedPod({ namespace: ns, labelSelector: MANAGED_PODS })
            : kube.core.listPodForAllNamespaces({ labelSelector: MANAGED_PODS }),
        labelSelector: MANAGED_PODS,
        what: `pods${ns ? ` in ${ns}` : ''} (worker cache)`,
        logger,
        onChange: () => {},
      }),
    );
  }
  const scopeOf = <T>(m: Map<string | undefined, T>, namespace: string) => m.get(namespace) ?? m.get(undefined);

  return {
    async opsRequestsUpTo(namespace, uid) {
      const informer = scopeOf(requests, namespace);
      if (!informer) return undefined;
      const deadline = Date.now() + CATCH_UP_MS;
      for (;;) {
        if (informer.synced()) {
          const items = informer.cache.list(namespace);
          if (items.some((r) => r.metadata.uid === uid)) return [...items];
        }
        if (Date.now() >= deadline) return undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async readPod(namespace, name) {
      const informer = scopeOf(pods, namespace);
      if (informer?.synced()) return informer.cache.get(name, namespace);
      return getOrUndefined(() => kube.core.readNamespacedPod({ name, namespace }));
    },
    async stop() {
      await Promise.all([...requests.values(), ...pods.values()].map((i) => i.stop()));
    },
  };
}

// Graceful drain before a restart: take the pod out of its Service, wait until new connections
// stop arriving, let the sessions on it end within a bound, and only then let the caller evict it.
//
// Why neither PAUSE nor SIGINT (measured on PgBouncer 1.18, see README "Drain"): both wait until
// every server connection is released, which in session mode means until every client has
// disconnected, and meanwhile they hold every new query of the remaining clients; the eviction
// that follows then fails those held queries. Watching `SHOW CLIENTS` instead lets queries run
// while the sessions end on their own; at the bound, the pod is evicted once no transaction is in
// flight (a little grace), and the sessions still open are the ones that outlived the bound.
// A pod that does not serve TLS has no verified admin path (the password is never sent in
// plaintext): it is out of the Service for min(bound, PGBTLS_BLIND_DRAIN_MS, default 5 s), long enough for the Service to stop
// routing to it and for connect-per-query clients to finish, then evicted.
import type { V1Pod } from '@kubernetes/client-node';
import { COMPONENT_DRAINING, COMPONENT_SERVING, LABEL_COMPONENT } from '../../lib/api/names.js';
import { classifyKubeError, getOrUndefined, isNotFound, mergePatch, type Kube } from '../../lib/kube/kube.js';
import { listClients, type PgBouncerClient } from '../../lib/pgbouncer/admin-console.js';
import { CONTAINER_PORT_NAME } from '../../lib/pgbouncer/desired-objects.js';
import { readPgBouncer } from '../kubernetes/pause.js';
import type { WaitHooks } from '../kubernetes/pods.js';
import { objectGone } from '../failures.js';
import { adminAccess, type AdminAccessTarget } from './admin-access.js';

/** New connections have stopped once none arrived for this long. */
const QUIET_MS = 1_000;
/** At the bound: how long to wait more for in-flight transactions to finish. */
const IN_FLIGHT_GRACE_MS = 2_000;
const POLL_MS = 200;

export interface DrainTarget extends AdminAccessTarget {
  /** The incarnation to drain: a retry after its eviction finds another uid and does nothing. */
  uid: string;
  boundMs: number;
}

export interface DrainResult {
  pod: string;
  /** How the end of the sessions was observed. */
  method: 'admin-console' | 'timed' | 'already-replaced';
  /** New connections that still arrived after the pod left the Service. */
  lateConnections: number;
  /** Client connections open when the drain began, and when it ended (these are dropped by the eviction). */
  clientsAtStart: number;
  clientsLeft: number;
  elapsedMs: number;
}

function podPort(pod: V1Pod): { address: string; port: number } | undefined {
  const address = pod.status?.podIP;
  const port = pod.spec?.containers
    .flatMap((c) => c.ports ?? [])
    .find((p) => p.name === CONTAINER_PORT_NAME)?.containerPort;
  return address && port ? { address, port } : undefined;
}

/** Relabels the pod so the primary Service no longer selects it; keyed by uid. */
async function leaveService(kube: Kube, t: DrainTarget): Promise<V1Pod | undefined> {
  const pod = await getOrUndefined(() => kube.core.readNamespacedPod({ name: t.pod, namespace: t.namespace }));
  if (!pod || pod.metadata?.uid !== t.uid || pod.metadata?.deletionTimestamp) return undefined;
  if (pod.metadata?.labels?.[LABEL_COMPONENT] === COMPONENT_DRAINING) return pod;
  try {
    // The uid in the patch is a precondition: another incarnation of the name is left alone.
    return await kube.core.patchNamespacedPod(
      {
        name: t.pod,
        namespace: t.namespace,
        body: { metadata: { uid: t.uid, labels: { [LABEL_COMPONENT]: COMPONENT_DRAINING } } },
      },
      mergePatch,
    );
  } catch (err) {
    const code = classifyKubeError(err).code;
    if (isNotFound(err) || code === 409 || code === 422) return undefined;
    throw err;
  }
}

/**
 * Undoes a drain whose eviction never came (compensation): the same incarnation still runs the old
 * configuration, so it only needs to be selected by its Service again. True when it was relabelled.
 */
export async function returnPodToService(
  kube: Kube,
  t: { namespace: string; pod: string; uid: string },
): Promise<boolean> {
  const pod = await getOrUndefined(() => kube.core.readNamespacedPod({ name: t.pod, namespace: t.namespace }));
  if (!pod || pod.metadata?.uid !== t.uid || pod.metadata?.labels?.[LABEL_COMPONENT] !== COMPONENT_DRAINING)
    return false;
  try {
    await kube.core.patchNamespacedPod(
      {
        name: t.pod,
        namespace: t.namespace,
        body: { metadata: { uid: t.uid, labels: { [LABEL_COMPONENT]: COMPONENT_SERVING } } },
      },
      mergePatch,
    );
    return true;
  } catch (err) {
    const code = classifyKubeError(err).code;
    if (isNotFound(err) || code === 409 || code === 422) return false;
    throw err;
  }
}

export async function drainPod(
  kube: Kube,
  t: DrainTarget,
  hooks: WaitHooks,
  opts: { blindDrainMs: number },
): Promise<DrainResult> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const result = (r: Omit<DrainResult, 'pod' | 'elapsedMs'>): DrainResult => ({
    pod: t.pod,
    ...r,
    elapsedMs: elapsed(),
  });
  const pod = await leaveService(kube, t);
  const at = pod && podPort(pod);
  if (!pod || !at) return result({ method: 'already-replaced', lateConnections: 0, clientsAtStart: 0, clientsLeft: 0 });
  hooks.progress({ phase: 'out of the Service', uid: t.uid });

  const pb = await readPgBouncer(kube, t.namespace, t.pgbouncer);
  if (!pb) throw objectGone(`PgBouncer ${t.namespace}/${t.pgbouncer} is gone`);
  const access = await adminAccess(kube, pb, t);
  const list = async (): Promise<PgBouncerClient[] | undefined> => {
    if (!access.tls) return undefined;
    try {
      return await listClients({ ...at, ...access });
    } catch {
      return undefined; // no TLS served (yet or any more), or the pod stopped answering
    }
  };
  let clients = await list();
  if (!clients) {
    const wait = Math.min(t.boundMs, opts.blindDrainMs);
    while (elapsed() < wait) {
      hooks.progress({ phase: `no TLS admin path: out of the Service for ${wait} ms`, uid: t.uid });
      await hooks.sleep(Math.min(POLL_MS * 5, wait - elapsed()));
    }
    return result({ method: 'timed', lateConnections: 0, clientsAtStart: 0, clientsLeft: 0 });
  }

  const clientsAtStart = clients.length;
  const seen = new Set(clients.map((c) => c.id));
  let lastNew = Date.now();
  let lateConnections = 0;
  // Until no client is left, or the bound; plus a short grace for transactions in flight.
  for (;;) {
    const quiet = Date.now() - lastNew >= QUIET_MS;
    if (quiet && clients.length === 0) break;
    if (elapsed() >= t.boundMs && (!clients.some((c) => c.linked) || elapsed() >= t.boundMs + IN_FLIGHT_GRACE_MS))
      break;
    hooks.progress({ phase: `draining: ${clients.length} client(s) left`, uid: t.uid });
    await hooks.sleep(POLL_MS);
    clients = (await list()) ?? clients;
    for (const c of clients) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      lastNew = Date.now();
      lateConnections++;
    }
  }
  return result({ method: 'admin-console', lateConnections, clientsAtStart, clientsLeft: clients.length });
}

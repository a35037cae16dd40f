// The trigger watcher (DESIGN §2): an informer on PgBouncerOpsRequests that starts one
// reconfigureTLS workflow per unfinished request and cancels it when the request is deleted.
// The workflow id is derived from the request's uid and started with USE_EXISTING /
// REJECT_DUPLICATE, so restarts, re-lists after 410 Gone and several replicas converge on one run,
// and a finished request never runs again. A request deleted while no watcher watched sends no
// delete event; after every full list an orphan sweep finds its open run and cancels it too.
import type { ObjectCache } from '@kubernetes/client-node';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { FINISHED_PHASES, OPS_REQUESTS } from '../lib/api/resources.js';
import type { PgBouncerOpsRequest } from '../lib/api/types.js';
import type { Config } from '../lib/config.js';
import { customObjectSource, startResilientInformer, type ResilientInformer } from '../lib/kube/informer.js';
import { KeyedSerialQueue } from '../lib/keyed-queue.js';
import { classifyKubeError, getOrUndefined, type Kube } from '../lib/kube/kube.js';
import { updateOpsRequestStatus } from '../activities/kubernetes/ops-request.js';
import { setPaused } from '../activities/kubernetes/pause.js';
import { releaseTurn } from '../activities/kubernetes/turn.js';
import type { Logger } from '../lib/log.js';
import type { OpsRequestRef } from '../lib/planner/types.js';
import { workflowIdFor } from '../workflows/ids.js';
import { openRunsQuery, orphanCandidates, requestIsGone } from './orphan-sweep.js';
import { refOf, startReconfigureTLS, WORKFLOW_TYPE } from './start.js';
import { isTemporalUnavailable } from './temporal.js';

/** The orphan-sweep scope of a watcher of all namespaces (a namespace name cannot contain '*'). */
const ALL = '*';

/** One measured start: request created (API server clock, 1 s resolution) → workflow start acknowledged. */
export interface StartLatency {
  workflowId: string;
  createdAt: string;
  /** When the watcher first saw the request. */
  observedAt: number;
  startedAt: number;
  latencyMs: number;
}

/** Starts measured by every watcher in this process, newest last (bounded). For tests and the README. */
export const startLatencies: StartLatency[] = [];
const MAX_LATENCIES = 10_000;

export interface WatcherDeps {
  kube: Kube;
  config: Config;
  logger: Logger;
  client: Client;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often the orphan sweep runs besides after each full list (default: config.resyncIntervalMs). */
  sweepIntervalMs?: number;
}

export interface Watcher {
  stop(): Promise<void>;
  /** How many requests the watcher holds in memory: each entry leaves when its request ends or is deleted. */
  sizes(): { tracked: number; ignoredTypes: number };
}

interface Tracked {
  ref: OpsRequestRef;
  request?: PgBouncerOpsRequest;
  deleted: boolean;
  /** Deleted while no watcher watched: found by the orphan sweep, not by a delete event. */
  orphan?: boolean;
  observedAt: number;
  /** The watcher started (or found) its workflow, or decided to leave it alone. */
  settled: boolean;
  attempt: number;
}

export async function startWatcher(deps: WatcherDeps): Promise<Watcher> {
  const { kube, config, client } = deps;
  const logger = deps.logger.child({ component: 'watcher' });
  const minBackoff = deps.minBackoffMs ?? 500;
  const maxBackoff = deps.maxBackoffMs ?? 30_000;
  const tracked = new Map<string, Tracked>(); // by workflow id
  const ignoredTypes = new Set<string>(); // uids of non-ReconfigureTLS requests already logged
  const timers = new Set<NodeJS.Timeout>();
  // Runs whose cancellation Temporal accepted. They stay open while they compensate, and a sweep
  // in that time must not cancel (and log) them again.
  const cancelRequested = new Set<string>();
  let stopped = false;
  let temporalOutageSince: number | undefined;

  const temporalOk = () => {
    if (temporalOutageSince !== undefined) {
      logger.info('Temporal reachable again', { outageMs: Date.now() - temporalOutageSince });
      temporalOutageSince = undefined;
    }
  };
  const temporalDown = (err: unknown) => {
    if (temporalOutageSince === undefined) {
      temporalOutageSince = Date.now();
      logger.warn('Temporal unreachable; retrying with backoff', { error: err });
    }
  };

  const later = (attempt: number, fn: () => void) => {
    if (stopped) return;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        fn();
      },
      Math.min(minBackoff * 2 ** attempt, maxBackoff),
    );
    timers.add(timer);
  };
  const retryLater = (id: string, t: Tracked) => later(t.attempt++, () => queue.enqueue(id));

  async function start(id: string, t: Tracked, request: PgBouncerOpsRequest): Promise<void> {
    const log = logger.child({ request: `${t.ref.namespace}/${t.ref.name}`, workflowId: id });
    try {
      const started = await startReconfigureTLS(client, request, config.taskQueue);
      temporalOk();
      if (started.outcome === 'finished-before') {
        log.debug('workflow already ran for this request');
        t.settled = true;
        return;
      }
      const startedAt = Date.now();
      const createdAt = String(request.metadata.creationTimestamp ?? '');
      const created = Date.parse(createdAt);
      startLatencies.push({
        workflowId: id,
        createdAt,
        observedAt: t.observedAt,
        startedAt,
        latencyMs: Number.isNaN(created) ? startedAt - t.observedAt : startedAt - created,
      });
      if (startLatencies.length > MAX_LATENCIES) startLatencies.shift();
      log.info('workflow started (or already running)');
      t.settled = true;
    } catch (err) {
      if (isTemporalUnavailable(err)) temporalDown(err);
      else log.warn('could not start workflow; retrying', { error: err });
      retryLater(id, t);
    }
  }

  async function cancel(id: string, t: Tracked): Promise<void> {
    const log = logger.child({ request: `${t.ref.namespace}/${t.ref.name}`, workflowId: id });
    try {
      await client.workflow.getHandle(id).cancel();
      temporalOk();
      cancelRequested.add(id);
      if (t.orphan) log.info('request was deleted while the watcher was away: orphaned workflow cancelled');
      else log.info('request deleted: workflow cancelled');
      tracked.delete(id);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        temporalOk();
        tracked.delete(id);
        return;
      }
      if (isTemporalUnavailable(err)) temporalDown(err);
      else log.warn('could not cancel workflow; retrying', { error: err });
      retryLater(id, t);
    }
  }

  async function rejectUnhandledType(ref: OpsRequestRef, type: string, attempt: number): Promise<void> {
    const message = `type ${type} is not handled by this orchestrator (it runs ReconfigureTLS only); run it with KubeDB, or delete this request`;
    try {
      await updateOpsRequestStatus(kube, ref, {
        phase: 'Failed',
        condition: { type: 'Failed', status: 'False', reason: 'UnsupportedType', message },
        event: { type: 'Warning', reason: 'UnsupportedType', message },
      });
      logger.info('not a ReconfigureTLS request: marked Failed', { request: `${ref.namespace}/${ref.name}`, type });
    } catch (err) {
      if (classifyKubeError(err).code === 404 || (err as { type?: string }).type === 'ObjectGone') return;
      if (attempt === 0) logger.warn('could not mark an unhandled request Failed; retrying', { error: err });
      later(attempt, () => void rejectUnhandledType(ref, type, attempt + 1));
    }
  }

  /**
   * A request still Pending or Progressing whose run has closed (terminated from the UI, timed
   * out, or failed before it could say so) would stay that way forever, its pooler paused: mark
   * it Failed, resume the pooler, and release its turn.
   */
  async function settleAbandoned(request: PgBouncerOpsRequest): Promise<void> {
    const ref = refOf(request);
    const id = workflowIdFor(ref);
    let status: string;
    try {
      status = (await client.workflow.getHandle(id).describe()).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return; // not started yet: the queue starts it
      throw err;
    }
    if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') return;
    const pgbouncer = request.spec.databaseRef?.name;
    const log = logger.child({ request: `${ref.namespace}/${ref.name}`, workflowId: id });
    if (pgbouncer) {
      await setPaused(kube, ref.namespace, pgbouncer, false, '');
      await releaseTurn(kube, ref, pgbouncer);
    }
    const message = `its workflow run ended ${status} before it finished; the pooler was resumed and its turn released. Check the pooler's TLS Secrets and create a new request to finish the change`;
    await updateOpsRequestStatus(kube, ref, {
      phase: 'Failed',
      condition: { type: 'Failed', status: 'False', reason: 'RunAbandoned', message },
      event: { type: 'Warning', reason: 'RunAbandoned', message },
    });
    log.warn('workflow run ended without finishing its request: marked Failed, pooler resumed', { status });
  }

  const queue = new KeyedSerialQueue(async (id) => {
    const t = tracked.get(id);
    if (!t || stopped) return;
    if (t.deleted) return cancel(id, t);
    if (t.settled || !t.request) return;
    return start(id, t, t.request);
  });

  const onChange = (obj: PgBouncerOpsRequest, verb: 'add' | 'update' | 'delete') => {
    if (!obj.metadata?.uid) return;
    const ref = refOf(obj);
    const id = workflowIdFor(ref);
    const finished = FINISHED_PHASES.has(obj.status?.phase ?? '');
    if (verb === 'delete') {
      ignoredTypes.delete(ref.uid);
      // Nothing to cancel for a request we never ran or that already ended: no entry, no call.
      if (!tracked.has(id) && (finished || obj.spec?.type !== 'ReconfigureTLS')) return;
      const t = tracked.get(id) ?? { ref, deleted: true, observedAt: Date.now(), settled: false, attempt: 0 };
      t.deleted = true;
      t.attempt = 0;
      tracked.set(id, t);
      queue.enqueue(id);
      return;
    }
    if (obj.spec?.type !== 'ReconfigureTLS') {
      // Nothing here processes it: say so on the request (a terminal phase), so it never looks
      // pending and never holds up the pooler's queue. It leaves the map once it has ended.
      if (finished) {
        ignoredTypes.delete(ref.uid);
        return;
      }
      if (!ignoredTypes.has(ref.uid)) {
        ignoredTypes.add(ref.uid);
        void rejectUnhandledType(ref, String(obj.spec?.type), 0);
      }
      return;
    }
    const existing = tracked.get(id);
    if (existing && finished && !existing.deleted) {
      tracked.delete(id); // it ended: its run is closed or closing, nothing left to start or cancel
      return;
    }
    if (existing) {
      existing.request = obj;
      return; // started or being started: status updates from the workflow need nothing
    }
    if (finished) return;
    tracked.set(id, { ref, request: obj, deleted: false, observedAt: Date.now(), settled: false, attempt: 0 });
    queue.enqueue(id);
  };

  // The orphan sweep of one informer's scope (a namespace, or ALL), after each of its full lists.
  const caches = new Map<string, ObjectCache<PgBouncerOpsRequest>>();
  const sweepFailures = new Map<string, number>();

  async function sweepOrphans(scope: string): Promise<void> {
    const cache = caches.get(scope)!;
    const query = openRunsQuery({
      workflowType: WORKFLOW_TYPE,
      taskQueue: config.taskQueue,
      namespaces: scope === ALL ? config.watchNamespaces : [scope],
    });
    const open = new Set<string>();
    for await (const run of client.workflow.list({ query })) open.add(run.workflowId);
    temporalOk();
    for (const id of cancelRequested) if (!open.has(id)) cancelRequested.delete(id); // closed by now
    // Unfinished requests whose run is not open: terminated or timed out without a status.
    for (const request of cache.list()) {
      if (stopped) return;
      if (request.spec?.type !== 'ReconfigureTLS' || FINISHED_PHASES.has(request.status?.phase ?? '')) continue;
      if (!request.status?.phase || open.has(workflowIdFor(refOf(request)))) continue;
      await settleAbandoned(request);
    }
    for (const { workflowId, ref } of orphanCandidates(open, (r) => cache.get(r.name, r.namespace)?.metadata?.uid)) {
      if (stopped) return;
      if (cancelRequested.has(workflowId) || tracked.get(workflowId)?.deleted) continue;
      // The cache may not hold a request created a moment ago; the API server is the authority.
      const live = (await getOrUndefined(() =>
        kube.custom.getNamespacedCustomObject({ ...OPS_REQUESTS, namespace: ref.namespace, name: ref.name }),
      )) as PgBouncerOpsRequest | undefined;
      if (!requestIsGone(ref, live?.metadata?.uid)) continue;
      tracked.set(workflowId, { ref, deleted: true, orphan: true, observedAt: Date.now(), settled: false, attempt: 0 });
      queue.enqueue(workflowId);
    }
  }

  const sweeps = new KeyedSerialQueue(async (scope) => {
    if (stopped) return;
    try {
      await sweepOrphans(scope);
      sweepFailures.delete(scope);
    } catch (err) {
      const failures = sweepFailures.get(scope) ?? 0;
      if (isTemporalUnavailable(err)) temporalDown(err);
      else if (failures === 0) logger.warn('orphan sweep failed; retrying with backoff', { scope, error: err });
      sweepFailures.set(scope, failures + 1);
      later(failures, () => sweeps.enqueue(scope));
    }
  });

  const namespaces = config.watchNamespaces.length ? config.watchNamespaces : [undefined];
  const informers: ResilientInformer<PgBouncerOpsRequest>[] = [];
  for (const namespace of namespaces) {
    informers.push(
      await startResilientInformer<PgBouncerOpsRequest>({
        kube,
        ...customObjectSource<PgBouncerOpsRequest>(kube, OPS_REQUESTS, namespace),
        what: `PgBouncerOpsRequests in ${namespace ?? 'all namespaces'}`,
        logger,
        onChange,
        onListed: (cache) => {
          caches.set(namespace ?? ALL, cache);
          sweeps.enqueue(namespace ?? ALL);
        },
        minBackoffMs: minBackoff,
        maxBackoffMs: maxBackoff,
      }),
    );
  }
  // Also sweep periodically: a run terminated from the UI sends no event the informer would see.
  const periodicSweep = setInterval(() => {
    for (const scope of caches.keys()) sweeps.enqueue(scope);
  }, deps.sweepIntervalMs ?? config.resyncIntervalMs);
  periodicSweep.unref();

  logger.info('watching PgBouncerOpsRequests', {
    namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
    taskQueue: config.taskQueue,
  });

  return {
    sizes: () => ({ tracked: tracked.size, ignoredTypes: ignoredTypes.size }),
    async stop() {
      stopped = true;
      clearInterval(periodicSweep);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(informers.map((i) => i.stop()));
      await Promise.all([queue.drain(), sweeps.drain()]);
    },
  };
}

// The renewal controller: keeps one certificateRenewal workflow per PgBouncer with TLS and wakes
// it when something it depends on changes. Informers on PgBouncers and on ops requests:
//   - a PgBouncer with TLS seen for the first time (every one on start: the catch-up, including
//     poolers that got TLS before renewals existed), or whose TLS settings or maintenance-window
//     annotations changed → signalWithStart (one workflow id per PgBouncer uid, so several
//     controllers converge on one run);
//   - a PgBouncer without TLS, or deleted → signal only: a running renewal looks, and stops;
//   - an ops request on a pooler reaching Successful/Failed/Skipped → signal(WithStart): the
//     renewal reschedules from the new notAfter, or sees its own request's outcome.
// The workflow decides everything; a lost signal costs at most its daily re-check.
import type { ObjectCache } from '@kubernetes/client-node';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FINISHED_PHASES, OPS_REQUESTS, PGBOUNCERS } from '../lib/api/resources.js';
import type { PgBouncer, PgBouncerOpsRequest } from '../lib/api/types.js';
import { KeyedSerialQueue } from '../lib/keyed-queue.js';
import { customObjectSource, startResilientInformer } from '../lib/kube/informer.js';
import { tlsEnabled } from '../lib/planner/intent.js';
import {
  MAINTENANCE_WINDOW_ANNOTATION,
  RENEWAL_OPS_TYPE,
  RENEWAL_WORKFLOW_TYPE,
  renewalWorkflowIdFor,
  SAFETY_MARGIN_ANNOTATION,
} from '../lib/renewal/names.js';
import { SEARCH_ATTRIBUTES } from '../workflows/progress.js';
import { rescheduleSignal } from '../workflows/renewal-signals.js';
import { isTemporalUnavailable } from './temporal.js';
import type { WatcherDeps } from './watcher.js';

/** The trigger watcher's clients and backoff: the controller runs beside it, in the same process. */
export type RenewalControllerDeps = Omit<WatcherDeps, 'sweepIntervalMs'>;

export interface RenewalController {
  stop(): Promise<void>;
}

interface Pending {
  pb: { namespace: string; name: string; uid: string };
  /** Start the workflow if none runs (the pooler has TLS), or only signal a running one. */
  start: boolean;
  reason: string;
  attempt: number;
}

/** What a renewal depends on in a PgBouncer: a change of it wakes the renewal. */
function renewalInputs(pb: PgBouncer): string {
  const a = pb.metadata.annotations ?? {};
  return JSON.stringify([
    pb.spec?.tls ?? null,
    a[MAINTENANCE_WINDOW_ANNOTATION] ?? null,
    a[SAFETY_MARGIN_ANNOTATION] ?? null,
  ]);
}

export async function startRenewalController(deps: RenewalControllerDeps): Promise<RenewalController> {
  const { kube, config, client } = deps;
  const logger = deps.logger.child({ component: 'renewal-controller' });
  const minBackoff = deps.minBackoffMs ?? 500;
  const maxBackoff = deps.maxBackoffMs ?? 30_000;
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const seenInputs = new Map<string, string>(); // PgBouncer uid → renewalInputs
  const requestPhases = new Map<string, string>(); // ops request uid → last phase seen
  const pending = new Map<string, Pending>(); // workflow id → what to send

  const send = new KeyedSerialQueue(async (workflowId) => {
    const p = pending.get(workflowId);
    if (!p || stopped) return;
    pending.delete(workflowId);
    const log = logger.child({ pgbouncer: `${p.pb.namespace}/${p.pb.name}`, workflowId });
    try {
      if (p.start) {
        await client.workflow.signalWithStart(RENEWAL_WORKFLOW_TYPE, {
          workflowId,
          taskQueue: config.taskQueue,
          args: [{ pgbouncer: p.pb }],
          signal: rescheduleSignal,
          signalArgs: [p.reason],
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTES.pgbouncer, value: p.pb.name },
            { key: SEARCH_ATTRIBUTES.namespace, value: p.pb.namespace },
            { key: SEARCH_ATTRIBUTES.opsType, value: RENEWAL_OPS_TYPE },
          ],
          staticSummary: `Certificate renewal of PgBouncer ${p.pb.namespace}/${p.pb.name}`,
          staticDetails: `Renews the certificates of PgBouncer \`${p.pb.namespace}/${p.pb.name}\` (uid ${p.pb.uid}) before they expire, through rotateCertificates ops requests.`,
        });
      } else {
        await client.workflow.getHandle(workflowId).signal(rescheduleSignal, p.reason);
      }
      log.debug('renewal woken', { reason: p.reason, started: p.start });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return; // no renewal runs: nothing to stop
      if (!isTemporalUnavailable(err)) log.warn('could not wake the renewal; retrying', { error: err });
      // A newer wish replaces this one; otherwise try again with backoff.
      if (!pending.has(workflowId)) pending.set(workflowId, { ...p, attempt: p.attempt + 1 });
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          send.enqueue(workflowId);
        },
        Math.min(minBackoff * 2 ** p.attempt, maxBackoff),
      );
      timers.add(timer);
    }
  });

  const wake = (pb: PgBouncer, start: boolean, reason: string) => {
    if (stopped) return;
    const ref = { namespace: pb.metadata.namespace!, name: pb.metadata.name!, uid: pb.metadata.uid! };
    const id = renewalWorkflowIdFor(ref);
    const before = pending.get(id);
    pending.set(id, { pb: ref, start: start || Boolean(before?.start), reason, attempt: 0 });
    send.enqueue(id);
  };

  const onPgBouncer = (pb: PgBouncer, verb: 'add' | 'update' | 'delete') => {
    const uid = pb.metadata?.uid;
    if (!uid) return;
    const hasTls = tlsEnabled(pb.spec?.tls);
    if (verb === 'delete') {
      seenInputs.delete(uid);
      wake(pb, false, 'PgBouncer deleted');
      return;
    }
    const inputs = renewalInputs(pb);
    const before = seenInputs.get(uid);
    if (before === inputs) return; // status updates and the like
    seenInputs.set(uid, inputs);
    if (hasTls) wake(pb, true, before === undefined ? 'renewal controller caught up' : 'TLS settings changed');
    else wake(pb, false, before === undefined ? 'PgBouncer has no TLS' : 'TLS removed');
  };

  const pgbouncerCaches = new Map<string, ObjectCache<PgBouncer>>();
  const onOpsRequest = (r: PgBouncerOpsRequest, verb: 'add' | 'update' | 'delete') => {
    const uid = r.metadata?.uid;
    if (!uid) return;
    if (verb === 'delete') {
      requestPhases.delete(uid);
      return;
    }
    const phase = r.status?.phase ?? '';
    const before = requestPhases.get(uid);
    requestPhases.set(uid, phase);
    // Only an end seen happen: requests that ended before we started are covered by the catch-up.
    if (before === undefined || FINISHED_PHASES.has(before) || !FINISHED_PHASES.has(phase)) return;
    const namespace = r.metadata.namespace!;
    const name = r.spec?.databaseRef?.name;
    const pb = name ? [...pgbouncerCaches.values()].map((c) => c.get(name, namespace)).find(Boolean) : undefined;
    if (pb) wake(pb, tlsEnabled(pb.spec?.tls), `ops request ${r.metadata.name} ended ${phase}`);
  };

  const informers: { stop(): Promise<void> }[] = [];
  const namespaces = config.watchNamespaces.length ? config.watchNamespaces : [undefined];
  const common = { kube, logger, minBackoffMs: minBackoff, maxBackoffMs: maxBackoff };
  for (const namespace of namespaces) {
    const where = namespace ?? 'all namespaces';
    const pbInformer = await startResilientInformer<PgBouncer>({
      ...common,
      ...customObjectSource<PgBouncer>(kube, PGBOUNCERS, namespace),
      what: `PgBouncers in ${where} (renewals)`,
      onChange: onPgBouncer,
    });
    pgbouncerCaches.set(namespace ?? '*', pbInformer.cache);
    const opsInformer = await startResilientInformer<PgBouncerOpsRequest>({
      ...common,
      ...customObjectSource<PgBouncerOpsRequest>(kube, OPS_REQUESTS, namespace),
      what: `PgBouncerOpsRequests in ${where} (renewals)`,
      onChange: onOpsRequest,
    });
    informers.push(pbInformer, opsInformer);
  }
  logger.info('keeping certificate renewals', {
    namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
    taskQueue: config.taskQueue,
  });

  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(informers.map((i) => i.stop()));
      await send.drain();
    },
  };
}

// The way back (DESIGN §4): on failure, cancellation or spec.timeout, undo what the runbook did,
// as recorded in the rollout's Undo state, then mark the request Failed.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  type ActivityOptions,
} from '@temporalio/workflow';
import { FAILURE_TYPES } from '../lib/failure-types.js';
import type { ReconfigureTLSResult } from './reconfigure-tls.js';
import { describeFailure } from './failures.js';
import { drainBoundMs, drainTarget } from './drain.js';
import { compensationOptions, compensationPodOptions } from './options.js';
import { callActivity, conditionUpdate, countOutcome, describeServing, type Rollout } from './run.js';

/** Compensates in a scope nothing can cancel, then ends the run Failed (or Cancelled). */
export async function compensate(run: Rollout, err: unknown): Promise<never> {
  if (run.bounded) return compensateBounded(run, err);
  const { plan, request, undo } = run;
  const { namespace, name: pgbouncer } = plan.pgbouncer;
  const cause = isCancellation(err) ? 'the request was cancelled' : describeFailure(err);
  run.progress.compensating = true;
  run.progress.error = cause;
  run.stage('Compensating', cause);
  // Nothing may cancel the way back: compensation runs to the end, each step retried until done.
  await CancellationScope.nonCancellable(async () => {
    if (undo.swapped) {
      await callActivity(compensationOptions, 'restore the snapshot', 'restoreConfiguration', plan, undo.snapshot);
      await note(run, 'CompensateRestoreSnapshot', `restored Secrets, config and spec from ${undo.snapshot}`);
    }
    await rollBackPods(run);
    const leftovers = [...undo.staging, ...(undo.snapshot ? [undo.snapshot] : [])];
    await callActivity(
      compensationOptions,
      'delete staging and snapshot Secrets',
      'deleteSecrets',
      namespace,
      leftovers,
    );
    if (undo.paused) {
      await callActivity(compensationOptions, `resume PgBouncer ${pgbouncer}`, 'resumePgBouncer', plan);
    }
    await callActivity(compensationOptions, 'release the PgBouncer', 'releaseTurn', request, pgbouncer);
    const failed = conditionUpdate('Failed', false, 'Failed', `${cause}; rolled back to the previous configuration`);
    await callActivity(
      compensationOptions,
      'mark Failed',
      'updateRequestStatus',
      request,
      {
        phase: 'Failed',
        ...failed,
      },
      { ifExists: true },
    );
  });
  run.stage('Failed', cause);
  countOutcome(isCancellation(err) ? 'Cancelled' : 'Failed');
  if (isCancellation(err)) throw err; // the run ends Cancelled, after compensating
  throw ApplicationFailure.nonRetryable(
    `PgBouncerOpsRequest ${request.namespace}/${request.name} failed and was rolled back: ${cause}`,
    FAILURE_TYPES.reconfigureTLSFailed,
  );
}

/** Records one compensation step in the request's status (if the request still exists). */
function note(run: Rollout, type: string, message: string): Promise<void> {
  return callActivity(
    compensationOptions,
    `record ${type}`,
    'updateRequestStatus',
    run.request,
    conditionUpdate(type, true, type, message),
    { ifExists: true },
  );
}

/**
 * Restarts the pods the roll restarted (newest first) so they read the restored configuration, and
 * reloads the pods it reloaded; each is proven to serve what was restored.
 */
async function rollBackPods(run: Rollout): Promise<void> {
  const { namespace } = run.plan.pgbouncer;
  const markRolledBack = (pod: string) => {
    const entry = run.progress.pods.find((p) => p.name === pod);
    if (entry) entry.status = 'rolled-back';
  };
  for (const { pod, uidBefore } of [...run.undo.touchedPods].reverse()) {
    const current = await callActivity(compensationOptions, `read pod ${pod}`, 'readPodUid', namespace, pod);
    if (!current || current === uidBefore) continue; // never restarted: it still runs the old configuration
    await callActivity(compensationPodOptions, `roll back pod ${pod}`, 'evictPodAndWaitReady', {
      namespace,
      pod,
      uid: current,
    });
    markRolledBack(pod);
    await note(run, `CompensateRollbackPod--${pod}`, `restarted pod ${pod} with the restored configuration`);
    if (run.undo.proveServing) await proveRestored(run, pod, 'verifyServedCertificate');
  }
  // Reloaded pods read the restored files on their next RELOAD.
  for (const pod of [...run.undo.reloadedPods].reverse()) {
    await proveRestored(run, pod, 'reloadPodAndWaitServing');
    markRolledBack(pod);
  }
}

/**
 * What compensation puts back is proven served too; a pod that will not is reported, and the way
 * back goes on (it must reach resume and the Failed status whatever happens).
 */
async function proveRestored(
  run: Rollout,
  pod: string,
  how: 'verifyServedCertificate' | 'reloadPodAndWaitServing',
): Promise<void> {
  const { namespace, name: pgbouncer } = run.plan.pgbouncer;
  const summary = `${how === 'reloadPodAndWaitServing' ? 'reload' : 'verify'} pod ${pod} (rollback)`;
  try {
    const check = await callActivity(compensationPodOptions, summary, how, {
      namespace,
      pgbouncer,
      pod,
      tls: run.plan.tlsBefore,
    });
    await note(run, `CompensateVerifyPod--${pod}`, `pod ${pod} ${describeServing(check)}`);
  } catch (verifyErr) {
    const message = `pod ${pod} does not serve the restored configuration: ${describeFailure(verifyErr)}`;
    await callActivity(
      compensationOptions,
      `record ${pod} not verified`,
      'updateRequestStatus',
      run.request,
      { event: { type: 'Warning', reason: 'CompensateVerifyPodFailed', message } },
      { ifExists: true },
    );
  }
}

// --- Bounded compensation (patch 'bounded-compensation') ---

const DEFAULT_BUDGET_MS = 300_000;
/** Resume, release and the status always get at least this long, even with the budget spent. */
const FLOOR_MS = 30_000;
/** ... but never less than this, however small the budget is set. */
const MIN_FLOOR_MS = 10_000;
/** Any other step, with the budget spent, still gets one short try. */
const MIN_STEP_MS = 5_000;

/** One thing compensation could not do, with the commands that finish it by hand. */
interface LeftUndone {
  what: string;
  why: string;
  finish: string;
}

/**
 * The way back with a bound: every step is idempotent, treats "gone" and "already undone" as done
 * (the activities report those as success), retries transient faults only within the budget, and
 * tries a step that failed outright once more. What still fails is listed, and the pooler is
 * resumed, the turn released and the request marked Failed whatever happened before.
 */
async function compensateBounded(run: Rollout, err: unknown): Promise<never> {
  const { plan, request, undo } = run;
  const { namespace, name: pgbouncer } = plan.pgbouncer;
  // A fault past the point of no return was handled by completeCommitted: it ends the run as is.
  if (undo.committed) throw err;
  const cause = isCancellation(err) ? 'the request was cancelled' : describeFailure(err);
  run.progress.compensating = true;
  run.progress.error = cause;
  run.stage('Compensating', cause);
  const left: LeftUndone[] = [];
  await CancellationScope.nonCancellable(async () => {
    const tryTo = budgetedAttempts(run, left);
    let restored = true;
    if (undo.swapped) {
      restored = await tryTo(
        'restore the snapshot',
        `kubectl -n ${namespace} get secret ${undo.snapshot} -o jsonpath='{.data.snapshot\\.json}' | base64 -d  # put back these Secrets and the PgBouncer's spec.tls/sslMode`,
        async (options) => {
          const outcome = await callActivity(
            options,
            'restore the snapshot',
            'restoreConfiguration',
            plan,
            undo.snapshot,
          );
          await note(
            run,
            'CompensateRestoreSnapshot',
            outcome === 'restored'
              ? `restored Secrets, config and spec from ${undo.snapshot}`
              : `PgBouncer ${pgbouncer} is gone: nothing to restore`,
          );
        },
      );
    }
    await rollBackPodsBounded(run, tryTo);
    // A snapshot that could not be restored stays: it is what finishes the restore by hand.
    const leftovers = [...undo.staging, ...(undo.snapshot && restored ? [undo.snapshot] : [])];
    if (leftovers.length) {
      await tryTo(
        'delete staging and snapshot Secrets',
        `kubectl -n ${namespace} delete secret --ignore-not-found ${leftovers.join(' ')}`,
        (options) =>
          callActivity(options, 'delete staging and snapshot Secrets', 'deleteSecrets', namespace, leftovers),
      );
    }
    await resumeAndRelease(run, tryTo);
    const message = `${cause}; ${left.length ? 'rolled back, except what CompensationIncomplete lists' : 'rolled back to the previous configuration'}`;
    await markEnd(run, tryTo, left, { phase: 'Failed', ...conditionUpdate('Failed', false, 'Failed', message) });
  });
  run.stage('Failed', cause);
  countOutcome(isCancellation(err) ? 'Cancelled' : 'Failed');
  if (isCancellation(err)) throw err;
  throw ApplicationFailure.nonRetryable(
    `PgBouncerOpsRequest ${request.namespace}/${request.name} failed and was rolled back${left.length ? ' incompletely' : ''}: ${cause}`,
    'ReconfigureTLSFailed',
  );
}

/**
 * Past the point of no return (every pod serves the new certificate): revoke what was replaced,
 * delete staging, snapshot and removed Secrets, resume and release. A fault here completes the
 * change instead of undoing it (rolling back would serve certificates already on the CRL); what
 * cannot be completed is listed on the request, which is then Failed, else Successful.
 */
export async function completeCommitted(run: Rollout, result: ReconfigureTLSResult): Promise<ReconfigureTLSResult> {
  const { plan, undo, minted } = run;
  const { namespace } = plan.pgbouncer;
  const left: LeftUndone[] = [];
  const tryTo = budgetedAttempts(run, left);
  if (plan.revoke.length) {
    const serials = plan.revoke.map((r) => r.serialHex).join(', ');
    await tryTo(
      'record revoked serials in the CRL',
      `create a ReconfigureTLS request with rotateCertificates: true once the CA's CRL Secret is writable (serials ${serials})`,
      (options) => callActivity(options, 'record revoked serials in the CRL', 'recordRevocations', plan),
    );
  }
  const leftovers = [...plan.deleteSecrets, ...undo.staging, undo.snapshot].filter(Boolean);
  await tryTo(
    'delete staging, snapshot and removed Secrets',
    `kubectl -n ${namespace} delete secret --ignore-not-found ${leftovers.join(' ')}`,
    (options) =>
      callActivity(options, 'delete staging, snapshot and removed Secrets', 'deleteSecrets', namespace, leftovers),
  );
  await resumeAndRelease(run, tryTo);
  const summary = minted.length
    ? minted.map((m) => `${m.alias} serial ${m.serialHex}, valid until ${m.notAfter}`).join('; ')
    : `${plan.intent} done`;
  if (left.length) {
    const message = `TLS reconfigured (${plan.intent}): ${summary}; not everything after the roll completed (see CompensationIncomplete)`;
    await markEnd(run, tryTo, left, { phase: 'Failed', ...conditionUpdate('Failed', false, 'Failed', message) });
    run.stage('Failed', message);
    countOutcome('Failed');
    throw ApplicationFailure.nonRetryable(
      `PgBouncerOpsRequest ${run.request.namespace}/${run.request.name}: ${message}`,
      'ReconfigureTLSIncomplete',
    );
  }
  const message = `TLS reconfigured (${plan.intent}): ${summary}`;
  await markEnd(run, tryTo, left, {
    phase: 'Successful',
    ...conditionUpdate('Successful', true, 'Successful', message),
  });
  run.stage('Successful');
  countOutcome('Successful');
  return result;
}

type Attempt = (
  what: string,
  finish: string,
  fn: (options: ActivityOptions, podOptions: ActivityOptions) => Promise<unknown>,
  opts?: { goneIsDone?: boolean; floor?: boolean },
) => Promise<boolean>;

/** Runs compensation steps within one total budget; a step that fails is retried once, then listed. */
function budgetedAttempts(run: Rollout, left: LeftUndone[]): Attempt {
  const budget = run.limits.compensationBudgetMs ?? DEFAULT_BUDGET_MS;
  const deadline = Date.now() + budget;
  return async (what, finish, fn, opts = {}) => {
    let why = '';
    for (let tries = 0; tries < 2; tries++) {
      const floor = opts.floor ? Math.min(FLOOR_MS, Math.max(budget, MIN_FLOOR_MS)) : MIN_STEP_MS;
      const remaining = Math.max(deadline - Date.now(), floor);
      const within = (base: ActivityOptions) => ({ ...base, scheduleToCloseTimeout: remaining });
      try {
        await fn(within(compensationOptions), within(compensationPodOptions));
        return true;
      } catch (err) {
        if (opts.goneIsDone && isGone(err)) return true;
        why = describeFailure(err);
      }
    }
    left.push({ what, why, finish });
    return false;
  };
}

const isGone = (err: unknown) => {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === FAILURE_TYPES.objectGone;
};

/** Resume and release run whatever failed before them, each with at least the floor budget. */
async function resumeAndRelease(run: Rollout, tryTo: Attempt): Promise<void> {
  const { plan, request, undo } = run;
  const { namespace, name: pgbouncer } = plan.pgbouncer;
  if (undo.paused) {
    await tryTo(
      `resume PgBouncer ${pgbouncer}`,
      `kubectl -n ${namespace} edit pgbouncer ${pgbouncer} --subresource=status  # remove the Paused condition`,
      (options) => callActivity(options, `resume PgBouncer ${pgbouncer}`, 'resumePgBouncer', plan),
      { floor: true },
    );
  }
  await tryTo(
    'release the PgBouncer (its coordination Lease)',
    `kubectl -n ${namespace} delete lease pgbouncer-ops-${pgbouncer}`,
    (options) => callActivity(options, 'release the PgBouncer', 'releaseTurn', request, pgbouncer),
    { floor: true },
  );
}

/** Lists what is left (CompensationIncomplete), then writes the final phase. */
async function markEnd(run: Rollout, tryTo: Attempt, left: LeftUndone[], final: Parameters<Rollout['status']>[0]) {
  if (left.length) {
    const message = left.map((l, i) => `${i + 1}. ${l.what} failed (${l.why}); to finish: ${l.finish}`).join(' ');
    await tryTo(
      'record CompensationIncomplete',
      'see the workflow history',
      (options) =>
        callActivity(
          options,
          'record CompensationIncomplete',
          'updateRequestStatus',
          run.request,
          conditionUpdate('CompensationIncomplete', false, 'CompensationIncomplete', message),
          { ifExists: true },
        ),
      { floor: true },
    );
  }
  await tryTo(
    `mark ${final.phase}`,
    'see the workflow history',
    (options) =>
      callActivity(options, `mark ${final.phase}`, 'updateRequestStatus', run.request, final, { ifExists: true }),
    { floor: true },
  );
}

function markRolledBack(run: Rollout, pod: string): void {
  const entry = run.progress.pods.find((p) => p.name === pod);
  if (entry) entry.status = 'rolled-back';
}

/** What compensation put back is proven served; a pod that does not is listed as left undone. */
function proveRestoredBounded(
  run: Rollout,
  tryTo: Attempt,
  pod: string,
  how: 'verifyServedCertificate' | 'reloadPodAndWaitServing',
): Promise<boolean> {
  const { namespace, name: pgbouncer } = run.plan.pgbouncer;
  const verb = how === 'reloadPodAndWaitServing' ? 'reload' : 'verify';
  return tryTo(
    `${verb} pod ${pod} serves the restored configuration`,
    `kubectl -n ${namespace} delete pod ${pod}  # it restarts with the restored configuration`,
    async (_options, podOptions) => {
      const target = { namespace, pgbouncer, pod, tls: run.plan.tlsBefore };
      const check = await callActivity(podOptions, `${verb} pod ${pod} (rollback)`, how, target);
      await note(run, `CompensateVerifyPod--${pod}`, `pod ${pod} ${describeServing(check)}`);
    },
    { goneIsDone: true },
  );
}

/** Restarts (newest first) the pods the roll restarted, and reloads the reloaded ones; each proven. */
async function rollBackPodsBounded(run: Rollout, tryTo: Attempt): Promise<void> {
  const { undo } = run;
  // A pod whose TLS a RELOAD turned off has no verified admin path back: it is restarted instead.
  const restartReloaded = undo.drain && !run.plan.tlsAfter;
  const toRestart = [
    ...undo.touchedPods,
    ...(restartReloaded ? undo.reloadedPods.map((pod) => ({ pod, uidBefore: '' })) : []),
  ];
  for (const { pod, uidBefore } of [...toRestart].reverse()) {
    const restarted = await restartWithRestored(run, tryTo, pod, uidBefore);
    if (restarted && undo.proveServing) await proveRestoredBounded(run, tryTo, pod, 'verifyServedCertificate');
  }
  if (restartReloaded) return;
  // Reloaded pods read the restored files on their next RELOAD.
  for (const pod of [...undo.reloadedPods].reverse()) {
    if (await proveRestoredBounded(run, tryTo, pod, 'reloadPodAndWaitServing')) markRolledBack(run, pod);
  }
}

/**
 * Restarts one pod with the restored configuration (drained first in runs that drain): a pod the
 * roll restarted, or one it drained, or reloaded to no TLS. True when it was restarted now.
 */
async function restartWithRestored(run: Rollout, tryTo: Attempt, pod: string, uidBefore: string): Promise<boolean> {
  const { undo } = run;
  const { namespace } = run.plan.pgbouncer;
  const drained = undo.drainedPods.includes(pod);
  let rolledBack = false; // a retried attempt must not restart the pod a second time
  const done = await tryTo(
    `restart pod ${pod} with the restored configuration`,
    `kubectl -n ${namespace} delete pod ${pod}`,
    async (options, podOptions) => {
      if (rolledBack) return;
      const current = await callActivity(options, `read pod ${pod}`, 'readPodUid', namespace, pod);
      if (!current) return; // gone: nothing to undo
      if (current === uidBefore) {
        // Never restarted: it runs the old configuration; a drain is undone by its Service label.
        if (drained)
          await callActivity(options, `return pod ${pod} to its Service`, 'returnPodToService', {
            namespace,
            pod,
            uid: current,
          });
        return;
      }
      if (undo.drain) {
        const bound = drainBoundMs(run.plan);
        await callActivity(
          podOptions,
          `drain pod ${pod} (rollback): out of the Service, sessions get up to ${Math.round(bound / 1000)} s`,
          'drainPod',
          drainTarget(run, pod, current),
        );
      }
      await callActivity(podOptions, `roll back pod ${pod}`, 'evictPodAndWaitReady', {
        namespace,
        pod,
        uid: current,
      });
      rolledBack = true;
      markRolledBack(run, pod);
      await note(run, `CompensateRollbackPod--${pod}`, `restarted pod ${pod} with the restored configuration`);
    },
    { goneIsDone: true },
  );
  return done && rolledBack;
}

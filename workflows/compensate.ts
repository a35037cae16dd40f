// The way back (DESIGN §4): on failure, cancellation or spec.timeout, undo what the runbook did,
// as recorded in the rollout's Undo state, then mark the request Failed.
import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import { describeFailure } from './failures.js';
import { compensationOptions, compensationPodOptions } from './options.js';
import { callActivity, conditionUpdate, countOutcome, describeServing, type Rollout } from './run.js';

/** Compensates in a scope nothing can cancel, then ends the run Failed (or Cancelled). */
export async function compensate(run: Rollout, err: unknown): Promise<never> {
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
    'ReconfigureTLSFailed',
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

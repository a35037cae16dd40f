// ReconfigureTLS as a runbook (DESIGN §4). Every step is an activity; this file decides only
// the order, the retries of a failed step (spec.maxRetries), the per-step deadline
// (spec.timeout), and the compensation that puts the last good configuration back.
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  metricMeter,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { MintedCertificate } from '../activities/certificates/mint.js';
import type { StatusUpdate } from '../activities/kubernetes/ops-request.js';
import type { ServingCheck } from '../activities/pgbouncer/served-certificate.js';
import type { OpsRequestRef, Plan } from '../lib/planner/types.js';
import { compensationOptions, compensationPodOptions, forwardOptions, podWaitOptions } from './options.js';
import { progressQuery, SEARCH_ATTRIBUTES, type Progress } from './progress.js';
import { describeFailure, isNonRetryable } from './failures.js';

const act = proxyActivities<Activities>(forwardOptions);
const pods = proxyActivities<Activities>(podWaitOptions);
const undo = proxyActivities<Activities>(compensationOptions);
const undoPods = proxyActivities<Activities>(compensationPodOptions);

export interface ReconfigureTLSInput {
  request: OpsRequestRef;
}

export interface ReconfigureTLSResult {
  phase: 'Successful' | 'Skipped';
  intent?: Plan['intent'];
  certificates: { alias: string; serialHex: string; fingerprintSha256: string; notAfter: string }[];
  restartedPods: { pod: string; oldUid: string; newUid: string }[];
  /** What each pod was seen serving after its restart or reload (absent in runs before the checks). */
  servedChecks?: (ServingCheck & { method: 'restart' | 'reload' })[];
}

/** "serves serial 1F… (checked in 120 ms, 2 probes)", or "offers no TLS". */
function describeServing(check: ServingCheck): string {
  const what = check.served.tls ? `serves serial ${check.served.serialHex}` : 'offers no TLS';
  const reloads = check.reloads ? `, ${check.reloads} RELOAD(s)` : '';
  return `${what} (verified in ${check.elapsedMs} ms, ${check.probes} probe(s)${reloads})`;
}

const TURN_POLL = '5 seconds';

/** pgbtls_requests{outcome}: how requests end. Workflow metrics are not emitted during replay. */
const countOutcome = (outcome: string) =>
  metricMeter.createCounter('pgbtls_requests', 'requests', 'Ops requests by outcome').add(1, { outcome });

export async function reconfigureTLS({ request }: ReconfigureTLSInput): Promise<ReconfigureTLSResult> {
  const progress: Progress = { stage: 'Validating', pods: [], certificates: [], compensating: false };
  setHandler(progressQuery, () => progress);
  const stage = (name: string, details?: string) => {
    progress.stage = name;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: name }]);
    setCurrentDetails(`**${name}**${details ? `\n\n${details}` : ''}`);
  };
  const status = (update: StatusUpdate, summary: string) =>
    act.updateRequestStatus.executeWithOptions({ ...forwardOptions, summary }, [request, update]);
  const condition = (type: string, ok: boolean, reason: string, message: string): StatusUpdate => ({
    condition: { type, status: ok ? 'True' : 'False', reason, message },
    event: { type: ok ? 'Normal' : 'Warning', reason, message },
  });
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.namespace, value: request.namespace },
    { key: SEARCH_ATTRIBUTES.opsType, value: 'ReconfigureTLS' },
  ]);

  const prepared = await untilOurTurn();
  if ('phase' in prepared) return prepared;
  const { plan, stepTimeoutMs, maxRetries } = prepared;
  const { namespace, name: pgbouncer } = plan.pgbouncer;
  progress.intent = plan.intent;
  progress.pods = plan.pods.map((p) => ({ name: p.name, method: p.method, status: 'pending' }));

  // What compensation must undo, in the order the runbook does it (not simply reversed).
  const done = {
    paused: false,
    snapshot: '',
    swapped: false,
    staging: [] as string[],
    touchedPods: [] as { pod: string; uidBefore: string }[],
    reloadedPods: [] as string[],
  };
  let minted: MintedCertificate[] = [];
  const restartedPods: ReconfigureTLSResult['restartedPods'] = [];
  const servedChecks: NonNullable<ReconfigureTLSResult['servedChecks']> = [];
  let proveServing = false;

  /** The UI's current details during the roll: each pod, how it is updated, and where it is. */
  function showRoll(): void {
    const lines = progress.pods.map(
      (p) => `- \`${p.name}\`: ${p.method === 'reload' ? 'reload (no restart)' : 'restart'} — ${p.status}`,
    );
    setCurrentDetails(`**RestartPods**\n\n${lines.join('\n')}`);
  }

  /** Runs one step with spec.timeout as its deadline and spec.maxRetries more attempts on failure. */
  async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return stepTimeoutMs ? await CancellationScope.withTimeout(stepTimeoutMs, fn) : await fn();
      } catch (err) {
        // Cancellation of the whole workflow ends here; a step's own deadline is a failure like any other.
        if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
        const cause = isCancellation(err)
          ? `${name} did not finish within spec.timeout (${stepTimeoutMs} ms)`
          : describeFailure(err);
        if (attempt >= maxRetries || (!isCancellation(err) && isNonRetryable(err))) {
          throw ApplicationFailure.nonRetryable(`${name} failed: ${cause}`, 'StepFailed');
        }
        await status(
          condition(name, false, 'Retrying', `attempt ${attempt + 1} failed: ${cause}; retrying`),
          `retry ${name}`,
        );
      }
    }
  }

  try {
    // 3. Progressing, and pause the PgBouncer so the provisioner keeps its hands off.
    stage('Progressing', `intent: ${plan.intent}`);
    await status(
      {
        phase: 'Progressing',
        ...condition(
          'ReconfigureTLS',
          true,
          'Progressing',
          `${plan.intent}: reconfiguring TLS of PgBouncer ${pgbouncer}`,
        ),
      },
      'mark Progressing',
    );
    for (const warning of plan.warnings) {
      await status({ event: { type: 'Warning', reason: 'Warning', message: warning } }, 'record a warning');
    }
    await step('DatabasePauseSucceeded', () =>
      act.pausePgBouncer.executeWithOptions({ ...forwardOptions, summary: `pause PgBouncer ${pgbouncer}` }, [plan]),
    );
    done.paused = true;
    await status(
      condition('DatabasePauseSucceeded', true, 'DatabasePauseSucceeded', `paused PgBouncer ${pgbouncer}`),
      'record pause',
    );

    // 4. Snapshot what will change.
    stage('Snapshot');
    done.snapshot = await step('Snapshot', () =>
      act.snapshotConfiguration.executeWithOptions(
        { ...forwardOptions, summary: 'snapshot Secrets, config and spec' },
        [request, plan],
      ),
    );

    // 5. Mint into staging Secrets: the workflow sees serials and fingerprints, never keys.
    if (plan.certificates.length) {
      stage('IssueCertificates');
      done.staging = plan.certificates.map((c) => c.stagingSecretName);
      minted = await step('IssueCertificatesSucceeded', async () => {
        const out: MintedCertificate[] = [];
        for (const c of plan.certificates) {
          out.push(
            await act.mintCertificate.executeWithOptions(
              { ...forwardOptions, summary: `mint ${c.alias} certificate` },
              [request, plan, c],
            ),
          );
        }
        return out;
      });
      progress.certificates = minted.map((m) => ({ alias: m.alias, serialHex: m.serialHex, notAfter: m.notAfter }));
      await status(
        condition(
          'IssueCertificatesSucceeded',
          true,
          'IssueCertificatesSucceeded',
          minted.map((m) => `${m.alias} serial ${m.serialHex} until ${m.notAfter}`).join('; '),
        ),
        'record issued certificates',
      );
    }

    // 6. Swap Secrets, config and spec (the StatefulSet template follows; pods do not yet).
    stage('UpdateConfiguration');
    done.swapped = true; // registered before the call: a timeout may land after the write
    const changed = await step('CertificateSynced', () =>
      act.applyNewConfiguration.executeWithOptions({ ...forwardOptions, summary: 'swap Secrets, config and spec' }, [
        request,
        plan,
        minted,
      ]),
    );
    await status(
      condition('CertificateSynced', true, 'CertificateSynced', `updated ${changed.join(', ') || 'nothing'}`),
      'record configuration swap',
    );
    await status(
      condition('UpdatePetSets', true, 'UpdatePetSets', `StatefulSet ${pgbouncer} carries the new configuration`),
      'record StatefulSet update',
    );

    // 7. Roll the pods one at a time, highest ordinal first, keyed by uid; each must then serve
    // the intended certificate (a stored certificate is not a served one).
    stage('RestartPods');
    const uids = await act.listPodUids.executeWithOptions({ ...forwardOptions, summary: 'list pods to restart' }, [
      plan,
    ]);
    // Histories recorded before served-certificate checks and hot reload replay without them.
    proveServing = patched('verify-served-certificate');
    if (!proveServing) progress.pods.forEach((p) => (p.method = 'restart')); // before hot reload existed
    showRoll();
    const serverFingerprint = minted.find((m) => m.alias === 'server')?.fingerprintSha256;
    const intended = (pod: string) => ({
      namespace,
      pgbouncer,
      pod,
      tls: plan.tlsAfter,
      fingerprintSha256: serverFingerprint,
    });
    for (const [i, pod] of plan.pods.entries()) {
      const uid = uids[pod.name];
      if (!uid) continue; // scaled away meanwhile
      if (proveServing && pod.method === 'reload') {
        progress.pods[i].status = 'reloading';
        showRoll();
        done.reloadedPods.push(pod.name);
        const check = await step(`ReloadPod--${pod.name}`, () =>
          pods.reloadPodAndWaitServing.executeWithOptions(
            { ...podWaitOptions, summary: `reload pod ${pod.name} (no restart)` },
            [intended(pod.name)],
          ),
        );
        servedChecks.push({ ...check, method: 'reload' });
        progress.pods[i].status = 'done';
        await status(
          condition(`ReloadPod--${pod.name}`, true, 'ReloadPod', `pod ${pod.name} reloaded; ${describeServing(check)}`),
          `record ${pod.name} reloaded`,
        );
        continue;
      }
      progress.pods[i].status = 'restarting';
      showRoll();
      done.touchedPods.push({ pod: pod.name, uidBefore: uid });
      await status(
        condition(`EvictPod--${pod.name}`, true, 'EvictPod', `evicting pod ${pod.name} (uid ${uid})`),
        `record eviction of ${pod.name}`,
      );
      const result = await step(`CheckPodReady--${pod.name}`, () =>
        pods.evictPodAndWaitReady.executeWithOptions({ ...podWaitOptions, summary: `restart pod ${pod.name}` }, [
          { namespace, pod: pod.name, uid },
        ]),
      );
      restartedPods.push({ pod: pod.name, oldUid: result.oldUid, newUid: result.newUid });
      if (proveServing) {
        progress.pods[i].status = 'verifying';
        showRoll();
        const check = await step(`VerifyServedCertificate--${pod.name}`, () =>
          pods.verifyServedCertificate.executeWithOptions(
            { ...podWaitOptions, summary: `verify what pod ${pod.name} serves` },
            [intended(pod.name)],
          ),
        );
        servedChecks.push({ ...check, method: 'restart' });
      }
      progress.pods[i].status = 'done';
      await status(
        condition(
          `CheckPodReady--${pod.name}`,
          true,
          'CheckPodReady',
          `pod ${pod.name} is Ready again (uid ${result.newUid})${proveServing ? `; ${describeServing(servedChecks[servedChecks.length - 1])}` : ''}`,
        ),
        `record ${pod.name} Ready`,
      );
    }
    await status(
      condition(
        'RestartPods',
        true,
        'RestartPods',
        done.reloadedPods.length
          ? `restarted ${restartedPods.length} pod(s), reloaded ${done.reloadedPods.length}`
          : `restarted ${restartedPods.length} pod(s)`,
      ),
      'record pods restarted',
    );

    // 8. Finish: only the new CA in ca.crt, revoke what was replaced, drop removed keys, clean up.
    stage('Finalize');
    if (plan.caBundleDuringRoll === 'old+new') {
      await step('FinalizeCABundle', () =>
        act.finalizeCaBundle.executeWithOptions({ ...forwardOptions, summary: 'keep only the new CA in ca.crt' }, [
          plan,
          minted,
        ]),
      );
    }
    if (plan.revoke.length) {
      await step('RevokeCertificates', () =>
        act.recordRevocations.executeWithOptions({ ...forwardOptions, summary: 'record revoked serials in the CRL' }, [
          plan,
        ]),
      );
    }
    const leftovers = [...plan.deleteSecrets, ...done.staging, done.snapshot];
    await step('Cleanup', () =>
      act.deleteSecrets.executeWithOptions(
        { ...forwardOptions, summary: 'delete staging, snapshot and removed Secrets' },
        [namespace, leftovers],
      ),
    );
    await step('UpdateDatabase', () =>
      act.resumePgBouncer.executeWithOptions({ ...forwardOptions, summary: `resume PgBouncer ${pgbouncer}` }, [plan]),
    );
    await act.releaseTurn(request, pgbouncer);
    const summary = minted.length
      ? minted.map((m) => `${m.alias} serial ${m.serialHex}, valid until ${m.notAfter}`).join('; ')
      : `${plan.intent} done`;
    await status(
      {
        phase: 'Successful',
        ...condition('Successful', true, 'Successful', `TLS reconfigured (${plan.intent}): ${summary}`),
      },
      'mark Successful',
    );
    stage('Successful');
    countOutcome('Successful');
    return {
      phase: 'Successful',
      intent: plan.intent,
      certificates: minted.map(({ alias, serialHex, fingerprintSha256, notAfter }) => ({
        alias,
        serialHex,
        fingerprintSha256,
        notAfter,
      })),
      restartedPods,
      ...(servedChecks.length ? { servedChecks } : {}),
    };
  } catch (err) {
    const cause = isCancellation(err) ? 'the request was cancelled' : describeFailure(err);
    progress.compensating = true;
    progress.error = cause;
    stage('Compensating', cause);
    // Nothing may cancel the way back: compensation runs to the end, each step retried until done.
    await CancellationScope.nonCancellable(async () => {
      const note = (type: string, message: string) =>
        undo.updateRequestStatus.executeWithOptions({ ...compensationOptions, summary: `record ${type}` }, [
          request,
          condition(type, true, type, message),
          { ifExists: true },
        ]);
      if (done.swapped) {
        await undo.restoreConfiguration.executeWithOptions(
          { ...compensationOptions, summary: 'restore the snapshot' },
          [plan, done.snapshot],
        );
        await note('CompensateRestoreSnapshot', `restored Secrets, config and spec from ${done.snapshot}`);
      }
      // What compensation puts back is proven served too; a pod that will not is reported, and
      // the way back goes on (it must reach resume and the Failed status whatever happens).
      const previous = (pod: string) => ({ namespace, pgbouncer, pod, tls: plan.tlsBefore });
      const proveRestored = async (pod: string, how: 'verifyServedCertificate' | 'reloadPodAndWaitServing') => {
        try {
          const check = await undoPods[how].executeWithOptions(
            {
              ...compensationPodOptions,
              summary: `${how === 'reloadPodAndWaitServing' ? 'reload' : 'verify'} pod ${pod} (rollback)`,
            },
            [previous(pod)],
          );
          await note(`CompensateVerifyPod--${pod}`, `pod ${pod} ${describeServing(check)}`);
        } catch (verifyErr) {
          await undo.updateRequestStatus.executeWithOptions(
            { ...compensationOptions, summary: `record ${pod} not verified` },
            [
              request,
              {
                event: {
                  type: 'Warning',
                  reason: 'CompensateVerifyPodFailed',
                  message: `pod ${pod} does not serve the restored configuration: ${describeFailure(verifyErr)}`,
                },
              },
              { ifExists: true },
            ],
          );
        }
      };
      for (const { pod, uidBefore } of [...done.touchedPods].reverse()) {
        const current = await undo.readPodUid(namespace, pod);
        if (!current || current === uidBefore) continue; // never restarted: it still runs the old configuration
        await undoPods.evictPodAndWaitReady.executeWithOptions(
          { ...compensationPodOptions, summary: `roll back pod ${pod}` },
          [{ namespace, pod, uid: current }],
        );
        const entry = progress.pods.find((p) => p.name === pod);
        if (entry) entry.status = 'rolled-back';
        await note(`CompensateRollbackPod--${pod}`, `restarted pod ${pod} with the restored configuration`);
        if (proveServing) await proveRestored(pod, 'verifyServedCertificate');
      }
      // Reloaded pods read the restored files on their next RELOAD.
      for (const pod of [...done.reloadedPods].reverse()) {
        await proveRestored(pod, 'reloadPodAndWaitServing');
        const entry = progress.pods.find((p) => p.name === pod);
        if (entry) entry.status = 'rolled-back';
      }
      await undo.deleteSecrets.executeWithOptions(
        { ...compensationOptions, summary: 'delete staging and snapshot Secrets' },
        [namespace, [...done.staging, ...(done.snapshot ? [done.snapshot] : [])]],
      );
      if (done.paused) {
        await undo.resumePgBouncer.executeWithOptions(
          { ...compensationOptions, summary: `resume PgBouncer ${pgbouncer}` },
          [plan],
        );
      }
      await undo.releaseTurn(request, pgbouncer);
      await undo.updateRequestStatus.executeWithOptions({ ...compensationOptions, summary: 'mark Failed' }, [
        request,
        {
          phase: 'Failed',
          ...condition('Failed', false, 'Failed', `${cause}; rolled back to the previous configuration`),
        },
        { ifExists: true },
      ]);
    });
    stage('Failed', cause);
    countOutcome(isCancellation(err) ? 'Cancelled' : 'Failed');
    if (isCancellation(err)) throw err; // the run ends Cancelled, after compensating
    throw ApplicationFailure.nonRetryable(
      `PgBouncerOpsRequest ${request.namespace}/${request.name} failed and was rolled back: ${cause}`,
      'ReconfigureTLSFailed',
    );
  }

  /**
   * Steps 1-2: validate, mark Pending, wait for the turn, and plan on the state found then. Nothing
   * has changed yet, so a failure here only needs the request marked Failed.
   */
  async function untilOurTurn(): Promise<
    ReconfigureTLSResult | { plan: Plan; stepTimeoutMs: number; maxRetries: number }
  > {
    try {
      // 1. Validate against the live objects; bad input fails the request before anything changes.
      stage('Validating');
      let planned = await act.planReconfiguration.executeWithOptions(
        { ...forwardOptions, summary: 'validate and plan' },
        [request],
      );
      if (planned.pgbouncer) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.pgbouncer, value: planned.pgbouncer }]);
      if (!planned.result.ok) return failValidation(planned.result.errors);

      await status({ phase: 'Pending' }, 'mark Pending');

      // 2. Wait for our turn: one request per PgBouncer at a time, oldest first.
      stage('WaitingForTurn');
      for (;;) {
        const turn = await act.claimTurn.executeWithOptions({ ...forwardOptions, summary: 'claim the PgBouncer' }, [
          request,
        ]);
        if (turn.outcome === 'acquired') break;
        if (turn.outcome === 'skipped') {
          await status(
            {
              phase: 'Skipped',
              ...condition(
                'Skipped',
                true,
                'Skipped',
                `skipped: ${turn.supersededBy} is the newest request of this type`,
              ),
            },
            'mark Skipped',
          );
          stage('Skipped');
          countOutcome('Skipped');
          return { phase: 'Skipped', certificates: [], restartedPods: [] } as ReconfigureTLSResult;
        }
        setCurrentDetails(`**WaitingForTurn**\n\nwaiting for \`${turn.blockedBy}\``);
        await sleep(TURN_POLL);
      }

      // The previous request may have changed the PgBouncer: plan again on what is there now.
      planned = await act.planReconfiguration.executeWithOptions(
        { ...forwardOptions, summary: 'plan on the current state' },
        [request],
      );
      if (!planned.result.ok) {
        await act.releaseTurn(request, planned.pgbouncer ?? '');
        return failValidation(planned.result.errors);
      }
      return { plan: planned.result.plan, stepTimeoutMs: planned.stepTimeoutMs, maxRetries: planned.maxRetries };
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === 'InvalidInput') throw err; // already marked Failed
      const cause = isCancellation(err) ? 'the request was cancelled before it started' : describeFailure(err);
      stage('Failed', cause);
      countOutcome(isCancellation(err) ? 'Cancelled' : 'Failed');
      await CancellationScope.nonCancellable(() =>
        undo.updateRequestStatus.executeWithOptions({ ...compensationOptions, summary: 'mark Failed' }, [
          request,
          { phase: 'Failed', ...condition('Failed', false, 'Failed', `${cause}; nothing was changed`) },
          { ifExists: true },
        ]),
      );
      if (isCancellation(err)) throw err;
      throw ApplicationFailure.nonRetryable(
        `PgBouncerOpsRequest ${request.namespace}/${request.name} failed: ${cause}`,
        'ReconfigureTLSFailed',
      );
    }
  }

  async function failValidation(errors: { field: string; message: string }[]): Promise<never> {
    const message = errors.map((e) => e.message).join('; ');
    stage('Failed', message);
    countOutcome('Invalid');
    await status(
      { phase: 'Failed', ...condition('Failed', false, 'ValidationFailed', message) },
      'mark Failed (invalid request)',
    );
    throw ApplicationFailure.nonRetryable(
      `invalid PgBouncerOpsRequest ${request.namespace}/${request.name}: ${message}`,
      'InvalidInput',
    );
  }
}

// ReconfigureTLS as a runbook (DESIGN §4). Every step is an activity; this file decides only
// the order, the retries of a failed step (spec.maxRetries), the per-step deadline
// (spec.timeout), and, in compensate.ts, the way back to the last good configuration.
import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  patched,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { PodPlan, OpsRequestRef, Plan } from '../lib/planner/types.js';
import type { MintedCertificate } from '../activities/certificates/mint.js';
import type { ServingCheck } from '../activities/pgbouncer/served-certificate.js';
import { FAILURE_TYPES } from '../lib/failure-types.js';
import { compensate, completeCommitted } from './compensate.js';
import { describeFailure } from './failures.js';
import { compensationOptions, forwardOptions, podWaitOptions } from './options.js';
import { SEARCH_ATTRIBUTES } from './progress.js';
import { describeDrain, drainBoundMs, drainTarget } from './drain.js';
import {
  callActivity,
  conditionUpdate,
  countOutcome,
  describeServing,
  startRollout,
  startRun,
  step,
  stepLimitsOf,
  type Rollout,
  type Run,
  type StepLimits,
} from './run.js';

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

const TURN_POLL = '5 seconds';

export async function reconfigureTLS({ request }: ReconfigureTLSInput): Promise<ReconfigureTLSResult> {
  // Runs from before this patch compensate without a bound and wait for their turn in one run.
  const bounded = patched('bounded-compensation');
  // Runs from before this patch plan again after every turn and write the swap's two conditions apart.
  const lean = patched('fleet-budget');
  const run = startRun(request);
  const turn = await waitForTurn(run, bounded, lean);
  if (turn.outcome === 'skipped') return { phase: 'Skipped', certificates: [], restartedPods: [] };
  if (turn.outcome === 'invalid') {
    throw ApplicationFailure.nonRetryable(
      `invalid PgBouncerOpsRequest ${request.namespace}/${request.name}: ${turn.message}`,
      FAILURE_TYPES.invalidInput,
    );
  }
  const rollout = { ...startRollout(run, turn.plan, turn.limits, bounded), lean };
  try {
    await prepare(rollout);
    await swap(rollout);
    await roll(rollout);
    return await finish(rollout);
  } catch (err) {
    return compensate(rollout, err);
  }
}

type Turn =
  | { outcome: 'acquired'; plan: Plan; limits: StepLimits }
  | { outcome: 'skipped' }
  | { outcome: 'invalid'; message: string };

/**
 * Steps 1-2: validate, mark Pending, wait for the turn, and plan on the state found then. Nothing
 * has changed yet, so a failure here only needs the request marked Failed.
 */
async function waitForTurn(run: Run, bounded: boolean, lean: boolean): Promise<Turn> {
  const { request } = run;
  try {
    // 1. Validate against the live objects; bad input fails the request before anything changes.
    run.stage('Validating');
    let planned = await callActivity(forwardOptions, 'validate and plan', 'planReconfiguration', request);
    if (planned.pgbouncer) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.pgbouncer, value: planned.pgbouncer }]);
    if (!planned.result.ok) return await markInvalid(run, planned.result.errors);

    await run.status({ phase: 'Pending' }, 'mark Pending');

    // 2. Wait for our turn: one request per PgBouncer at a time, oldest first.
    run.stage('WaitingForTurn');
    // About 11 events per poll: a long wait goes on in a fresh run (same workflow id) instead of
    // growing this history toward Temporal's limit.
    const pollsPerRun = bounded ? (planned.turnPollsPerRun ?? 150) : 0;
    // Taken at once, the turn can keep the plan just made, if the PgBouncer has not changed since.
    const plannedState =
      lean && planned.pgbouncer && planned.pgbouncerResourceVersion
        ? { pgbouncer: planned.pgbouncer, resourceVersion: planned.pgbouncerResourceVersion }
        : undefined;
    let planHolds = false;
    for (let polls = 0; ; polls++) {
      if (pollsPerRun && polls >= pollsPerRun) await continueAsNew<typeof reconfigureTLS>({ request });
      const turn = plannedState
        ? await callActivity(
            forwardOptions,
            'claim the PgBouncer',
            'claimTurn',
            request,
            polls ? undefined : plannedState,
          )
        : await callActivity(forwardOptions, 'claim the PgBouncer', 'claimTurn', request);
      if (turn.outcome === 'acquired') {
        planHolds = turn.unchanged === true;
        break;
      }
      if (turn.outcome === 'skipped') {
        const message = `skipped: ${turn.supersededBy} is the newest request of this type`;
        await run.status({ phase: 'Skipped', ...conditionUpdate('Skipped', true, 'Skipped', message) }, 'mark Skipped');
        run.stage('Skipped');
        countOutcome('Skipped');
        return { outcome: 'skipped' };
      }
      setCurrentDetails(`**WaitingForTurn**\n\nwaiting for \`${turn.blockedBy}\``);
      await sleep(TURN_POLL);
    }

    // The previous request may have changed the PgBouncer: plan again on what is there now.
    if (!planHolds)
      planned = await callActivity(forwardOptions, 'plan on the current state', 'planReconfiguration', request);
    if (!planned.result.ok) {
      await callActivity(forwardOptions, 'release the PgBouncer', 'releaseTurn', request, planned.pgbouncer ?? '');
      return await markInvalid(run, planned.result.errors);
    }
    return { outcome: 'acquired', plan: planned.result.plan, limits: stepLimitsOf(planned, planned.result.plan) };
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const cause = isCancellation(err) ? 'the request was cancelled before it started' : describeFailure(err);
    run.stage('Failed', cause);
    countOutcome(isCancellation(err) ? 'Cancelled' : 'Failed');
    await CancellationScope.nonCancellable(() =>
      callActivity(
        compensationOptions,
        'mark Failed',
        'updateRequestStatus',
        request,
        {
          phase: 'Failed',
          ...conditionUpdate('Failed', false, 'Failed', `${cause}; nothing was changed`),
        },
        { ifExists: true },
      ),
    );
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.nonRetryable(
      `PgBouncerOpsRequest ${request.namespace}/${request.name} failed: ${cause}`,
      FAILURE_TYPES.reconfigureTLSFailed,
    );
  }
}

/** Bad input: the request is marked Failed with every problem found, and nothing changes. */
async function markInvalid(run: Run, errors: { field: string; message: string }[]): Promise<Turn> {
  const message = errors.map((e) => e.message).join('; ');
  run.stage('Failed', message);
  countOutcome('Invalid');
  await run.status(
    { phase: 'Failed', ...conditionUpdate('Failed', false, 'ValidationFailed', message) },
    'mark Failed (invalid request)',
  );
  return { outcome: 'invalid', message };
}

/** Steps 3-5: Progressing, pause, snapshot what will change, mint into staging Secrets. */
async function prepare(run: Rollout): Promise<void> {
  const { plan, request, undo } = run;
  const pgbouncer = plan.pgbouncer.name;
  // 3. Progressing, and pause the PgBouncer so the provisioner keeps its hands off.
  run.stage('Progressing', `intent: ${plan.intent}`);
  const progressing = `${plan.intent}: reconfiguring TLS of PgBouncer ${pgbouncer}`;
  await run.status(
    { phase: 'Progressing', ...conditionUpdate('ReconfigureTLS', true, 'Progressing', progressing) },
    'mark Progressing',
  );
  for (const warning of plan.warnings) {
    await run.status({ event: { type: 'Warning', reason: 'Warning', message: warning } }, 'record a warning');
  }
  await step(run, 'DatabasePauseSucceeded', () =>
    callActivity(forwardOptions, `pause PgBouncer ${pgbouncer}`, 'pausePgBouncer', plan),
  );
  undo.paused = true;
  await run.status(
    conditionUpdate('DatabasePauseSucceeded', true, 'DatabasePauseSucceeded', `paused PgBouncer ${pgbouncer}`),
    'record pause',
  );

  // 4. Snapshot what will change.
  run.stage('Snapshot');
  undo.snapshot = await step(run, 'Snapshot', () =>
    callActivity(forwardOptions, 'snapshot Secrets, config and spec', 'snapshotConfiguration', request, plan),
  );

  // 5. Mint into staging Secrets: the workflow sees serials and fingerprints, never keys.
  if (!plan.certificates.length) return;
  run.stage('IssueCertificates');
  undo.staging = plan.certificates.map((c) => c.stagingSecretName);
  run.minted = await step(run, 'IssueCertificatesSucceeded', async () => {
    const out: MintedCertificate[] = [];
    for (const c of plan.certificates) {
      out.push(await callActivity(forwardOptions, `mint ${c.alias} certificate`, 'mintCertificate', request, plan, c));
    }
    return out;
  });
  run.progress.certificates = run.minted.map(({ alias, serialHex, notAfter }) => ({ alias, serialHex, notAfter }));
  await run.status(
    conditionUpdate(
      'IssueCertificatesSucceeded',
      true,
      'IssueCertificatesSucceeded',
      run.minted.map((m) => `${m.alias} serial ${m.serialHex} until ${m.notAfter}`).join('; '),
    ),
    'record issued certificates',
  );
}

/** Step 6: swap Secrets, config and spec (the StatefulSet template follows; pods do not yet). */
async function swap(run: Rollout): Promise<void> {
  const { plan, request } = run;
  run.stage('UpdateConfiguration');
  run.undo.swapped = true; // registered before the call: a timeout may land after the write
  const changed = await step(run, 'CertificateSynced', () =>
    callActivity(forwardOptions, 'swap Secrets, config and spec', 'applyNewConfiguration', request, plan, run.minted),
  );
  const synced = conditionUpdate(
    'CertificateSynced',
    true,
    'CertificateSynced',
    `updated ${changed.join(', ') || 'nothing'}`,
  );
  const petSets = conditionUpdate(
    'UpdatePetSets',
    true,
    'UpdatePetSets',
    `StatefulSet ${plan.pgbouncer.name} carries the new configuration`,
  );
  // Both are true from the same moment: one write (two conditions, two Events) since fleet-budget.
  if (run.lean) {
    await run.status({ ...synced, also: [petSets] }, 'record configuration swap and StatefulSet update');
    return;
  }
  await run.status(synced, 'record configuration swap');
  await run.status(petSets, 'record StatefulSet update');
}

/**
 * Step 7: roll the pods one at a time, highest ordinal first, keyed by uid; each must then serve
 * the intended certificate (a stored certificate is not a served one).
 */
async function roll(run: Rollout): Promise<void> {
  const { plan, undo } = run;
  run.stage('RestartPods');
  const uids = await callActivity(forwardOptions, 'list pods to restart', 'listPodUids', plan);
  // Histories recorded before served-certificate checks and hot reload replay without them.
  undo.proveServing = patched('verify-served-certificate');
  // Runs from before drains evict at once; new runs take each pod out of its Service first.
  undo.drain = undo.proveServing && patched('drain-before-restart');
  if (!undo.proveServing) run.progress.pods.forEach((p) => (p.method = 'restart')); // before hot reload existed
  showRoll(run);
  // A scale during the operation ends it cleanly (rolled back, "retry after scaling"): new pods
  // would not be in the server certificate's names, and removed ones were never verified.
  const checkReplicas = () =>
    run.bounded
      ? step(run, 'CheckReplicas', () => callActivity(forwardOptions, 'check the replica count', 'checkReplicas', plan))
      : Promise.resolve();
  await checkReplicas();
  for (const [i, pod] of plan.pods.entries()) {
    const uid = uids[pod.name];
    if (!uid) continue; // scaled away meanwhile
    if (undo.proveServing && pod.method === 'reload') await reloadPod(run, i, pod);
    else await restartPod(run, i, pod, uid);
  }
  await checkReplicas();
  const restarted = `restarted ${run.restartedPods.length} pod(s)`;
  await run.status(
    conditionUpdate(
      'RestartPods',
      true,
      'RestartPods',
      undo.reloadedPods.length ? `${restarted}, reloaded ${undo.reloadedPods.length}` : restarted,
    ),
    'record pods restarted',
  );
}

/** The UI's current details during the roll: each pod, how it is updated, and where it is. */
function showRoll(run: Rollout): void {
  const lines = run.progress.pods.map(
    (p) => `- \`${p.name}\`: ${p.method === 'reload' ? 'reload (no restart)' : 'restart'} — ${p.status}`,
  );
  setCurrentDetails(`**RestartPods**\n\n${lines.join('\n')}`);
}

/** What a pod must serve after the roll: the server certificate just minted, or no TLS. */
function intendedServing(run: Rollout, pod: string) {
  const { namespace, name: pgbouncer } = run.plan.pgbouncer;
  const fingerprintSha256 = run.minted.find((m) => m.alias === 'server')?.fingerprintSha256;
  // The snapshot and staging Secrets hold the other CAs the admin console may be served under.
  const admin = run.undo.drain ? { snapshot: run.undo.snapshot, staging: run.undo.staging } : {};
  return { namespace, pgbouncer, pod, tls: run.plan.tlsAfter, fingerprintSha256, ...admin };
}

/** Hot reload: RELOAD through the admin console until the pod serves the new certificate. */
async function reloadPod(run: Rollout, i: number, pod: PodPlan): Promise<void> {
  run.progress.pods[i].status = 'reloading';
  showRoll(run);
  run.undo.reloadedPods.push(pod.name);
  const check = await step(run, `ReloadPod--${pod.name}`, () =>
    callActivity(
      podWaitOptions,
      `reload pod ${pod.name} (no restart)`,
      'reloadPodAndWaitServing',
      intendedServing(run, pod.name),
    ),
  );
  run.servedChecks.push({ ...check, method: 'reload' });
  run.progress.pods[i].status = 'done';
  await run.status(
    conditionUpdate(`ReloadPod--${pod.name}`, true, 'ReloadPod', `pod ${pod.name} reloaded; ${describeServing(check)}`),
    `record ${pod.name} reloaded`,
  );
}

/** Evict the pod (keyed by its uid), wait until its replacement is Ready, then prove what it serves. */
async function restartPod(run: Rollout, i: number, pod: PodPlan, uid: string): Promise<void> {
  const { namespace } = run.plan.pgbouncer;
  run.progress.pods[i].status = 'restarting';
  showRoll(run);
  run.undo.touchedPods.push({ pod: pod.name, uidBefore: uid });
  if (run.undo.drain) await drainPod(run, i, pod, uid);
  await run.status(
    conditionUpdate(`EvictPod--${pod.name}`, true, 'EvictPod', `evicting pod ${pod.name} (uid ${uid})`),
    `record eviction of ${pod.name}`,
  );
  const result = await step(run, `CheckPodReady--${pod.name}`, () =>
    callActivity(podWaitOptions, `restart pod ${pod.name}`, 'evictPodAndWaitReady', { namespace, pod: pod.name, uid }),
  );
  run.restartedPods.push({ pod: pod.name, oldUid: result.oldUid, newUid: result.newUid });
  let served = '';
  if (run.undo.proveServing) {
    run.progress.pods[i].status = 'verifying';
    showRoll(run);
    const check = await step(run, `VerifyServedCertificate--${pod.name}`, () =>
      callActivity(
        podWaitOptions,
        `verify what pod ${pod.name} serves`,
        'verifyServedCertificate',
        intendedServing(run, pod.name),
      ),
    );
    run.servedChecks.push({ ...check, method: 'restart' });
    served = `; ${describeServing(check)}`;
  }
  run.progress.pods[i].status = 'done';
  await run.status(
    conditionUpdate(
      `CheckPodReady--${pod.name}`,
      true,
      'CheckPodReady',
      `pod ${pod.name} is Ready again (uid ${result.newUid})${served}`,
    ),
    `record ${pod.name} Ready`,
  );
}

/**
 * Graceful drain before the eviction: the pod leaves its Service, new connections stop, and its
 * sessions get until the drain bound to end (README "Drain"). Registered in undo first: a pod
 * drained but never evicted is out of its Service, so compensation puts it back.
 */
async function drainPod(run: Rollout, i: number, pod: PodPlan, uid: string): Promise<void> {
  run.progress.pods[i].status = 'draining';
  showRoll(run);
  run.undo.drainedPods.push(pod.name);
  const bound = drainBoundMs(run.plan);
  const drained = await step(run, `DrainPod--${pod.name}`, () =>
    callActivity(
      podWaitOptions,
      `drain pod ${pod.name}: out of the Service, sessions get up to ${Math.round(bound / 1000)} s`,
      'drainPod',
      drainTarget(run, pod.name, uid),
    ),
  );
  await run.status(
    conditionUpdate(`DrainPod--${pod.name}`, true, 'DrainPod', describeDrain(drained)),
    `record ${pod.name} drained`,
  );
  run.progress.pods[i].status = 'restarting'; // drained: the eviction comes next
  showRoll(run);
}

/** Step 8: only the new CA in ca.crt, revoke what was replaced, drop removed keys, clean up, resume. */
async function finish(run: Rollout): Promise<ReconfigureTLSResult> {
  const { plan, request, undo, minted } = run;
  const { namespace, name: pgbouncer } = plan.pgbouncer;
  run.stage('Finalize');
  if (plan.caBundleDuringRoll === 'old+new') {
    await step(run, 'FinalizeCABundle', () =>
      callActivity(forwardOptions, 'keep only the new CA in ca.crt', 'finalizeCaBundle', plan, minted),
    );
  }
  if (run.bounded) {
    // The point of no return: every pod serves the new certificate; from here on the old ones
    // are revoked and the snapshot deleted, so the change is completed, never rolled back.
    undo.committed = true;
    return CancellationScope.nonCancellable(() => completeCommitted(run, resultOf(run)));
  }
  if (plan.revoke.length) {
    await step(run, 'RevokeCertificates', () =>
      callActivity(forwardOptions, 'record revoked serials in the CRL', 'recordRevocations', plan),
    );
  }
  const leftovers = [...plan.deleteSecrets, ...undo.staging, undo.snapshot];
  await step(run, 'Cleanup', () =>
    callActivity(forwardOptions, 'delete staging, snapshot and removed Secrets', 'deleteSecrets', namespace, leftovers),
  );
  await step(run, 'UpdateDatabase', () =>
    callActivity(forwardOptions, `resume PgBouncer ${pgbouncer}`, 'resumePgBouncer', plan),
  );
  await callActivity(forwardOptions, 'release the PgBouncer', 'releaseTurn', request, pgbouncer);
  const summary = minted.length
    ? minted.map((m) => `${m.alias} serial ${m.serialHex}, valid until ${m.notAfter}`).join('; ')
    : `${plan.intent} done`;
  await run.status(
    {
      phase: 'Successful',
      ...conditionUpdate('Successful', true, 'Successful', `TLS reconfigured (${plan.intent}): ${summary}`),
    },
    'mark Successful',
  );
  run.stage('Successful');
  countOutcome('Successful');
  return resultOf(run);
}

function resultOf(run: Rollout): ReconfigureTLSResult {
  return {
    phase: 'Successful',
    intent: run.plan.intent,
    certificates: run.minted.map(({ alias, serialHex, fingerprintSha256, notAfter }) => ({
      alias,
      serialHex,
      fingerprintSha256,
      notAfter,
    })),
    restartedPods: run.restartedPods,
    ...(run.servedChecks.length ? { servedChecks: run.servedChecks } : {}),
  };
}

// reconfigureTLS alone: the real workflow code on a real Temporal dev server (started here from
// temporal-dev.yml by the stack's own launcher), with stub activities scripted per test. Each test
// runs a Worker on its own task queue, so every branch of the runbook is reached in about a second:
// step retries up to spec.maxRetries, non-retryable steps, spec.timeout, Skipped, invalid input,
// cancellation in every phase, and compensation steps that fail.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure, Client, Connection, WorkflowFailedError } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import { WorkflowCoverage } from '@temporalio/nyc-test-coverage';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import type { Plan } from '../../lib/planner/types.js';
import { reconfigureTLSStartOptions } from '../../client/start.js';
import { freePort } from '../../stack/ports.js';
import { startTemporalDevServer, type RunningTemporal } from '../../stack/temporal-dev-server.js';
import { loadTools, repoRoot } from '../../stack/tools.js';
import { WORKFLOWS_PATH } from '../../worker/worker.js';
import { reconfigureTLS, type ReconfigureTLSResult } from '../../workflows/reconfigure-tls.js';
import { planOf, ref, withTls } from '../unit/planner/live-state-builder.js';
import {
  cancelsTheRun,
  cancelsTheRunWhileShielded,
  failing,
  happyPath,
  restartedUid,
  stubActivities,
  transient,
  untilCancelled,
  type ActivityName,
  type Overrides,
} from './stubs.js';

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

// Workflow code runs in the SDK's sandbox from a webpack bundle, where jest's own instrumentation
// never reaches. `npm run test:coverage:workflows` sets PGBTLS_WORKFLOW_COVERAGE: the bundle is then
// instrumented (nyc-test-coverage) and what the sandbox counted is merged into jest's coverage.
if (process.env.PGBTLS_WORKFLOW_COVERAGE) (globalThis as { __coverage__?: object }).__coverage__ ??= {};
const coverage = new WorkflowCoverage();
let server: RunningTemporal;
let bundle: WorkflowBundle;
let connection: NativeConnection;
let client: Client;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') }); // the stubs' scripted failures are not news
  const stateDir = join(repoRoot(), 'test-output', 'runbook');
  rmSync(stateDir, { recursive: true, force: true });
  const [grpc, ui, http, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // Side by side; the server is kept as soon as it runs, so afterAll stops it whatever fails next.
  const bundled = bundleWorkflowCode(
    coverage.augmentBundleOptions({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }),
  );
  bundled.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  server = await startTemporalDevServer({
    binary: loadTools().temporal,
    composeFile: join(repoRoot(), 'temporal-dev.yml'),
    stateDir,
    ports: { grpc, ui, http, metrics },
    inMemory: true,
  });
  bundle = await bundled;
  connection = await NativeConnection.connect({ address: server.address });
  client = new Client({
    connection: await Connection.connect({ address: server.address }),
    namespace: server.namespace,
  });
}, 120_000);

afterAll(async () => {
  try {
    await client?.connection.close();
    await connection?.close();
  } finally {
    await server?.process.stop(); // whatever failed before, no server is left behind
  }
  mergeWorkflowCoverage();
});

/**
 * What the sandbox counted, into jest's coverage: plain data (the merge leaves FileCoverage objects
 * of another copy of istanbul), and only workflows/ (the bundle also holds the lib/ files it imports).
 */
function mergeWorkflowCoverage(): void {
  coverage.mergeIntoGlobalCoverage();
  const global = globalThis as { __coverage__?: Record<string, { data?: object }> };
  if (!global.__coverage__) return;
  const workflows = join(repoRoot(), 'workflows') + '/';
  global.__coverage__ = Object.fromEntries(
    Object.entries(global.__coverage__)
      .filter(([file]) => file.startsWith(workflows))
      .map(([file, c]) => [file, c.data ?? c]),
  );
}

// ---- plans (from the real planner) ----

const addPlan = () => planOf({ tls: { issuerRef: ref('ca-one') } });
const rotateByReload = () => planOf({ tls: { rotateCertificates: true }, ...withTls() }, { hotReload: true });
const changeIssuer = () => planOf({ tls: { issuerRef: ref('ca-two') }, ...withTls() });
const removePlan = () => planOf({ tls: { remove: true }, ...withTls() });
const withLimits = (plan: Plan, stepTimeoutMs: number, maxRetries: number): Plan => ({
  ...plan,
  stepTimeoutMs,
  maxRetries,
});

// ---- running one request ----

let runs = 0;

async function runRequest(plan: Plan, overrides: Overrides = {}) {
  const n = ++runs;
  const taskQueue = `runbook-${n}`;
  const stubs = stubActivities(plan, overrides);
  const request: PgBouncerOpsRequest = {
    apiVersion: 'ops.kubedb.com/v1alpha1',
    kind: 'PgBouncerOpsRequest',
    metadata: { namespace: 'demo', name: `req-${n}`, uid: `uid-${n}` },
    spec: { type: 'ReconfigureTLS', databaseRef: { name: plan.pgbouncer.name } },
  };
  const worker = await Worker.create(
    coverage.augmentWorkerOptionsWithBundle({
      connection,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: bundle,
      activities: stubs.activities,
      // Heartbeats (and so cancellations) reach the stubs at once.
      defaultHeartbeatThrottleInterval: '20 ms',
      maxHeartbeatThrottleInterval: '50 ms',
    }),
  );
  const outcome = await worker.runUntil(async () => {
    const handle = await client.workflow.start(reconfigureTLS, reconfigureTLSStartOptions(request, taskQueue));
    try {
      const result: ReconfigureTLSResult = await handle.result();
      return { result, failure: undefined };
    } catch (failure) {
      return { result: undefined, failure };
    }
  });
  const last = stubs.statuses().at(-1);
  return { ...stubs, ...outcome, request, last };
}

/** The innermost cause of a run's failure: its type, or that it was cancelled. */
function endedWith(failure: unknown): string {
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const cause = (failure as WorkflowFailedError).cause;
  if (cause instanceof CancelledFailure) return 'Cancelled';
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return (cause as ApplicationFailure).type ?? '';
}

const retries = (run: Awaited<ReturnType<typeof runRequest>>) =>
  run.statuses().filter((s) => s.condition?.reason === 'Retrying');

/** What every failed run must leave: the request Failed, the pooler resumed if paused, the turn released. */
function expectCleanFailure(run: Awaited<ReturnType<typeof runRequest>>, { paused }: { paused: boolean }) {
  expect(run.last?.phase).toBe('Failed');
  expect(run.callsOf('resumePgBouncer').length).toBe(paused ? 1 : 0);
  // The turn is released once, after the resume; only status writes (the Failed phase and what is
  // left undone) follow it.
  const names = run.names();
  expect(names.filter((n) => n === 'releaseTurn')).toHaveLength(1);
  expect(names.indexOf('releaseTurn')).toBeGreaterThan(names.lastIndexOf('resumePgBouncer'));
  expect(new Set(names.slice(names.indexOf('releaseTurn') + 1))).toEqual(new Set(['updateRequestStatus']));
  // The way back removes whatever staging and snapshot Secrets the run made.
  const deleted = run.callsOf('deleteSecrets').flatMap((c) => c.args[1] as string[]);
  for (const c of run.callsOf('mintCertificate')) {
    expect(deleted).toContain((c.args[2] as Plan['certificates'][number]).stagingSecretName);
  }
}

// ---- the happy paths ----

describe('a request that succeeds', () => {
  test('add TLS: pause, snapshot, mint, swap, drain, restart and verify each pod (highest ordinal first), finish', async () => {
    const plan = addPlan();
    const run = await runRequest(plan);
    expect(run.failure).toBeUndefined();
    expect(run.result).toMatchObject({ phase: 'Successful', intent: 'add' });
    expect(run.result?.certificates.map((c) => c.alias)).toEqual(['server', 'client']);
    expect(run.result?.restartedPods.map((p) => p.pod)).toEqual(['pb-2', 'pb-1', 'pb-0']);
    expect(run.result?.servedChecks?.map((c) => `${c.pod}:${c.method}`)).toEqual([
      'pb-2:restart',
      'pb-1:restart',
      'pb-0:restart',
    ]);
    expect(run.names().filter((n) => n !== 'updateRequestStatus')).toEqual([
      'planReconfiguration',
      'claimTurn',
      'planReconfiguration',
      'pausePgBouncer',
      'snapshotConfiguration',
      'mintCertificate',
      'mintCertificate',
      'applyNewConfiguration',
      'listPodUids',
      'checkReplicas',
      ...['pb-2', 'pb-1', 'pb-0'].flatMap(() => ['drainPod', 'evictPodAndWaitReady', 'verifyServedCertificate']),
      'checkReplicas',
      'deleteSecrets',
      'resumePgBouncer',
      'releaseTurn',
    ]);
    expect(
      run
        .statuses()
        .map((s) => s.phase)
        .filter(Boolean),
    ).toEqual(['Pending', 'Progressing', 'Successful']);
    // Each drain is for the incarnation about to be evicted, bounded by the plan, shown as a condition.
    expect(run.callsOf('drainPod').map((c) => c.args[0])).toEqual(
      ['pb-2', 'pb-1', 'pb-0'].map((pod) =>
        expect.objectContaining({ pod, uid: plan.pods.find((p) => p.name === pod)!.uid, boundMs: 30_000 }),
      ),
    );
    expect(run.statuses().find((s) => s.condition?.type === 'DrainPod--pb-2')?.condition?.message).toBe(
      'pod pb-2 out of the Service; 2 client(s) at the start, 0 arrived late, 0 still open after 0.0 s',
    );
    // Staging and snapshot Secrets go once the change is done.
    expect(run.callsOf('deleteSecrets')[0].args[1]).toEqual(
      expect.arrayContaining([...plan.certificates.map((c) => c.stagingSecretName), 'pb-tls-snapshot-uid-1']),
    );
  });

  test('rotation under the same CA reloads every pod (no restart) and revokes the replaced serials', async () => {
    const run = await runRequest(rotateByReload());
    expect(run.result?.phase).toBe('Successful');
    expect(run.callsOf('reloadPodAndWaitServing').map((c) => (c.args[0] as { pod: string }).pod)).toEqual([
      'pb-2',
      'pb-1',
      'pb-0',
    ]);
    expect(run.callsOf('evictPodAndWaitReady')).toHaveLength(0);
    expect(run.callsOf('recordRevocations')).toHaveLength(1);
    expect(run.statuses().find((s) => s.condition?.type === 'RestartPods')?.condition?.message).toBe(
      'restarted 0 pod(s), reloaded 3',
    );
  });

  test('an issuer change keeps both CAs during the roll, then only the new one', async () => {
    const run = await runRequest(changeIssuer());
    expect(run.result?.phase).toBe('Successful');
    const names = run.names();
    expect(names.indexOf('finalizeCaBundle')).toBeGreaterThan(names.lastIndexOf('verifyServedCertificate'));
  });

  test('removal mints nothing and deletes the certificate Secrets', async () => {
    const plan = removePlan();
    const run = await runRequest(plan, { applyNewConfiguration: async () => [] });
    expect(run.result).toMatchObject({ phase: 'Successful', intent: 'remove', certificates: [] });
    expect(run.callsOf('mintCertificate')).toHaveLength(0);
    expect(run.callsOf('deleteSecrets')[0].args[1]).toEqual(expect.arrayContaining(plan.deleteSecrets));
    expect(run.last?.condition?.message).toBe('TLS reconfigured (remove): remove done');
    expect(run.statuses().find((s) => s.condition?.type === 'CertificateSynced')?.condition?.message).toBe(
      'updated nothing',
    );
  });

  test('a pod scaled away meanwhile is skipped; each warning of the plan becomes an Event', async () => {
    const plan = { ...addPlan(), warnings: ['first warning', 'second warning'] };
    const run = await runRequest(plan, {
      listPodUids: async () => ({ 'pb-2': plan.pods[0].uid, 'pb-0': plan.pods[2].uid }),
    });
    expect(run.result?.restartedPods.map((p) => p.pod)).toEqual(['pb-2', 'pb-0']);
    expect(
      run
        .statuses()
        .filter((s) => s.event?.reason === 'Warning')
        .map((s) => s.event?.message),
    ).toEqual(['first warning', 'second warning']);
  });

  test('a request waits while another holds the PgBouncer, then runs', async () => {
    let asked = 0;
    const run = await runRequest(addPlan(), {
      claimTurn: async () => (asked++ === 0 ? { outcome: 'wait', blockedBy: 'older' } : { outcome: 'acquired' }),
    });
    expect(run.result?.phase).toBe('Successful');
    expect(run.callsOf('claimTurn')).toHaveLength(2);
  }, 30_000);
});

describe('fewer steps per request (patch fleet-budget)', () => {
  const plannedAt = (resourceVersion: string) => (plan: Plan) => async () => ({
    result: { ok: true as const, plan },
    pgbouncer: plan.pgbouncer.name,
    pgbouncerResourceVersion: resourceVersion,
  });

  test('a turn taken at once keeps the plan when the PgBouncer is as the plan saw it', async () => {
    const plan = addPlan();
    const run = await runRequest(plan, {
      planReconfiguration: plannedAt('41')(plan),
      claimTurn: async (_ref, planned) => ({ outcome: 'acquired', unchanged: planned?.resourceVersion === '41' }),
    });
    expect(run.result?.phase).toBe('Successful');
    expect(run.callsOf('claimTurn')[0].args[1]).toEqual({ pgbouncer: 'pb', resourceVersion: '41' });
    expect(run.callsOf('planReconfiguration')).toHaveLength(1);
    // The swap's two conditions (and Events) in one write.
    const swap = run.statuses().find((s) => s.condition?.type === 'CertificateSynced');
    expect(swap?.also?.map((a) => [a.condition?.type, a.event?.reason])).toEqual([['UpdatePetSets', 'UpdatePetSets']]);
    expect(run.statuses().filter((s) => s.condition?.type === 'UpdatePetSets')).toHaveLength(0);
  });

  test('a PgBouncer changed since the plan, or a turn that had to wait, plans again', async () => {
    const plan = addPlan();
    const changed = await runRequest(plan, {
      planReconfiguration: plannedAt('41')(plan),
      claimTurn: async () => ({ outcome: 'acquired', unchanged: false }),
    });
    expect(changed.result?.phase).toBe('Successful');
    expect(changed.callsOf('planReconfiguration')).toHaveLength(2);

    let asked = 0;
    const waited = await runRequest(plan, {
      planReconfiguration: plannedAt('41')(plan),
      // Only the first poll asks about the plan; a later one cannot vouch for it.
      claimTurn: async (_ref, planned) =>
        asked++ === 0 ? { outcome: 'wait', blockedBy: 'older' } : { outcome: 'acquired', unchanged: Boolean(planned) },
    });
    expect(waited.result?.phase).toBe('Successful');
    expect(waited.callsOf('claimTurn').map((c) => c.args[1])).toEqual([
      { pgbouncer: 'pb', resourceVersion: '41' },
      undefined,
    ]);
    expect(waited.callsOf('planReconfiguration')).toHaveLength(2);
  }, 30_000);
});

// ---- before the turn: nothing changes ----

describe('before anything changes', () => {
  const invalid = { ok: false as const, errors: [{ field: 'spec.tls', message: 'spec.tls: is required' }] };

  test('an invalid request is marked Failed with the field, and nothing else happens', async () => {
    const run = await runRequest(addPlan(), { planReconfiguration: async () => ({ result: invalid }) });
    expect(endedWith(run.failure)).toBe('InvalidInput');
    expect(run.names()).toEqual(['planReconfiguration', 'updateRequestStatus']);
    expect(run.last).toMatchObject({ phase: 'Failed', condition: { reason: 'ValidationFailed' } });
    expect(run.last?.condition?.message).toBe('spec.tls: is required');
  });

  test('a request that became invalid while it waited releases its turn, then fails', async () => {
    const plan = addPlan();
    let planned = 0;
    const run = await runRequest(plan, {
      planReconfiguration: async () =>
        // The second plan finds the PgBouncer gone: no name to release by, and it is released anyway.
        planned++ === 0 ? { result: { ok: true, plan }, pgbouncer: 'pb' } : { result: invalid },
    });
    expect(endedWith(run.failure)).toBe('InvalidInput');
    expect(run.callsOf('releaseTurn')[0].args[1]).toBe('');
    expect(run.names().filter((n) => n !== 'updateRequestStatus')).toEqual([
      'planReconfiguration',
      'claimTurn',
      'planReconfiguration',
      'releaseTurn',
    ]);
  });

  test('an older request of the same type is Skipped', async () => {
    const run = await runRequest(addPlan(), {
      claimTurn: async () => ({ outcome: 'skipped', supersededBy: 'newer' }),
    });
    expect(run.result).toEqual({ phase: 'Skipped', certificates: [], restartedPods: [] });
    expect(run.last).toMatchObject({ phase: 'Skipped', condition: { type: 'Skipped' } });
    expect(run.callsOf('pausePgBouncer')).toHaveLength(0);
  });

  test('a failure while waiting for the turn marks the request Failed: nothing was changed', async () => {
    const run = await runRequest(addPlan(), {
      claimTurn: async () => {
        throw ApplicationFailure.nonRetryable('the Lease API refused', 'KubernetesRejected');
      },
    });
    expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
    expect(run.last?.phase).toBe('Failed');
    expect(run.last?.condition?.message).toBe('the Lease API refused; nothing was changed');
    expect(run.callsOf('pausePgBouncer')).toHaveLength(0);
  });
});

// ---- steps: retries, non-retryable failures, spec.timeout ----

describe('a failing step', () => {
  // forwardOptions: an activity is attempted 6 times before the step attempt fails.
  const ACTIVITY_ATTEMPTS = 6;

  // [spec.maxRetries, step attempts that fail, outcome, activity calls, Retrying events]
  test.each([
    [1, 1, 'Successful', ACTIVITY_ATTEMPTS + 1, 1],
    [2, 2, 'Successful', 2 * ACTIVITY_ATTEMPTS + 1, 2],
    [0, 1, 'Failed', ACTIVITY_ATTEMPTS, 0],
    [1, 2, 'Failed', 2 * ACTIVITY_ATTEMPTS, 1],
  ])('maxRetries %p, %p failed step attempt(s): %s', async (maxRetries, failedAttempts, outcome, calls, retried) => {
    const run = await runRequest(withLimits(addPlan(), 0, maxRetries), {
      pausePgBouncer: failing(
        failedAttempts * ACTIVITY_ATTEMPTS,
        () => transient('API server busy'),
        async () => {},
      ),
    });
    expect(run.callsOf('pausePgBouncer')).toHaveLength(calls);
    expect(retries(run)).toHaveLength(retried);
    if (outcome === 'Successful') {
      expect(run.result?.phase).toBe('Successful');
    } else {
      expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
      expect(run.last?.condition?.message).toMatch(/^DatabasePauseSucceeded failed: API server busy; rolled back/);
      expectCleanFailure(run, { paused: false });
    }
  });

  test.each([
    ['flagged non-retryable', () => ApplicationFailure.nonRetryable('bad key spec', 'InvalidInput')],
    ['of a non-retryable type', () => ApplicationFailure.create({ message: 'CA Secret gone', type: 'ObjectGone' })],
  ])('a failure %s is not retried, whatever maxRetries says', async (_, failure) => {
    const run = await runRequest(withLimits(addPlan(), 0, 3), {
      mintCertificate: async () => {
        throw failure();
      },
    });
    expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
    expect(run.callsOf('mintCertificate')).toHaveLength(1);
    expect(retries(run)).toHaveLength(0);
    expect(run.callsOf('restoreConfiguration')).toHaveLength(0); // nothing was swapped yet
    expectCleanFailure(run, { paused: true });
  });

  test('a step past spec.timeout is retried (the Event names spec.timeout), and succeeds', async () => {
    let attempt = 0;
    const run = await runRequest(withLimits(addPlan(), 1_000, 1), {
      evictPodAndWaitReady: async ({ pod, uid }) => {
        if (pod === 'pb-2' && attempt++ === 0) return untilCancelled();
        return { pod, oldUid: uid, newUid: restartedUid(pod), evicted: true, readyAfterMs: 1 };
      },
    });
    expect(run.result?.phase).toBe('Successful');
    expect(retries(run).map((s) => s.event?.message)).toEqual([
      'attempt 1 failed: CheckPodReady--pb-2 did not finish within spec.timeout (1000 ms); retrying',
    ]);
  });

  test('a step past spec.timeout with no retries left fails the request, and restarted pods roll back', async () => {
    const run = await runRequest(withLimits(addPlan(), 1_000, 0), {
      evictPodAndWaitReady: async (args) =>
        args.pod === 'pb-1' && args.uid !== restartedUid('pb-1')
          ? untilCancelled()
          : { pod: args.pod, oldUid: args.uid, newUid: restartedUid(args.pod), evicted: true, readyAfterMs: 1 },
    });
    expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
    expect(run.last?.condition?.message).toMatch(/CheckPodReady--pb-1 did not finish within spec\.timeout \(1000 ms\)/);
    expect(run.callsOf('restoreConfiguration')).toHaveLength(1);
    // pb-2 was restarted into the new configuration and restarts again; pb-1 never got past its
    // old incarnation (readPodUid still gives its old uid), so it is left alone.
    const rollbacks = run.callsOf('evictPodAndWaitReady').slice(2);
    expect(rollbacks.map((c) => c.args[0])).toEqual([{ namespace: 'demo', pod: 'pb-2', uid: restartedUid('pb-2') }]);
    expect(run.statuses().filter((s) => s.condition?.type.startsWith('CompensateVerifyPod--'))).toHaveLength(1);
    expectCleanFailure(run, { paused: true });
  });
});

// ---- cancellation in every phase ----

describe('cancellation', () => {
  test.each<[string, ActivityName, () => Plan, { paused: boolean; restored: boolean }]>([
    ['waiting for the turn', 'claimTurn', addPlan, { paused: false, restored: false }],
    ['pausing (prepare)', 'pausePgBouncer', addPlan, { paused: false, restored: false }],
    ['minting (prepare)', 'mintCertificate', addPlan, { paused: true, restored: false }],
    ['swapping', 'applyNewConfiguration', addPlan, { paused: true, restored: true }],
    ['restarting a pod (roll)', 'evictPodAndWaitReady', addPlan, { paused: true, restored: true }],
    ['reloading a pod (roll)', 'reloadPodAndWaitServing', rotateByReload, { paused: true, restored: true }],
  ])('while %s: the run compensates and ends Cancelled', async (_, where, plan, expected) => {
    const planned = plan();
    const run = await runRequest(planned, { [where]: cancelsTheRun(() => client, happyPath(planned)[where]) });
    expect(endedWith(run.failure)).toBe('Cancelled');
    expect(run.last?.phase).toBe('Failed');
    expect(run.last?.condition?.message).toMatch(/cancelled/);
    if (where === 'claimTurn') {
      expect(run.last?.condition?.message).toBe('the request was cancelled before it started; nothing was changed');
      return;
    }
    expect(run.callsOf('restoreConfiguration')).toHaveLength(expected.restored ? 1 : 0);
    expectCleanFailure(run, expected);
  });
});

test('a cancellation while cleaning up (past the point of no return) completes the change', async () => {
  const planned = addPlan();
  const run = await runRequest(planned, {
    deleteSecrets: cancelsTheRunWhileShielded(() => client, happyPath(planned).deleteSecrets),
  });
  // Every pod already serves the new certificate: undoing now would roll back a finished change.
  expect(run.failure).toBeUndefined();
  expect(run.last?.phase).toBe('Successful');
  expect(run.callsOf('restoreConfiguration')).toHaveLength(0);
  expect(run.callsOf('resumePgBouncer')).toHaveLength(1);
  expect(run.names().slice(-2)).toEqual(['releaseTurn', 'updateRequestStatus']);
});

// ---- compensation steps that fail ----

describe('a compensation step that fails', () => {
  const failAtThirdPod: Overrides = {
    evictPodAndWaitReady: async (args) => {
      if (args.pod === 'pb-0' && args.uid !== restartedUid('pb-0')) {
        throw ApplicationFailure.nonRetryable('pod pb-0 failed', 'PodFailed');
      }
      return { pod: args.pod, oldUid: args.uid, newUid: restartedUid(args.pod), evicted: true, readyAfterMs: 1 };
    },
  };

  test('is retried until it succeeds, and the way back goes on', async () => {
    const run = await runRequest(addPlan(), {
      ...failAtThirdPod,
      restoreConfiguration: failing(
        3,
        () => transient('conflict'),
        async () => 'restored' as const,
      ),
    });
    expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
    expect(run.callsOf('restoreConfiguration').map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    expectCleanFailure(run, { paused: true });
  });

  test('a rolled-back pod that does not serve the old configuration is reported, and the way back goes on', async () => {
    const run = await runRequest(addPlan(), {
      ...failAtThirdPod,
      verifyServedCertificate: async (target) => {
        if (!target.tls) throw ApplicationFailure.nonRetryable(`pod ${target.pod} still serves TLS`, 'Mismatch');
        return { pod: target.pod, address: '127.0.0.1', served: { tls: false }, probes: 1, reloads: 0, elapsedMs: 1 };
      },
    });
    expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
    // pb-0's restart failed, so it still runs the old configuration; pb-1 and pb-2 were rolled back
    // but do not prove it: both are named as left undone, and the way back still ends.
    const incomplete = run.statuses().find((s) => s.condition?.type === 'CompensationIncomplete');
    expect(incomplete?.condition?.message).toMatch(/verify pod pb-1 serves the restored configuration/);
    expect(incomplete?.condition?.message).toMatch(/verify pod pb-2 serves the restored configuration/);
    expect(incomplete?.condition?.message).not.toMatch(/pod pb-0/);
    expectCleanFailure(run, { paused: true });
  });

  // A compensation activity that fails for good (not retryable) is named as left undone, and the
  // way back goes on: the pooler is resumed, the turn released and the request marked Failed.
  test('a compensation step that fails for good still ends with the pooler resumed', async () => {
    const run = await runRequest(addPlan(), {
      ...failAtThirdPod,
      restoreConfiguration: async () => {
        throw ApplicationFailure.nonRetryable('snapshot Secret is gone', 'ObjectGone');
      },
    });
    expectCleanFailure(run, { paused: true });
    expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
    const incomplete = run.statuses().find((s) => s.condition?.type === 'CompensationIncomplete');
    expect(incomplete?.condition?.message).toMatch(/restore the snapshot/);
  });

  test('pods that never restarted are left alone (a drained one back in its Service); reloaded pods are reloaded back', async () => {
    const plan = rotateByReload();
    const reloadPlan = { ...plan, pods: [plan.pods[0], { ...plan.pods[1], method: 'restart' as const }] };
    const run = await runRequest(reloadPlan, {
      evictPodAndWaitReady: async () => {
        throw ApplicationFailure.nonRetryable('eviction refused', 'KubernetesRejected');
      },
    });
    expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
    expect(run.callsOf('evictPodAndWaitReady')).toHaveLength(1); // no rollback restart of pb-1
    // pb-1 was drained (out of its Service) before its eviction failed: it is put back, not restarted.
    expect(run.callsOf('drainPod').map((c) => (c.args[0] as { pod: string }).pod)).toEqual(['pb-1']);
    expect(run.callsOf('returnPodToService').map((c) => c.args[0])).toEqual([
      { namespace: 'demo', pod: 'pb-1', uid: plan.pods[1].uid },
    ]);
    const reloads = run.callsOf('reloadPodAndWaitServing').map((c) => c.args[0] as { pod: string; tls: boolean });
    expect(reloads).toEqual([
      expect.objectContaining({ pod: 'pb-2', tls: true }),
      expect.objectContaining({ pod: 'pb-2', tls: true }), // the rollback: plan.tlsBefore
    ]);
    expectCleanFailure(run, { paused: true });
  });

  test('a removal by reload rolls back by restart: with TLS off there is no admin console to reload through', async () => {
    const plan = planOf({ tls: { remove: true }, ...withTls() }, { hotReload: true });
    expect(plan.pods.map((p) => p.method)).toEqual(['reload', 'reload', 'reload']);
    const run = await runRequest(plan, {
      applyNewConfiguration: async () => [],
      reloadPodAndWaitServing: async (target) => {
        if (target.pod === 'pb-1')
          throw ApplicationFailure.nonRetryable('still offers TLS', 'ServedCertificateMismatch');
        return {
          pod: target.pod,
          address: '127.0.0.1:5432',
          served: { tls: false },
          probes: 1,
          reloads: 1,
          elapsedMs: 1,
        };
      },
    });
    expect(endedWith(run.failure)).toBe('ReconfigureTLSFailed');
    expect(run.callsOf('reloadPodAndWaitServing')).toHaveLength(2); // pb-2, pb-1; none in the rollback
    // Newest first: pb-1, then pb-2, each drained, restarted and proven to serve TLS again.
    const pods = (name: ActivityName) => run.callsOf(name).map((c) => (c.args[0] as { pod: string }).pod);
    expect(pods('drainPod')).toEqual(['pb-1', 'pb-2']);
    expect(pods('evictPodAndWaitReady')).toEqual(['pb-1', 'pb-2']);
    expect(run.callsOf('verifyServedCertificate').map((c) => c.args[0])).toEqual([
      expect.objectContaining({ pod: 'pb-1', tls: true }),
      expect.objectContaining({ pod: 'pb-2', tls: true }),
    ]);
    expectCleanFailure(run, { paused: true });
  });
});

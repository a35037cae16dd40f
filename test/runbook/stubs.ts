// Stub activities for the runbook tests: each returns what the real one would on a happy path, every
// call is recorded, and a test replaces any of them with a scripted fault. The workflow code and the
// Temporal server are real; only the activities (the I/O) are stood in for.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, type Client } from '@temporalio/client';
import type { Activities } from '../../activities/index.js';
import type { StatusUpdate } from '../../activities/kubernetes/ops-request.js';
import type { Plan } from '../../lib/planner/types.js';

/** The activities reconfigureTLS calls (the renewal workflow's own are not stood in for here). */
export type ActivityName = Exclude<keyof Activities, 'inspectRenewal' | 'createRenewalRequest' | 'recordRenewalEvent'>;
type Impl<K extends ActivityName> = Activities[K];
type AnyImpl = (...args: never[]) => Promise<unknown>;
export type Overrides = { [K in ActivityName]?: Impl<K> };

export interface Call {
  name: ActivityName;
  args: unknown[];
  attempt: number;
}

/** The pod's uid after a (stub) restart. */
export const restartedUid = (pod: string) => `${pod}-uid-new`;

/** What each activity returns when all goes well; `restarted` holds the pods evicted so far. */
export function happyPath(plan: Plan, restarted = new Set<string>()): { [K in ActivityName]: Impl<K> } {
  const serial = (alias: string) => `5E${alias.toUpperCase()}`;
  const serving = async (target: { pod: string; tls: boolean }) => ({
    pod: target.pod,
    address: '127.0.0.1',
    served: target.tls
      ? { tls: true as const, serialHex: serial('server'), fingerprintSha256: 'FP', notAfter: '2027-01-01T00:00:00Z' }
      : { tls: false as const },
    probes: 1,
    reloads: 0,
    elapsedMs: 3,
  });
  return {
    planReconfiguration: async () => ({ result: { ok: true, plan }, pgbouncer: plan.pgbouncer.name }),
    updateRequestStatus: async () => undefined,
    claimTurn: async () => ({ outcome: 'acquired' }),
    releaseTurn: async () => undefined,
    pausePgBouncer: async () => undefined,
    resumePgBouncer: async () => undefined,
    snapshotConfiguration: async (ref) => `${plan.pgbouncer.name}-tls-snapshot-${ref.uid}`,
    mintCertificate: async (_ref, _plan, c) => ({
      alias: c.alias,
      secretName: c.secretName,
      stagingSecretName: c.stagingSecretName,
      serialHex: serial(c.alias),
      fingerprintSha256: `FP-${c.alias}`,
      notAfter: '2027-01-01T00:00:00Z',
      caFingerprintSha256: 'CA-FP',
      reused: false,
    }),
    applyNewConfiguration: async () => ['Secret pb-server-cert'],
    restoreConfiguration: async () => 'restored' as const,
    finalizeCaBundle: async () => undefined,
    recordRevocations: async () => [],
    deleteSecrets: async (_namespace, names) => names,
    checkReplicas: async () => undefined,
    listPodUids: async (p) => Object.fromEntries(p.pods.map((pod) => [pod.name, pod.uid])),
    readPodUid: async (_namespace, pod) =>
      restarted.has(pod) ? restartedUid(pod) : (plan.pods.find((p) => p.name === pod)?.uid ?? null),
    evictPodAndWaitReady: async ({ pod, uid }) => ({
      pod,
      oldUid: uid,
      newUid: restartedUid(pod),
      evicted: true,
      readyAfterMs: 5,
    }),
    drainPod: async ({ pod }) => ({
      pod,
      method: 'admin-console' as const,
      lateConnections: 0,
      clientsAtStart: 2,
      clientsLeft: 0,
      elapsedMs: 5,
    }),
    returnPodToService: async () => true,
    verifyServedCertificate: serving,
    reloadPodAndWaitServing: async (target) => ({ ...(await serving(target)), reloads: 1 }),
  };
}

/** Happy-path activities for `plan`, with `overrides` in place of any of them; every call is recorded. */
export function stubActivities(plan: Plan, overrides: Overrides = {}) {
  const calls: Call[] = [];
  const restarted = new Set<string>();
  const impls: Record<string, (...args: unknown[]) => Promise<unknown>> = {
    ...(happyPath(plan, restarted) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>),
    ...(overrides as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>),
  };
  const activities = Object.fromEntries(
    Object.entries(impls).map(([name, impl]) => [
      name,
      async (...args: unknown[]) => {
        calls.push({ name: name as ActivityName, args, attempt: Context.current().info.attempt });
        const result = await impl(...args);
        // A pod evicted and Ready again runs a new incarnation (readPodUid tells compensation so).
        if (name === 'evictPodAndWaitReady') restarted.add((args[0] as { pod: string }).pod);
        return result;
      },
    ]),
  );
  const callsOf = (name: ActivityName) => calls.filter((c) => c.name === name);
  return {
    activities,
    calls,
    callsOf,
    names: () => calls.map((c) => c.name),
    /** Every status update the run wrote, in order. */
    statuses: () => callsOf('updateRequestStatus').map((c) => c.args[1] as StatusUpdate),
  };
}

/** A retryable failure the activity's own retry policy retries at once (nextRetryDelay), not after seconds. */
export const transient = (message: string) =>
  ApplicationFailure.create({ message, type: 'KubernetesTransient', nextRetryDelay: '10 ms' });

/** Fails the first `times` attempts with `failure()`, then does what `then` does. */
export function failing<F extends AnyImpl>(times: number, failure: () => Error, then: F): F {
  let failed = 0;
  const impl = async (...args: Parameters<F>) => {
    if (failed++ < times) throw failure();
    return then(...args);
  };
  return impl as F;
}

/** Runs until the workflow cancels it, heartbeating so the cancellation arrives. */
export async function untilCancelled(): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(20); // rejects with CancelledFailure once the cancellation arrives
  }
}

/**
 * The first call cancels the run that made it and stays until the cancellation reaches it; later
 * calls (compensation may call the same activity) do what `then` does.
 */
export function cancelsTheRun<F extends AnyImpl>(client: () => Client, then: F): F {
  let called = false;
  const impl = async (...args: Parameters<F>) => {
    if (called) return then(...args);
    called = true;
    const run = Context.current().info.workflowExecution;
    if (!run) throw new Error('cancelsTheRun: not called by a workflow');
    await client().workflow.getHandle(run.workflowId).cancel();
    return untilCancelled();
  };
  return impl as F;
}

/**
 * The first call cancels the run that made it while the activity runs in a non-cancellable scope:
 * it heartbeats for `graceMs` (long enough for the workflow to have taken the cancellation in), then
 * does what `then` does. Were the scope cancellable after all, the cancellation would reach the
 * activity and fail it, and the test sees a different run. (Waiting for a cancellation that cannot
 * come would last until the activity's start-to-close timeout.)
 */
export function cancelsTheRunWhileShielded<F extends AnyImpl>(client: () => Client, then: F, graceMs = 1_500): F {
  let called = false;
  const impl = async (...args: Parameters<F>) => {
    if (!called) {
      called = true;
      const ctx = Context.current();
      const run = ctx.info.workflowExecution;
      if (!run) throw new Error('cancelsTheRunWhileShielded: not called by a workflow');
      await client().workflow.getHandle(run.workflowId).cancel();
      for (const until = Date.now() + graceMs; Date.now() < until;) {
        ctx.heartbeat();
        await ctx.sleep(20); // rejects with CancelledFailure if the cancellation does reach us
      }
    }
    return then(...args);
  };
  return impl as F;
}

// What the phases of reconfigureTLS share: the request being worked on, its progress (the query
// and the UI's current details), its status writes, the one way to call an activity, and the
// state compensation reads to know what to undo. Deterministic, no I/O.
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  metricMeter,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities, PlannedRequest } from '../activities/index.js';
import type { MintedCertificate } from '../activities/certificates/mint.js';
import type { StatusUpdate } from '../activities/kubernetes/ops-request.js';
import type { ServingCheck } from '../activities/pgbouncer/served-certificate.js';
import type { OpsRequestRef, Plan } from '../lib/planner/types.js';
import { FAILURE_TYPES } from '../lib/failure-types.js';
import { describeFailure, isNonRetryable } from './failures.js';
import { forwardOptions } from './options.js';
import { progressQuery, SEARCH_ATTRIBUTES, type Progress } from './progress.js';

/**
 * Calls one activity with the summary the UI shows on its timeline. ActivityOptions.summary is a
 * stable option; a proxy per call carries it (proxies are cheap and issue no command).
 */
export function callActivity<K extends keyof Activities>(
  options: ActivityOptions,
  summary: string,
  name: K,
  ...args: Parameters<Activities[K]>
): Promise<Awaited<ReturnType<Activities[K]>>> {
  // The proxy types every key of Activities as callable-or-marker; every key here is a function.
  const activity = proxyActivities<Activities>({ ...options, summary })[name] as unknown as (
    ...args: Parameters<Activities[K]>
  ) => Promise<Awaited<ReturnType<Activities[K]>>>;
  return activity(...args);
}

/** A request being worked on, before and after it has a plan. */
export interface Run {
  request: OpsRequestRef;
  progress: Progress;
  /** Names the stage in the progress query, the `Stage` search attribute and the UI's details. */
  stage(name: string, details?: string): void;
  /** Writes the request's status (phase, a condition, an Event). */
  status(update: StatusUpdate, summary: string): Promise<void>;
}

export function startRun(request: OpsRequestRef): Run {
  const progress: Progress = { stage: 'Validating', pods: [], certificates: [], compensating: false };
  setHandler(progressQuery, () => progress);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.namespace, value: request.namespace },
    { key: SEARCH_ATTRIBUTES.opsType, value: 'ReconfigureTLS' },
  ]);
  return {
    request,
    progress,
    stage(name, details) {
      progress.stage = name;
      upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: name }]);
      setCurrentDetails(`**${name}**${details ? `\n\n${details}` : ''}`);
    },
    status: (update, summary) => callActivity(forwardOptions, summary, 'updateRequestStatus', request, update),
  };
}

/** What compensation must undo, filled in as the runbook does each thing (not simply reversed). */
export interface Undo {
  paused: boolean;
  snapshot: string;
  swapped: boolean;
  staging: string[];
  touchedPods: { pod: string; uidBefore: string }[];
  reloadedPods: string[];
  /** Pods are proven to serve what was meant (false only for runs from before those checks). */
  proveServing: boolean;
  /** Each restart is preceded by a drain (false for runs from before drains). */
  drain: boolean;
  /** Pods taken out of their Service by a drain: compensation puts back those never evicted. */
  drainedPods: string[];
  /**
   * Past the point of no return: the old certificates are being revoked or their snapshot
   * deleted, so a fault from here on completes the change instead of undoing it.
   */
  committed: boolean;
}

/** spec.timeout (0: none) and spec.maxRetries, as the plan carries them. */
export interface StepLimits {
  stepTimeoutMs: number;
  maxRetries: number;
  /** The total time compensation may retry (absent in runs from before the bound). */
  compensationBudgetMs?: number;
}

/**
 * The plan's step limits. Runs planned before the plan carried them (recorded histories) find them
 * beside the plan in the planReconfiguration result.
 */
export function stepLimitsOf(planned: PlannedRequest & Partial<StepLimits>, plan: Partial<StepLimits>): StepLimits {
  return {
    stepTimeoutMs: plan.stepTimeoutMs ?? planned.stepTimeoutMs ?? 0,
    maxRetries: plan.maxRetries ?? planned.maxRetries ?? 1,
    compensationBudgetMs: planned.compensationBudgetMs,
  };
}

/** A run with its plan: the state every phase after the turn reads and adds to. */
export interface Rollout extends Run {
  /** Compensation is bounded and reports what it leaves (false only for runs from before). */
  bounded: boolean;
  /** Status writes made together are one activity (patch fleet-budget; false for runs from before). */
  lean?: boolean;
  plan: Plan;
  limits: StepLimits;
  undo: Undo;
  minted: MintedCertificate[];
  restartedPods: { pod: string; oldUid: string; newUid: string }[];
  servedChecks: (ServingCheck & { method: 'restart' | 'reload' })[];
}

export function startRollout(run: Run, plan: Plan, limits: StepLimits, bounded: boolean): Rollout {
  run.progress.intent = plan.intent;
  run.progress.pods = plan.pods.map((p) => ({ name: p.name, method: p.method, status: 'pending' }));
  const undo: Undo = {
    paused: false,
    snapshot: '',
    swapped: false,
    staging: [],
    touchedPods: [],
    reloadedPods: [],
    proveServing: false,
    drain: false,
    drainedPods: [],
    committed: false,
  };
  return { ...run, bounded, plan, limits, undo, minted: [], restartedPods: [], servedChecks: [] };
}

/** A status update that sets one condition and records the matching Event. */
export function conditionUpdate(type: string, ok: boolean, reason: string, message: string): StatusUpdate {
  return {
    condition: { type, status: ok ? 'True' : 'False', reason, message },
    event: { type: ok ? 'Normal' : 'Warning', reason, message },
  };
}

/** Runs one step with spec.timeout as its deadline and spec.maxRetries more attempts on failure. */
export async function step<T>(run: Rollout, name: string, fn: () => Promise<T>): Promise<T> {
  const { stepTimeoutMs, maxRetries } = run.limits;
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
        throw ApplicationFailure.nonRetryable(`${name} failed: ${cause}`, FAILURE_TYPES.stepFailed);
      }
      await run.status(
        conditionUpdate(name, false, 'Retrying', `attempt ${attempt + 1} failed: ${cause}; retrying`),
        `retry ${name}`,
      );
    }
  }
}

/** "serves serial 1F… (verified in 120 ms, 2 probe(s))", or "offers no TLS …". */
export function describeServing(check: ServingCheck): string {
  const what = check.served.tls ? `serves serial ${check.served.serialHex}` : 'offers no TLS';
  const reloads = check.reloads ? `, ${check.reloads} RELOAD(s)` : '';
  return `${what} (verified in ${check.elapsedMs} ms, ${check.probes} probe(s)${reloads})`;
}

/** pgbtls_requests{outcome}: how requests end. Workflow metrics are not emitted during replay. */
export const countOutcome = (outcome: string) =>
  metricMeter.createCounter('pgbtls_requests', 'requests', 'Ops requests by outcome').add(1, { outcome });

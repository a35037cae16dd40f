// How activity errors reach the workflow: Kubernetes faults that may pass (409/429/5xx, network)
// stay retryable; bad input, refusals and vanished objects do not. Messages are redacted.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, TemporalFailure, type MetricHistogram } from '@temporalio/common';
import { CertificateInputError } from '../lib/certificates/index.js';
import { classifyKubeError } from '../lib/kube/kube.js';
import { FAILURE_TYPES } from '../lib/failure-types.js';
import { redact } from '../lib/log.js';

const KEEPALIVE_MS = 2_000;

export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(redact(message), FAILURE_TYPES.invalidInput);
}

export function objectGone(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(redact(message), FAILURE_TYPES.objectGone);
}

/**
 * Runs an activity body, records its duration (pgbtls_activity_duration, by activity type and
 * outcome), and converts whatever it throws into the failure the workflow should see.
 */
export async function asActivity<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  let outcome = 'ok';
  // A heartbeat while the attempt runs: with the heartbeat timeout in the activity options, a
  // worker killed mid-step is noticed in seconds instead of at the end of startToCloseTimeout.
  const ctx = Context.current();
  const alive = setInterval(() => ctx.heartbeat(), KEEPALIVE_MS);
  try {
    return await fn();
  } catch (err) {
    outcome = 'error';
    throw toFailure(what, err);
  } finally {
    clearInterval(alive);
    durations ??= ctx.metricMeter.createHistogram(
      'pgbtls_activity_duration',
      'int',
      'ms',
      'Duration of each activity attempt',
    );
    durations.record(Math.round(performance.now() - t0), { activity: ctx.info.activityType, outcome });
  }
}

let durations: MetricHistogram | undefined;

export function toFailure(what: string, err: unknown): unknown {
  // ApplicationFailure as thrown, and CancelledFailure so cancellation stays cancellation.
  if (err instanceof TemporalFailure) return err;
  if (err instanceof CertificateInputError) return invalidInput(`${what}: ${err.message}`);
  if (err instanceof Error && err.name === 'AbortError') return err;
  const info = classifyKubeError(err);
  const message = redact(`${what}: ${info.message}`);
  if (info.code === 404) return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.objectGone);
  if (info.retryable) return ApplicationFailure.retryable(message, FAILURE_TYPES.kubernetesTransient);
  if (info.code >= 400) return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.kubernetesRejected);
  return ApplicationFailure.retryable(message, err instanceof Error ? err.name : 'Error');
}

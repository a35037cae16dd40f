// How activity errors reach the workflow: Kubernetes faults that may pass (409/429/5xx, network)
// stay retryable; bad input, refusals and vanished objects do not. Messages are redacted.
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { CertificateInputError } from '../certificates/index.js';
import { classifyKubeError } from '../lib/kube.js';
import { redact } from '../lib/log.js';

export const NON_RETRYABLE_TYPES = ['InvalidInput', 'ObjectGone', 'KubernetesRejected', 'PodFailed'] as const;

export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(redact(message), 'InvalidInput');
}

export function objectGone(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(redact(message), 'ObjectGone');
}

/** Runs an activity body and converts whatever it throws into the failure the workflow should see. */
export async function asActivity<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(what, err);
  }
}

export function toFailure(what: string, err: unknown): unknown {
  // ApplicationFailure as thrown, and CancelledFailure so cancellation stays cancellation.
  if (err instanceof TemporalFailure) return err;
  if (err instanceof CertificateInputError) return invalidInput(`${what}: ${err.message}`);
  if (err instanceof Error && err.name === 'AbortError') return err;
  const info = classifyKubeError(err);
  const message = redact(`${what}: ${info.message}`);
  if (info.code === 404) return ApplicationFailure.nonRetryable(message, 'ObjectGone');
  if (info.retryable) return ApplicationFailure.retryable(message, 'KubernetesTransient');
  if (info.code >= 400) return ApplicationFailure.nonRetryable(message, 'KubernetesRejected');
  return ApplicationFailure.retryable(message, err instanceof Error ? err.name : 'Error');
}

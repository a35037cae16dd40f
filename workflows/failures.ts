// Reading the failures activities report, inside the workflow (pure).
import { ActivityFailure, ApplicationFailure, TemporalFailure } from '@temporalio/workflow';
import { NON_RETRYABLE_TYPES } from '../lib/failure-types.js';

/** The innermost message: "restart pod pb-2: pod never became Ready", not the wrapper's text. */
export function describeFailure(err: unknown): string {
  let e: unknown = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  if (e instanceof TemporalFailure || e instanceof Error) return e.message;
  return String(e);
}

/** True when retrying the step cannot help: bad input, an object gone, a refusal. */
export function isNonRetryable(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && (cause.nonRetryable || NON_RETRYABLE_TYPES.includes(cause.type ?? ''));
}

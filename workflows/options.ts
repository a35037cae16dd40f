// Activity options, one set per kind of call. Forward steps retry transient faults a bounded
// number of times, so a step fails in time for compensation; compensation retries until done.
import type { ActivityOptions } from '@temporalio/workflow';
import { ActivityCancellationType } from '@temporalio/workflow';
import { NON_RETRYABLE_TYPES } from '../lib/failure-types.js';

export const forwardOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  // Every activity heartbeats while it runs (asActivity): a dead worker is noticed in seconds.
  heartbeatTimeout: '15s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '15s',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
  },
  // The workflow undoes a step only after the step confirmed it stopped.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

/** Pod restarts wait for readiness: heartbeats detect a dead worker in seconds, not minutes. */
export const podWaitOptions: ActivityOptions = {
  ...forwardOptions,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10s',
  retry: { ...forwardOptions.retry, maximumAttempts: 3 },
};

/**
 * Compensation retries transient faults, but within a total bound: a step that cannot complete
 * is reported as left undone, and the way back goes on to resume, release and the Failed status.
 * The bounded compensation narrows scheduleToCloseTimeout to what is left of its budget.
 */
export const compensationOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15s',
  scheduleToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
};

export const compensationPodOptions: ActivityOptions = {
  ...compensationOptions,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10s',
};

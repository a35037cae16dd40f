// Activity options, one set per kind of call. Forward steps retry transient faults a bounded
// number of times, so a step fails in time for compensation; compensation retries until done.
import type { ActivityOptions } from '@temporalio/workflow';
import { ActivityCancellationType } from '@temporalio/workflow';
import { NON_RETRYABLE_TYPES } from '../lib/failure-types.js';

export const forwardOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
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

export const compensationOptions: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' }, // unlimited attempts
};

export const compensationPodOptions: ActivityOptions = {
  ...compensationOptions,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10s',
};

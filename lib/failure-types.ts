// Every failure type the system raises, named once: activities throw them, the workflow and its
// activity options read them, and tests match on them. Plain strings, so the workflow sandbox may
// import this file.
export const FAILURE_TYPES = {
  /** The request, or an object it names, is wrong: retrying cannot help. */
  invalidInput: 'InvalidInput',
  /** An object the step works on no longer exists. */
  objectGone: 'ObjectGone',
  /** The API server refused the call (4xx other than 404/409/429). */
  kubernetesRejected: 'KubernetesRejected',
  /** 409, 429, 5xx or no answer: worth retrying. */
  kubernetesTransient: 'KubernetesTransient',
  /** A pod failed for good while the step waited for it. */
  podFailed: 'PodFailed',
  /** A pod kept serving something other than the intended certificate until the deadline. */
  servedCertificateMismatch: 'ServedCertificateMismatch',
  /** A workflow step that failed after its retries (spec.maxRetries) or its deadline (spec.timeout). */
  stepFailed: 'StepFailed',
  /** The run failed (and was rolled back, or nothing had changed yet). */
  reconfigureTLSFailed: 'ReconfigureTLSFailed',
} as const;

/** Types no retry can fix, whether or not the failure itself says so. */
export const NON_RETRYABLE_TYPES: readonly string[] = [
  FAILURE_TYPES.invalidInput,
  FAILURE_TYPES.objectGone,
  FAILURE_TYPES.kubernetesRejected,
  FAILURE_TYPES.podFailed,
];

// Names shared by the renewal workflow, its activities, the controller that wakes it and the CLI.

/** One renewal workflow per PgBouncer object (a re-created PgBouncer has a new uid, so a new renewal). */
export const renewalWorkflowIdFor = (pb: { namespace: string; name: string; uid: string }) =>
  `pgbouncer-renewal/${pb.namespace}/${pb.name}/${pb.uid}`;

export const RENEWAL_WORKFLOW_TYPE = 'certificateRenewal';
/** The OpsType search attribute of renewal runs (the UI filters `OpsType = "CertificateRenewal"`). */
export const RENEWAL_OPS_TYPE = 'CertificateRenewal';

/** On a renewal request: the PgBouncer it renews (label, for `kubectl get pbops -l`). */
export const RENEWAL_OF_LABEL = 'pgbtls.dev/renewal-of';
/** On a renewal request: the expiry it renews, as yyyymmdd-hhmmss (label). */
export const RENEWAL_EXPIRY_LABEL = 'pgbtls.dev/renewal-expiry';
/** On a renewal request: the renewal workflow that created it (annotation). */
export const RENEWAL_WORKFLOW_ANNOTATION = 'pgbtls.dev/renewal-workflow';
/** On a renewal request: why it was created and when (annotation). */
export const RENEWAL_REASON_ANNOTATION = 'pgbtls.dev/renewal-reason';

/** On a PgBouncer: when renewals may start (format in lib/renewal/window.ts and the README). */
export const MAINTENANCE_WINDOW_ANNOTATION = 'pgbtls.dev/maintenance-window';
/** On a PgBouncer: how close to expiry the window stops holding a renewal back (a duration; default 10% of the lifetime). */
export const SAFETY_MARGIN_ANNOTATION = 'pgbtls.dev/maintenance-window-safety-margin';

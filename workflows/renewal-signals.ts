// What the renewal workflow tells and takes from the outside: the signal that makes it look
// again (sent by the renewal controller), and the query the CLI and tests read. No I/O.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CertificateSchedule } from '../lib/renewal/policy.js';

/** "Look again now": TLS changed, a request on the pooler ended, or the controller caught up. */
export const rescheduleSignal = defineSignal<[reason: string]>('reschedule');

export interface RenewalStatus {
  /** waiting | renewing | blocked | stopped | error */
  state: string;
  /** When the next renewal request is created. */
  nextRenewal?: string;
  /** The expiry that decides, and its certificate. */
  notAfter?: string;
  alias?: string;
  certificates: CertificateSchedule[];
  reasons: string[];
  problems: string[];
  /** The renewal request running now. */
  request?: string;
  /** Renewal requests this run created. */
  created: string[];
}

export const renewalStatusQuery = defineQuery<RenewalStatus>('renewal');

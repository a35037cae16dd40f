// Unattended renewal of one PgBouncer's certificates (DESIGN §8), as a runbook:
//   look at the certificates → wait until the renewal time (or a signal) → create a
//   rotateCertificates ops request → wait for it → look again (the new notAfter) …
// The decision is the pure policy in lib/renewal, run inside the inspect activity, so a change of
// policy never changes what a recorded history replays. The request goes through the same queue,
// validation, served checks and rollback as a person's. One run covers one certificate
// generation: after a renewal, or once the history grows long, it continues as new.
import {
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RenewalInspection, RenewalTarget } from '../activities/kubernetes/renewal.js';
import { RENEWAL_OPS_TYPE } from '../lib/renewal/names.js';
import { SEARCH_ATTRIBUTES } from './progress.js';
import { renewalStatusQuery, rescheduleSignal, type RenewalStatus } from './renewal-signals.js';

/** Reads and writes of a few objects: retried with backoff, then the workflow retries itself later. */
const options: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 },
};
const act = proxyActivities<Activities>(options);

/** Even with nothing to do, look again daily: a missed signal or a changed CA is seen within a day. */
const RECHECK_MS = 24 * 3_600_000;
/** While a renewal request runs, look at it this often (the controller's signal usually comes first). */
const POLL_MS = 60_000;
/** After a failed inspection (API down, worker without rights), try again this much later. */
const ERROR_RETRY_MS = 5 * 60_000;
/** Continue as new before the history grows past this many events. */
const MAX_HISTORY = 2_000;

export interface CertificateRenewalInput {
  pgbouncer: RenewalTarget;
  /** A renewal request the previous run was waiting for. */
  waitingFor?: string;
}

export interface CertificateRenewalResult {
  stopped: string;
}

export async function certificateRenewal(input: CertificateRenewalInput): Promise<CertificateRenewalResult> {
  const { pgbouncer } = input;
  const who = `PgBouncer ${pgbouncer.namespace}/${pgbouncer.name}`;
  let signals = 0;
  let lastSignal = '';
  setHandler(rescheduleSignal, (reason) => {
    signals++;
    lastSignal = reason;
  });
  const status: RenewalStatus = { state: 'inspecting', certificates: [], reasons: [], problems: [], created: [] };
  setHandler(renewalStatusQuery, () => status);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.pgbouncer, value: pgbouncer.name },
    { key: SEARCH_ATTRIBUTES.namespace, value: pgbouncer.namespace },
    { key: SEARCH_ATTRIBUTES.opsType, value: RENEWAL_OPS_TYPE },
  ]);
  /** Sleeps until `ms` passed or a signal came after `seen` (counted before the last look). */
  const wake = (seen: number, ms: number) => condition(() => signals > seen, Math.max(1, ms));
  const show = (headline: string, lines: string[] = []) =>
    setCurrentDetails([`**${headline}**`, ...lines.map((l) => `- ${l}`)].join('\n'));
  let waitingFor = input.waitingFor;
  let caReported = '';

  for (;;) {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY) {
      await continueAsNew<typeof certificateRenewal>({ pgbouncer, waitingFor });
    }
    const seen = signals;
    let look: RenewalInspection;
    try {
      look = await act.inspectRenewal(pgbouncer, waitingFor);
    } catch (err) {
      status.state = 'error';
      show(`Cannot read the certificates of ${who}; trying again in 5 minutes`, [String((err as Error).message)]);
      await wake(seen, ERROR_RETRY_MS);
      continue;
    }
    status.problems = look.problems;

    // The request we waited for has ended (or vanished): say how, loudly when it failed.
    if (waitingFor && (!look.watched || ['Successful', 'Failed', 'Skipped'].includes(look.watched.phase))) {
      const ended = look.watched?.phase ?? 'Deleted';
      const urgency = look.plan?.urgency ? ` URGENT: ${look.plan.urgency}.` : '';
      await act.recordRenewalEvent(
        pgbouncer,
        ended === 'Successful'
          ? { type: 'Normal', reason: 'CertificatesRenewed', message: `renewal request ${waitingFor} succeeded` }
          : {
              type: 'Warning',
              reason: 'CertificateRenewalFailed',
              message: `renewal request ${waitingFor} ended ${ended}${look.watched?.message ? `: ${look.watched.message}` : ''}; a new try follows after a backoff.${urgency}`,
            },
        ended,
      );
      waitingFor = undefined;
      status.request = undefined;
      if (ended === 'Successful' && !look.stop) await continueAsNew<typeof certificateRenewal>({ pgbouncer });
    }
    if (look.stop) {
      status.state = 'stopped';
      show(`Stopped: ${look.stop}`);
      return { stopped: look.stop };
    }
    const plan = look.plan;
    if (!plan) {
      status.state = 'blocked';
      show(`Nothing can be renewed until this is fixed (looking again daily and on every change)`, look.problems);
      await wake(seen, RECHECK_MS);
      continue;
    }
    Object.assign(status, {
      nextRenewal: plan.at,
      notAfter: plan.notAfter,
      alias: plan.alias,
      certificates: plan.certificates,
      reasons: [...plan.reasons, ...(plan.blocked ? [plan.blocked] : [])],
    });
    const table = plan.certificates.map((c) => `\`${c.alias}\` expires ${c.notAfter}, renews at ${c.renewAt}`);
    const cas = plan.caWarnings.map((w) => `⚠ ${w}`);
    // Once per run (per certificate generation) and whenever it changes; the gauge says it always.
    if (plan.caWarnings.length && plan.caWarnings.join() !== caReported) {
      caReported = plan.caWarnings.join();
      await act.recordRenewalEvent(pgbouncer, {
        type: 'Warning',
        reason: 'CAExpiringSoon',
        message: plan.caWarnings.join('; '),
      });
    }

    if (plan.inProgress) {
      waitingFor = plan.inProgress;
      status.state = 'renewing';
      status.request = waitingFor;
      show(`Renewing: request ${waitingFor} runs`, [...table, ...cas]);
      await wake(seen, POLL_MS);
      continue;
    }
    if (plan.blocked || !plan.at) {
      status.state = 'blocked';
      show(`Blocked: ${plan.blocked}`, [...table, ...cas, ...look.problems]);
      await wake(seen, RECHECK_MS);
      continue;
    }
    const delay = Date.parse(plan.at) - Date.now();
    if (delay <= 0 && plan.busyWith) {
      // Due, but a person's request on this pooler goes first; its end wakes us.
      status.state = 'waiting';
      show(`Due, waiting for ${plan.busyWith.join(', ')} on this PgBouncer to end`, [
        ...plan.reasons,
        ...table,
        ...cas,
      ]);
      await wake(seen, POLL_MS);
      continue;
    }
    if (delay > 0) {
      status.state = 'waiting';
      show(`Next renewal ${plan.at} (try ${plan.attempt}, as ${plan.requestName})`, [
        ...plan.reasons,
        ...table,
        ...cas,
        ...look.problems,
        ...(lastSignal ? [`last woken by: ${lastSignal}`] : []),
      ]);
      await wake(seen, Math.min(delay, RECHECK_MS));
      continue;
    }

    // Due: create the request (idempotent by name) and say so on the PgBouncer.
    const created = await act.createRenewalRequest(pgbouncer, plan, info.workflowId);
    waitingFor = created.name;
    status.state = 'renewing';
    status.request = waitingFor;
    status.created.push(waitingFor);
    await act.recordRenewalEvent(pgbouncer, {
      type: plan.urgency || plan.attempt > 1 ? 'Warning' : 'Normal',
      reason: 'CertificateRenewalStarted',
      message: `created ${waitingFor} (try ${plan.attempt}) to renew the ${plan.alias} certificate expiring ${plan.notAfter}${plan.urgency ? `. URGENT: ${plan.urgency}` : ''}`,
    });
    show(`Renewing: created request ${waitingFor}`, [...plan.reasons, ...table]);
    await wake(signals, POLL_MS);
  }
}

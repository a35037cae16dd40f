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
import { FINISHED_PHASES } from '../lib/api/resources.js';
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

/** What the phases share: the pooler, the signals counted, what the UI and the query show. */
interface Renewal {
  pgbouncer: RenewalTarget;
  signals: number;
  lastSignal: string;
  status: RenewalStatus;
  /** The renewal request this run waits for. */
  waitingFor?: string;
  caReported: string;
}

export async function certificateRenewal(input: CertificateRenewalInput): Promise<CertificateRenewalResult> {
  const r = setUp(input);
  for (;;) {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY) {
      await continueAsNew<typeof certificateRenewal>({ pgbouncer: r.pgbouncer, waitingFor: r.waitingFor });
    }
    const seen = r.signals;
    const look = await lookAtCertificates(r, seen);
    if (!look) continue;
    await reportEndedRequest(r, look);
    if (look.stop) {
      r.status.state = 'stopped';
      show(`Stopped: ${look.stop}`);
      return { stopped: look.stop };
    }
    await actOnPlan(r, look, seen, info.workflowId);
  }
}

function setUp(input: CertificateRenewalInput): Renewal {
  const r: Renewal = {
    pgbouncer: input.pgbouncer,
    signals: 0,
    lastSignal: '',
    status: { state: 'inspecting', certificates: [], reasons: [], problems: [], created: [] },
    waitingFor: input.waitingFor,
    caReported: '',
  };
  setHandler(rescheduleSignal, (reason) => {
    r.signals++;
    r.lastSignal = reason;
  });
  setHandler(renewalStatusQuery, () => r.status);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.pgbouncer, value: r.pgbouncer.name },
    { key: SEARCH_ATTRIBUTES.namespace, value: r.pgbouncer.namespace },
    { key: SEARCH_ATTRIBUTES.opsType, value: RENEWAL_OPS_TYPE },
  ]);
  return r;
}

/** Sleeps until `ms` passed or a signal came after `seen` (counted before the last look). */
const wake = (r: Renewal, seen: number, ms: number) => condition(() => r.signals > seen, Math.max(1, ms));

const show = (headline: string, lines: string[] = []) =>
  setCurrentDetails([`**${headline}**`, ...lines.map((l) => `- ${l}`)].join('\n'));

/** The inspection, or undefined after a failed one (retried 5 minutes later). */
async function lookAtCertificates(r: Renewal, seen: number): Promise<RenewalInspection | undefined> {
  try {
    const look = await act.inspectRenewal(r.pgbouncer, r.waitingFor);
    r.status.problems = look.problems;
    return look;
  } catch (err) {
    r.status.state = 'error';
    show(
      `Cannot read the certificates of PgBouncer ${r.pgbouncer.namespace}/${r.pgbouncer.name}; trying again in 5 minutes`,
      [String((err as Error).message)],
    );
    await wake(r, seen, ERROR_RETRY_MS);
    return undefined;
  }
}

/** The request we waited for has ended (or vanished): say how, loudly when it failed. */
async function reportEndedRequest(r: Renewal, look: RenewalInspection): Promise<void> {
  const { pgbouncer, waitingFor } = r;
  if (!waitingFor || (look.watched && !FINISHED_PHASES.has(look.watched.phase))) return;
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
  r.waitingFor = undefined;
  r.status.request = undefined;
  // One run per certificate generation: the next one starts from the new notAfter.
  if (ended === 'Successful' && !look.stop) await continueAsNew<typeof certificateRenewal>({ pgbouncer });
}

/** Waits for what the plan says (a request, the renewal time, a fix), or creates the request. */
async function actOnPlan(r: Renewal, look: RenewalInspection, seen: number, workflowId: string): Promise<void> {
  const { pgbouncer, status } = r;
  const plan = look.plan;
  if (!plan) {
    status.state = 'blocked';
    show(`Nothing can be renewed until this is fixed (looking again daily and on every change)`, look.problems);
    await wake(r, seen, RECHECK_MS);
    return;
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
  if (plan.caWarnings.length && plan.caWarnings.join() !== r.caReported) {
    r.caReported = plan.caWarnings.join();
    await act.recordRenewalEvent(pgbouncer, {
      type: 'Warning',
      reason: 'CAExpiringSoon',
      message: plan.caWarnings.join('; '),
    });
  }
  const delay = plan.at ? Date.parse(plan.at) - Date.now() : 0;
  const wait = waitFor(r, look, table, cas, delay);
  if (wait) {
    status.state = wait.state;
    show(wait.headline, wait.lines);
    await wake(r, seen, wait.ms);
    return;
  }

  // Due: create the request (idempotent by name) and say so on the PgBouncer.
  const created = await act.createRenewalRequest(pgbouncer, plan, workflowId);
  r.waitingFor = created.name;
  status.state = 'renewing';
  status.request = created.name;
  status.created.push(created.name);
  await act.recordRenewalEvent(pgbouncer, {
    type: plan.urgency || plan.attempt > 1 ? 'Warning' : 'Normal',
    reason: 'CertificateRenewalStarted',
    message: `created ${created.name} (try ${plan.attempt}) to renew the ${plan.alias} certificate expiring ${plan.notAfter}${plan.urgency ? `. URGENT: ${plan.urgency}` : ''}`,
  });
  show(`Renewing: created request ${created.name}`, [...plan.reasons, ...table]);
  await wake(r, r.signals, POLL_MS);
}

/** Why not to create a request now, and for how long to wait; undefined: create it. */
function waitFor(
  r: Renewal,
  look: RenewalInspection,
  table: string[],
  cas: string[],
  delay: number,
): { state: string; headline: string; lines: string[]; ms: number } | undefined {
  const plan = look.plan!;
  if (plan.inProgress) {
    r.waitingFor = plan.inProgress;
    r.status.request = plan.inProgress;
    return {
      state: 'renewing',
      headline: `Renewing: request ${plan.inProgress} runs`,
      lines: [...table, ...cas],
      ms: POLL_MS,
    };
  }
  if (plan.blocked || !plan.at) {
    return {
      state: 'blocked',
      headline: `Blocked: ${plan.blocked}`,
      lines: [...table, ...cas, ...look.problems],
      ms: RECHECK_MS,
    };
  }
  if (delay <= 0 && plan.busyWith) {
    // Due, but a person's request on this pooler goes first; its end wakes us.
    return {
      state: 'waiting',
      headline: `Due, waiting for ${plan.busyWith.join(', ')} on this PgBouncer to end`,
      lines: [...plan.reasons, ...table, ...cas],
      ms: POLL_MS,
    };
  }
  if (delay > 0) {
    return {
      state: 'waiting',
      headline: `Next renewal ${plan.at} (try ${plan.attempt}, as ${plan.requestName})`,
      lines: [
        ...plan.reasons,
        ...table,
        ...cas,
        ...look.problems,
        ...(r.lastSignal ? [`last woken by: ${r.lastSignal}`] : []),
      ],
      ms: Math.min(delay, RECHECK_MS),
    };
  }
  return undefined;
}

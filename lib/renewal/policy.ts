// When a pooler's certificates are renewed, decided by pure functions over gathered facts (the
// shape of cert-manager's trigger policies): each certificate's renewal time, the earliest of
// them, the maintenance window, retries after failed tries, and the CA's own expiry.
import { FINISHED_PHASES } from '../api/resources.js';
import { nextWindowOpening, type MaintenanceWindow } from './window.js';

/** Facts about one certificate as its Secret holds it, plus its spec's renewBefore. */
export interface CertificateFacts {
  alias: string;
  secretName: string;
  serialHex: string;
  notBefore: string;
  notAfter: string;
  /** spec.tls.certificates[].renewBefore of the PgBouncer, parsed (ms); undefined: not set. */
  renewBeforeMs?: number;
  /** The CA that issues this certificate, when readable. */
  ca?: { issuer: string; notBefore: string; notAfter: string };
}

/** A renewal request that exists for the expiry being renewed. */
export interface RenewalAttempt {
  name: string;
  phase: string;
  /** When it ended (last condition change), for the backoff. */
  endedAt?: string;
}

export interface CertificateSchedule {
  alias: string;
  notAfter: string;
  renewBeforeMs: number;
  /** Where renewBeforeMs comes from, for people. */
  renewBeforeSource: string;
  /** notAfter − renewBefore: when this certificate alone would be renewed. */
  renewAt: string;
}

export interface RenewalPlan {
  certificates: CertificateSchedule[];
  /** The certificate that expires first renews first; it decides. */
  alias: string;
  notAfter: string;
  /** When the next renewal request is created; undefined: none can help now (see blocked). */
  at?: string;
  /** Why `at` is what it is, one sentence per cause. */
  reasons: string[];
  blocked?: string;
  /** The name of the next request: derived from the expiry and the attempt, so racers agree. */
  requestName: string;
  attempt: number;
  /** A request for this expiry still runs: wait for it instead of creating one. */
  inProgress?: string;
  /** Other requests on the pooler not yet ended: the renewal waits until they end. */
  busyWith?: string[];
  /** Less than 10% of the lifetime or less than 24 h left when the request starts. */
  urgency?: string;
  /** CAs within their own renewal margin (a third of their lifetime left). */
  caWarnings: string[];
}

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Retries after a failed try: 1 min, 2, 4, … capped at 6 h; a try never gives up for good. */
export const RETRY_BASE_MS = 60_000;
export const RETRY_CAP_MS = 6 * HOUR_MS;

export const retryBackoffMs = (failures: number) =>
  failures <= 0 ? 0 : Math.min(RETRY_BASE_MS * 2 ** (failures - 1), RETRY_CAP_MS);

/** Human durations for details and events: 59m50s, 30d 2h. */
export function humanDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const parts = d
    ? [`${d}d`, h ? `${h}h` : '']
    : h
      ? [`${h}h`, m ? `${m}m` : '']
      : [m ? `${m}m` : '', sec ? `${sec}s` : ''];
  return `${ms < 0 ? '-' : ''}${parts.filter(Boolean).join(' ') || '0s'}`;
}

/** renewBefore of one certificate: its spec's, else a third of its lifetime (cert-manager's default). */
export function scheduleCertificate(c: CertificateFacts): CertificateSchedule {
  const lifetime = Date.parse(c.notAfter) - Date.parse(c.notBefore);
  const field = `spec.tls.certificates[alias=${c.alias}].renewBefore`;
  let renewBeforeMs = Math.round(lifetime / 3);
  let renewBeforeSource = `default: a third of the ${humanDuration(lifetime)} lifetime`;
  if (c.renewBeforeMs !== undefined && c.renewBeforeMs > 0 && c.renewBeforeMs < lifetime) {
    renewBeforeMs = c.renewBeforeMs;
    renewBeforeSource = field;
  } else if (c.renewBeforeMs !== undefined) {
    renewBeforeSource = `${field} (${humanDuration(c.renewBeforeMs)}) is not shorter than the certificate's ${humanDuration(lifetime)} lifetime, so ${renewBeforeSource}`;
  }
  return {
    alias: c.alias,
    notAfter: c.notAfter,
    renewBeforeMs,
    renewBeforeSource,
    renewAt: new Date(Date.parse(c.notAfter) - renewBeforeMs).toISOString(),
  };
}

/** `<pb>-renew-<notAfter as yyyymmdd-hhmmss>-<attempt>`: one name per expiry and try. */
export function renewalRequestName(pgbouncer: string, notAfter: string, attempt: number): string {
  return `${pgbouncer}-renew-${expiryStamp(notAfter)}-${attempt}`;
}

/** The expiry as a label value: 20261202-130000. */
export function expiryStamp(notAfter: string): string {
  return new Date(notAfter)
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
}

/** Why a renewal starting at `at` is urgent, if it is: < 10% of the lifetime or < 24 h left. */
export function urgencyAt(at: number, notBefore: string, notAfter: string): string | undefined {
  const left = Date.parse(notAfter) - at;
  const lifetime = Date.parse(notAfter) - Date.parse(notBefore);
  const reasons = [left < lifetime / 10 ? 'less than 10% of its lifetime' : '', left < DAY_MS ? 'less than 24 h' : '']
    .filter(Boolean)
    .join(' and ');
  if (!reasons) return undefined;
  return left <= 0
    ? `the certificate EXPIRED ${humanDuration(-left)} ago`
    : `only ${humanDuration(left)} left until the certificate expires (${reasons})`;
}

export interface PlanInput {
  pgbouncer: string;
  now: number;
  certificates: CertificateFacts[];
  /** Requests that exist for the earliest expiry (any phase). */
  attempts: RenewalAttempt[];
  /** Other (non-renewal) requests on the pooler that have not ended. */
  busyWith?: string[];
  windows?: MaintenanceWindow[];
  /** Override of the window's safety margin (ms); default: 10% of the deciding certificate's lifetime. */
  safetyMarginMs?: number;
}

/** The next renewal of a pooler. `certificates` must not be empty. */
export function planRenewal(input: PlanInput): RenewalPlan {
  const schedules = input.certificates.map(scheduleCertificate);
  const first = [...schedules].sort((a, b) => Date.parse(a.renewAt) - Date.parse(b.renewAt))[0]!;
  const facts = input.certificates.find((c) => c.alias === first.alias)!;
  const notAfter = Date.parse(first.notAfter);
  const reasons = [
    `the ${first.alias} certificate expires ${first.notAfter} and renews ${humanDuration(first.renewBeforeMs)} before (${first.renewBeforeSource})`,
  ];
  const caWarnings = caMarginWarnings(input.certificates, input.now);

  const inProgress = input.attempts.find((a) => !FINISHED_PHASES.has(a.phase));
  const settled = input.attempts.filter((a) => FINISHED_PHASES.has(a.phase));
  const failures = settled.filter((a) => a.phase !== 'Skipped');
  const attempt = input.attempts.length + 1;
  const base = {
    certificates: schedules,
    alias: first.alias,
    notAfter: first.notAfter,
    requestName: renewalRequestName(input.pgbouncer, first.notAfter, attempt),
    attempt,
    caWarnings,
  };
  if (facts.ca && notAfter >= Date.parse(facts.ca.notAfter) - 1000) {
    // The leaf already ends with its CA: a new leaf would end there too.
    return {
      ...base,
      reasons,
      blocked: `the ${first.alias} certificate ends when its CA (${facts.ca.issuer}) expires, ${facts.ca.notAfter}; renewing it cannot extend it: renew the CA`,
    };
  }

  let at = Date.parse(first.renewAt);
  if (failures.length) {
    const lastEnd = Math.max(...failures.map((a) => Date.parse(a.endedAt ?? '') || input.now));
    const retryAt = lastEnd + retryBackoffMs(failures.length);
    if (retryAt > at) {
      at = retryAt;
      reasons.push(
        `${failures.length} earlier tr${failures.length === 1 ? 'y' : 'ies'} failed (last: ${failures.at(-1)!.name}); retrying after ${humanDuration(retryBackoffMs(failures.length))}`,
      );
    }
  }
  if (input.windows?.length) {
    const lifetime = notAfter - Date.parse(facts.notBefore);
    const margin = input.safetyMarginMs ?? Math.round(lifetime / 10);
    const latest = notAfter - margin; // from here on the window no longer holds a renewal back
    const opening = nextWindowOpening(Math.max(at, input.now), input.windows);
    if (opening > Math.max(at, input.now)) {
      if (Math.max(at, input.now) >= latest) {
        reasons.push(
          `the maintenance window is closed, but less than the safety margin (${humanDuration(margin)}) is left, so the renewal does not wait for it`,
        );
      } else if (opening > latest) {
        at = latest;
        reasons.push(
          `the maintenance window opens only at ${new Date(opening).toISOString()}, after the safety margin (${humanDuration(margin)} before expiry) begins, so the renewal starts at the margin`,
        );
      } else {
        at = opening;
        reasons.push(`waits for the maintenance window, which opens ${new Date(opening).toISOString()}`);
      }
    }
  }
  return {
    ...base,
    at: new Date(at).toISOString(),
    reasons,
    ...(inProgress ? { inProgress: inProgress.name } : {}),
    ...(input.busyWith?.length ? { busyWith: input.busyWith } : {}),
    ...(() => {
      const urgency = urgencyAt(Math.max(at, input.now), facts.notBefore, first.notAfter);
      return urgency ? { urgency } : {};
    })(),
  };
}

/** A CA within a third of its lifetime of expiring: renewing leaves cannot fix that. */
export function caMarginWarnings(certificates: CertificateFacts[], now: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of certificates) {
    if (!c.ca || seen.has(c.ca.issuer)) continue;
    seen.add(c.ca.issuer);
    const end = Date.parse(c.ca.notAfter);
    if (caInRenewalMargin(c.ca, now)) {
      out.push(
        end <= now
          ? `the CA of ${c.ca.issuer} EXPIRED at ${c.ca.notAfter}: renew the CA`
          : `the CA of ${c.ca.issuer} expires ${c.ca.notAfter} (in ${humanDuration(end - now)}, within the last third of its lifetime); leaf certificates cannot outlive it: renew the CA, then rotate`,
      );
    }
  }
  return out;
}

/** Whether a CA has less than a third of its lifetime left (cert-manager's default margin). */
export function caInRenewalMargin(ca: { notBefore: string; notAfter: string }, now: number): boolean {
  const end = Date.parse(ca.notAfter);
  return now >= end - (end - Date.parse(ca.notBefore)) / 3;
}

// What the renewal workflow reads and writes in the cluster: the facts its policy needs (the
// PgBouncer, its certificate Secrets, the issuers' CAs, the renewal requests of the expiry at
// hand), the renewal request itself (created once per name, whoever races), and Events on the
// PgBouncer. No key leaves here: only dates, serials and names.
import { apiVersionOf, FINISHED_PHASES, OPS_REQUESTS, PGBOUNCERS } from '../../lib/api/resources.js';
import type { PgBouncer, PgBouncerOpsRequest } from '../../lib/api/types.js';
import { certificateSecretName } from '../../lib/api/names.js';
import { describeCertificate, parseDuration } from '../../lib/certificates/index.js';
import type { Config } from '../../lib/config.js';
import { isAlreadyExists, type Kube } from '../../lib/kube/kube.js';
import { currentIssuerRef, MINTED_ALIASES } from '../../lib/planner/resolve.js';
import { tlsEnabled } from '../../lib/planner/intent.js';
import {
  MAINTENANCE_WINDOW_ANNOTATION,
  RENEWAL_EXPIRY_LABEL,
  RENEWAL_OF_LABEL,
  RENEWAL_REASON_ANNOTATION,
  RENEWAL_WORKFLOW_ANNOTATION,
  SAFETY_MARGIN_ANNOTATION,
} from '../../lib/renewal/names.js';
import { expiryStamp, planRenewal, type CertificateFacts, type RenewalPlan } from '../../lib/renewal/policy.js';
import { parseMaintenanceWindows, WindowFormatError, type MaintenanceWindow } from '../../lib/renewal/window.js';
import { onceEachSecret, summarizeIssuer } from './live-state.js';
import { recordEvent } from './ops-request.js';
import { readPgBouncer } from './pause.js';
import { unb64 } from './secrets.js';

export interface RenewalTarget {
  namespace: string;
  name: string;
  uid: string;
}

export interface WatchedRequest {
  name: string;
  phase: string;
  /** The Failed/Successful condition's message, for the failure Event. */
  message?: string;
}

export interface RenewalInspection {
  /** Set when there is nothing to renew any more: the PgBouncer is gone, or has no TLS. */
  stop?: string;
  plan?: RenewalPlan;
  /** Certificates or settings that could not be read; the renewal waits for a fix (a re-check or a signal). */
  problems: string[];
  /** What the renewal request the workflow waits for has become (absent: deleted). */
  watched?: WatchedRequest;
  /** The facts behind the plan, for gauges and details (no keys). */
  certificates: CertificateFacts[];
}

function endedAt(r: PgBouncerOpsRequest): string | undefined {
  const times = (r.status?.conditions ?? []).map((c) => c.lastTransitionTime ?? '').filter(Boolean);
  return times.sort().at(-1) ?? String(r.metadata.creationTimestamp ?? '');
}

function finalMessage(r: PgBouncerOpsRequest): string | undefined {
  const conditions = r.status?.conditions ?? [];
  return (
    conditions.find((c) => c.type === r.status?.phase)?.message ??
    conditions.find((c) => c.status === 'False')?.message ??
    conditions.at(-1)?.message
  );
}

/** Every ops request on this PgBouncer, renewals (by label) and others. */
async function listRequestsOn(kube: Kube, pb: RenewalTarget): Promise<PgBouncerOpsRequest[]> {
  const list = (await kube.custom.listNamespacedCustomObject({ ...OPS_REQUESTS, namespace: pb.namespace })) as {
    items: PgBouncerOpsRequest[];
  };
  return list.items.filter(
    (r) => r.metadata.labels?.[RENEWAL_OF_LABEL] === pb.name || r.spec?.databaseRef?.name === pb.name,
  );
}

/** The certificates a PgBouncer serves, read from its Secrets, with their renewBefore and CA. */
async function gatherCertificates(
  kube: Kube,
  config: Config,
  pb: PgBouncer,
  problems: string[],
): Promise<CertificateFacts[]> {
  const namespace = pb.metadata.namespace!;
  const facts: CertificateFacts[] = [];
  const read = onceEachSecret(kube); // both certificates' issuer is usually one: its Secrets once
  for (const alias of MINTED_ALIASES) {
    const secretName = certificateSecretName(pb, alias);
    const secret = await read(namespace, secretName);
    const pem = unb64(secret?.data?.['tls.crt']);
    if (!pem) {
      problems.push(`the ${alias} certificate's Secret ${namespace}/${secretName} is missing or has no tls.crt`);
      continue;
    }
    let info;
    try {
      info = describeCertificate(pem, `Secret ${namespace}/${secretName}`);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    const spec = pb.spec.tls?.certificates?.find((c) => c.alias === alias);
    let renewBeforeMs: number | undefined;
    if (spec?.renewBefore !== undefined) {
      try {
        renewBeforeMs = parseDuration(spec.renewBefore, `spec.tls.certificates[alias=${alias}].renewBefore`);
      } catch (err) {
        problems.push(`PgBouncer ${pb.metadata.name}: ${(err as Error).message}; the default (a third) applies`);
      }
    }
    const issuerRef = currentIssuerRef(pb.spec.tls, alias);
    let ca: CertificateFacts['ca'];
    if (issuerRef) {
      const issuer = await summarizeIssuer(kube, config, namespace, issuerRef, read);
      if (issuer.caNotAfter && issuer.caNotBefore) {
        ca = { issuer: `${issuer.kind} ${issuer.name}`, notBefore: issuer.caNotBefore, notAfter: issuer.caNotAfter };
      } else if (issuer.problem) {
        problems.push(`${issuer.problem}: the next renewal will fail until it is fixed`);
      }
    }
    facts.push({
      alias,
      secretName,
      serialHex: info.serialHex,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      ...(renewBeforeMs !== undefined ? { renewBeforeMs } : {}),
      ...(ca ? { ca } : {}),
    });
  }
  return facts;
}

function readWindowSettings(
  pb: PgBouncer,
  problems: string[],
): { windows?: MaintenanceWindow[]; safetyMarginMs?: number } {
  const annotations = pb.metadata.annotations ?? {};
  const out: { windows?: MaintenanceWindow[]; safetyMarginMs?: number } = {};
  const text = annotations[MAINTENANCE_WINDOW_ANNOTATION];
  if (text !== undefined) {
    try {
      out.windows = parseMaintenanceWindows(text);
    } catch (err) {
      if (!(err instanceof WindowFormatError)) throw err;
      problems.push(
        `annotation ${MAINTENANCE_WINDOW_ANNOTATION} of PgBouncer ${pb.metadata.name}: ${err.message}; until it is fixed, renewals ignore it`,
      );
    }
  }
  const margin = annotations[SAFETY_MARGIN_ANNOTATION];
  if (margin !== undefined) {
    try {
      out.safetyMarginMs = parseDuration(margin, `annotation ${SAFETY_MARGIN_ANNOTATION}`);
    } catch (err) {
      problems.push(
        `PgBouncer ${pb.metadata.name}: ${(err as Error).message}; the default (10% of the lifetime) applies`,
      );
    }
  }
  return out;
}

/** Gathers the facts and applies the policy: what the renewal workflow does next. */
export async function inspectRenewal(
  kube: Kube,
  config: Config,
  target: RenewalTarget,
  watch?: string,
): Promise<RenewalInspection> {
  const problems: string[] = [];
  const all = await listRequestsOn(kube, target);
  const requests = all.filter((r) => r.metadata.labels?.[RENEWAL_OF_LABEL] === target.name);
  // A person's request queued or running on this pooler goes first: a renewal behind it would
  // only rotate what it is about to change (or supersede it in the queue).
  const busyWith = all
    .filter((r) => r.metadata.labels?.[RENEWAL_OF_LABEL] !== target.name && !FINISHED_PHASES.has(r.status?.phase ?? ''))
    .map((r) => r.metadata.name!);
  const watchedRequest = watch ? requests.find((r) => r.metadata.name === watch) : undefined;
  const watched: WatchedRequest | undefined = watchedRequest && {
    name: watch!,
    phase: watchedRequest.status?.phase ?? 'Pending',
    ...(FINISHED_PHASES.has(watchedRequest.status?.phase ?? '') ? { message: finalMessage(watchedRequest) } : {}),
  };
  const pb = await readPgBouncer(kube, target.namespace, target.name);
  if (!pb || pb.metadata.uid !== target.uid) {
    return { stop: `PgBouncer ${target.namespace}/${target.name} was deleted`, problems, watched, certificates: [] };
  }
  if (!tlsEnabled(pb.spec.tls)) {
    return { stop: `PgBouncer ${target.namespace}/${target.name} has no TLS`, problems, watched, certificates: [] };
  }
  const certificates = await gatherCertificates(kube, config, pb, problems);
  if (!certificates.length) return { problems, watched, certificates };
  const earliest = [...certificates].sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter))[0]!;
  const stamp = expiryStamp(earliest.notAfter);
  const attempts = requests
    .filter((r) => r.metadata.labels?.[RENEWAL_EXPIRY_LABEL] === stamp)
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)))
    .map((r) => ({ name: r.metadata.name!, phase: r.status?.phase ?? 'Pending', endedAt: endedAt(r) }));
  const plan = planRenewal({
    pgbouncer: target.name,
    now: Date.now(),
    certificates,
    attempts,
    busyWith,
    ...readWindowSettings(pb, problems),
  });
  return { plan, problems, watched, certificates };
}

/**
 * Creates the renewal request named by the plan. The name comes from the expiry and the attempt,
 * so two workers (or a retried activity) racing here make one request: the loser adopts it.
 */
export async function createRenewalRequest(
  kube: Kube,
  target: RenewalTarget,
  plan: RenewalPlan,
  workflowId: string,
): Promise<{ name: string; created: boolean }> {
  const body: PgBouncerOpsRequest = {
    apiVersion: apiVersionOf(OPS_REQUESTS),
    kind: 'PgBouncerOpsRequest',
    metadata: {
      name: plan.requestName,
      namespace: target.namespace,
      labels: { [RENEWAL_OF_LABEL]: target.name, [RENEWAL_EXPIRY_LABEL]: expiryStamp(plan.notAfter) },
      annotations: {
        [RENEWAL_WORKFLOW_ANNOTATION]: workflowId,
        [RENEWAL_REASON_ANNOTATION]: `renews the ${plan.alias} certificate expiring ${plan.notAfter} (try ${plan.attempt}); ${plan.reasons.join('; ')}`,
      },
      // Deleting the PgBouncer deletes its renewal requests.
      ownerReferences: [
        {
          apiVersion: apiVersionOf(PGBOUNCERS),
          kind: 'PgBouncer',
          name: target.name,
          uid: target.uid,
          blockOwnerDeletion: false,
        },
      ],
    },
    spec: { type: 'ReconfigureTLS', databaseRef: { name: target.name }, tls: { rotateCertificates: true } },
  } as PgBouncerOpsRequest;
  try {
    await kube.custom.createNamespacedCustomObject({ ...OPS_REQUESTS, namespace: target.namespace, body });
    return { name: plan.requestName, created: true };
  } catch (err) {
    if (isAlreadyExists(err)) return { name: plan.requestName, created: false };
    throw err;
  }
}

export interface PgBouncerEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** An Event on the PgBouncer (kubectl describe pb shows it). */
export async function recordPgBouncerEvent(kube: Kube, target: RenewalTarget, event: PgBouncerEvent): Promise<void> {
  await recordEvent(kube, { apiVersion: apiVersionOf(PGBOUNCERS), kind: 'PgBouncer', metadata: { ...target } }, event);
}

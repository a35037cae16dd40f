// The pure planner: (ops request, live state) → what will change. The workflow executes the plan and
// the CLI's `plan` prints it (describePlan); neither decides anything on its own. Deterministic: the
// same LiveState gives a deep-equal plan (time comes from live.now, order from sorted inputs).
import { CertificateInputError, parseDuration } from '../certificates/index.js';
import { certificateSecretName } from '../api/names.js';
import { effectiveSslMode } from '../pgbouncer/render-ini.js';
import { planCertificate } from './certificates.js';
import { problemOf, uniqueErrors } from './field-errors.js';
import { mintsCertificates, replacesCertificates, sameIssuer } from './intent.js';
import { drainBoundOf, forceRestartRequested, planPods, podMethod } from './pods.js';
import { pgbouncerObject, resolve, type PgBouncerInput, type ResolvedCertificate } from './resolve.js';
import { checkSecretOwnership } from './ownership.js';
import { checkSigningPolicy } from './signing-policy.js';
import { planRevocations } from './revocations.js';
import { issuerKey, type CertificatePlan, type FieldError, type LiveState, type PlanResult } from './types.js';
import { validateRequest } from './validate.js';
import { planWarnings } from './warnings.js';

export { describePlan } from './describe.js';
export { intentOf } from './intent.js';
export { validateRequest } from './validate.js';

/** The CRD's default for spec.maxRetries, for objects stored before the default applied. */
const DEFAULT_MAX_RETRIES = 1;

export interface PlanOptions {
  /** Reload PgBouncer instead of restarting pods where only certificate contents change. */
  hotReload?: boolean;
}

/** A new certificate whose CA is not the one behind the certificate it replaces. */
function caChanges(live: LiveState, c: ResolvedCertificate): boolean {
  if (!sameIssuer(c.issuerRef, c.currentIssuerRef)) return true;
  const now = live.issuers[issuerKey(c.issuerRef)]?.caFingerprintSha256;
  const before = live.certificates[c.alias]?.issuerFingerprintSha256;
  return Boolean(now && before && now !== before);
}

/**
 * Builds the certificate plans. Validation has checked everything the request says; what fails
 * here comes from the PgBouncer's stored spec.tls, so the error says where to fix it.
 */
function planAllCertificates(
  live: LiveState,
  pb: PgBouncerInput,
  resolved: ResolvedCertificate[],
): { certificates: CertificatePlan[]; errors: FieldError[] } {
  const certificates: CertificatePlan[] = [];
  const errors: FieldError[] = [];
  for (const c of resolved) {
    try {
      certificates.push(planCertificate(live, pb, c));
    } catch (err) {
      if (!(err instanceof CertificateInputError)) throw err;
      errors.push({
        field: err.field,
        message: `${err.field}: ${problemOf(err)} (a value from PgBouncer "${pb.name}"'s spec.tls); set the field in this request's spec.tls.certificates to override it, or fix the PgBouncer`,
      });
    }
  }
  return { certificates, errors };
}

export function planReconfigureTLS(live: LiveState, options: PlanOptions = {}): PlanResult {
  const errors = validateRequest(live);
  if (errors.length) return { ok: false, errors };
  // Validation guarantees both from here on.
  const tls = live.request.spec.tls!;
  const state = live.pgbouncer!;
  const pb: PgBouncerInput = { name: state.name, namespace: live.request.ref.namespace, spec: state.spec };
  const current = pb.spec.tls;

  const { intent, tlsBefore, tlsAfter, next, certificates: resolved } = resolve(pb, tls);
  const sslModeBefore = effectiveSslMode(pgbouncerObject(pb));
  const sslMode = tlsAfter ? (tls.sslMode ?? (tlsBefore ? sslModeBefore : 'verify-full')) : 'disable';

  const mint = mintsCertificates(intent) ? resolved : [];
  const built = planAllCertificates(live, pb, mint);
  if (built.errors.length) return { ok: false, errors: uniqueErrors(built.errors) };
  const { certificates } = built;
  const denied = checkSigningPolicy(live, tls, { ...pb, replicas: pb.spec.replicas }, certificates, mint);
  if (denied.length) return { ok: false, errors: uniqueErrors(denied) };

  const { revoke, warnings: revokeWarnings } = replacesCertificates(intent)
    ? planRevocations(live, current)
    : { revoke: [], warnings: [] };
  const anyCaChange = mint.some((c) => caChanges(live, c));
  const renamed = mint.filter((c) => tlsBefore && c.secretName !== c.currentSecretName);
  const deleteSecrets =
    intent === 'remove'
      ? (['server', 'client'] as const).map((alias) => certificateSecretName(pgbouncerObject(pb), alias))
      : // Never a name that now holds a new certificate (the client taking the server's old Secret).
        renamed.map((c) => c.currentSecretName).filter((name) => !mint.some((c) => c.secretName === name));

  const ownership = checkSecretOwnership(live, {
    tls,
    pb: { name: pb.name, namespace: pb.namespace, uid: state.uid },
    intent,
    certificates,
    resolved: mint,
    deleteSecrets,
    revoke,
  });
  if (ownership.length) return { ok: false, errors: uniqueErrors(ownership) };

  const { method } = podMethod({
    hotReload: options.hotReload === true && !forceRestartRequested(live.request.annotations),
    intent,
    tlsBefore,
    sslModeBefore,
    caChanges: anyCaChange,
    secretNameChanges: renamed.length > 0,
  });
  const pods = planPods(live.pods, method);

  const caBundleDuringRoll = intent === 'change-issuer' || (tlsBefore && anyCaChange) ? 'old+new' : 'new';
  const warnings = [
    ...planWarnings({
      live,
      tls,
      tlsBefore,
      tlsAfter,
      sslModeBefore,
      sslMode,
      certificates,
      resolved,
      pods,
      caChanges: caBundleDuringRoll === 'old+new',
    }),
    ...revokeWarnings,
  ];

  return {
    ok: true,
    plan: {
      intent,
      pgbouncer: { namespace: pb.namespace, name: pb.name, uid: state.uid },
      newSpec: { tls: next, sslMode, ...(tls.clientAuthMode ? { authType: tls.clientAuthMode } : {}) },
      tlsBefore,
      tlsAfter,
      certificates,
      revoke,
      deleteSecrets,
      // An issuer change (or a new CA behind the same issuer) serves both CAs until every pod has the new leaf.
      caBundleDuringRoll,
      pods,
      warnings,
      // Validation has checked spec.timeout; this is the one place it becomes milliseconds.
      stepTimeoutMs: live.request.spec.timeout ? parseDuration(live.request.spec.timeout, 'spec.timeout') : 0,
      drainBoundMs: drainBoundOf(
        live.request.spec.timeout ? parseDuration(live.request.spec.timeout, 'spec.timeout') : 0,
      ),
      maxRetries: live.request.spec.maxRetries ?? DEFAULT_MAX_RETRIES,
    },
  };
}

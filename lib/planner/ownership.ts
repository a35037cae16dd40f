// The ownership rule on a plan (lib/api/ownership.ts): every Secret the run would write or delete
// either does not exist yet or was made by us for this pooler. Anything else is refused before
// any change, on the field that names it, with the way out.
import { adoptionHint, type PoolerIdentity } from '../api/ownership.js';
import { crlSecretName, snapshotSecretName } from '../api/names.js';
import type { PgBouncerTLSSpec } from '../api/types.js';
import { fieldError, quote } from './field-errors.js';
import type { ResolvedCertificate } from './resolve.js';
import type { CertificatePlan, FieldError, Intent, LiveState, Plan } from './types.js';

export interface OwnershipInput {
  tls: PgBouncerTLSSpec;
  pb: PoolerIdentity & { namespace: string };
  intent: Intent;
  certificates: CertificatePlan[];
  resolved: ResolvedCertificate[];
  deleteSecrets: string[];
  revoke: Plan['revoke'];
}

/** The request field a certificate's Secret name comes from (the default name: the list itself). */
function secretField(tls: PgBouncerTLSSpec, r: ResolvedCertificate | undefined): string {
  return r?.requestIndex !== undefined && tls.certificates?.[r.requestIndex]?.secretName !== undefined
    ? `spec.tls.certificates[${r.requestIndex}].secretName`
    : 'spec.tls.certificates';
}

/** The field that asks for the change which revokes today's certificates. */
function intentField(intent: Intent): string {
  switch (intent) {
    case 'remove':
      return 'spec.tls.remove';
    case 'rotate':
      return 'spec.tls.rotateCertificates';
    case 'change-issuer':
      return 'spec.tls.issuerRef';
    default:
      return 'spec.tls.certificates';
  }
}

export function checkSecretOwnership(live: LiveState, input: OwnershipInput): FieldError[] {
  const { tls, pb } = input;
  const errors: FieldError[] = [];
  const foreign = (name: string) => live.secrets?.[name] === 'foreign';
  const exists = (name: string) =>
    `Secret ${pb.namespace}/${name} exists and was not created by this orchestrator for PgBouncer ${quote(pb.name)}`;

  for (const c of input.certificates) {
    const r = input.resolved.find((x) => x.alias === c.alias);
    const field = secretField(tls, r);
    const named = field === 'spec.tls.certificates' ? ` (the ${c.alias} certificate's Secret)` : '';
    if (foreign(c.secretName)) {
      errors.push(
        fieldError(
          field,
          `${exists(c.secretName)}${named}; the run would overwrite it`,
          adoptionHint(pb.namespace, c.secretName, pb),
        ),
      );
    }
    if (foreign(c.stagingSecretName)) {
      errors.push(
        fieldError(
          field,
          `the ${c.alias} certificate's staging ${exists(c.stagingSecretName)}`,
          `delete or rename Secret ${pb.namespace}/${c.stagingSecretName}, or choose another secretName`,
        ),
      );
    }
  }
  for (const name of input.deleteSecrets) {
    if (!foreign(name)) continue;
    const renamed = input.resolved.find((r) => r.currentSecretName === name && r.secretName !== name);
    const field = input.intent === 'remove' ? 'spec.tls.remove' : secretField(tls, renamed);
    errors.push(
      fieldError(
        field,
        `${exists(name)} (PgBouncer ${quote(pb.name)} uses it today); the run would delete it`,
        input.intent === 'remove'
          ? `delete it yourself if it may go, or ${adoptionHint(pb.namespace, name, pb).replace(/^choose a secretName that does not exist yet, or, /, '')}`
          : adoptionHint(pb.namespace, name, pb),
      ),
    );
  }
  const snapshot = snapshotSecretName(pb.name, live.request.ref.uid);
  if (foreign(snapshot)) {
    errors.push(
      fieldError(
        'metadata.uid',
        `the snapshot ${exists(snapshot)}`,
        `delete Secret ${pb.namespace}/${snapshot}, or create the request again (a new uid gives a new snapshot name)`,
      ),
    );
  }
  const seen = new Set<string>();
  for (const { issuer } of input.revoke) {
    if (!issuer.caSecretName) continue;
    const key = `${issuer.caSecretNamespace}/${crlSecretName(issuer.caSecretName)}`;
    if (seen.has(key) || live.crlSecrets?.[key] !== 'foreign') continue;
    seen.add(key);
    errors.push(
      fieldError(
        intentField(input.intent),
        `the revoked serials go to the CRL Secret ${key} of ${issuer.kind} ${quote(issuer.name)}, which exists and was not created by this orchestrator`,
        `rename or delete Secret ${key}, or label it app.kubernetes.io/managed-by=pgbouncer-tls-orchestrator if it is a CRL this orchestrator may keep`,
      ),
    );
  }
  return errors;
}

// Can this issuer sign our certificates? The gatherer looked it up (IssuerSummary); here its
// findings become errors on the field that named it, each with the fix.
import type { IssuerRef } from '../api/types.js';
import { fieldError, quote } from './field-errors.js';
import { clusterIssuerAllows, clusterIssuerFix } from './signing-policy.js';
import { issuerKey, type FieldError, type IssuerSummary, type LiveState } from './types.js';

const NON_CA_KINDS = /\b(acme|selfSigned|vault|venafi)\b|only CA issuers/i;

function describeIssuer(ref: Pick<IssuerRef, 'kind' | 'name'>, namespace: string): string {
  return ref.kind === 'ClusterIssuer'
    ? `ClusterIssuer ${quote(ref.name)}`
    : `Issuer ${quote(ref.name)} in namespace ${quote(namespace)}`;
}

/** apiGroup, kind and name as the CRD would have them; the API server checks this too, we say why. */
export function checkIssuerRefShape(ref: IssuerRef, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (ref.apiGroup !== undefined && ref.apiGroup !== 'cert-manager.io') {
    errors.push(
      fieldError(`${field}.apiGroup`, `${quote(ref.apiGroup)} is not supported`, 'use cert-manager.io or leave it out'),
    );
  }
  if (ref.kind !== 'Issuer' && ref.kind !== 'ClusterIssuer') {
    errors.push(fieldError(`${field}.kind`, `${quote(ref.kind)} is not supported`, 'use Issuer or ClusterIssuer'));
  }
  if (typeof ref.name !== 'string' || ref.name === '') {
    errors.push(
      fieldError(`${field}.name`, 'is empty', 'name the Issuer or ClusterIssuer that signs the certificates'),
    );
  }
  return errors;
}

export interface IssuerUse {
  ref: IssuerRef;
  /** The request field that names it, or that would replace it. */
  field: string;
  /** Set when the issuer is the PgBouncer's current one, not one the request names. */
  pgbouncer?: string;
}

/**
 * Errors when the issuer cannot sign now: unknown, not a CA issuer (ACME and friends), CA Secret
 * missing or broken, or the CA already expired.
 */
export function checkIssuerCanSign(live: LiveState, use: IssuerUse): FieldError[] {
  const { ref, field } = use;
  if (checkIssuerRefShape(ref, field).length) return []; // reported by the shape check
  const namespace = live.request.ref.namespace;
  const what = describeIssuer(ref, namespace);
  const summary: IssuerSummary | undefined = live.issuers[issuerKey(ref)];
  // For the PgBouncer's own issuer the fix is to name another in the request (an issuer change).
  const whose = use.pgbouncer ? `PgBouncer ${quote(use.pgbouncer)} uses ${what}, which cannot sign: ` : '';
  const orAnother = use.pgbouncer
    ? `or name a working issuer in ${field} (that changes the issuer)`
    : `or name another ${ref.kind}`;
  const notFound = !summary || (/not found/i.test(summary.problem ?? '') && summary.problem!.startsWith(ref.kind));
  if (notFound) {
    const where = ref.kind === 'ClusterIssuer' ? '' : ` in namespace ${quote(namespace)}`;
    return [
      use.pgbouncer
        ? fieldError(
            field,
            `PgBouncer ${quote(use.pgbouncer)} uses ${ref.kind} ${quote(ref.name)}, which was not found${where}`,
            `create it, ${orAnother}`,
          )
        : fieldError(
            `${field}.name`,
            `${ref.kind} ${quote(ref.name)} not found${where}`,
            `create it or name an existing ${ref.kind}`,
          ),
    ];
  }
  if (summary.problem) {
    if (NON_CA_KINDS.test(summary.problem)) {
      const acme = /acme/i.test(summary.problem)
        ? ' (an ACME server cannot issue the client certificate PgBouncer needs)'
        : '';
      return [
        fieldError(
          field,
          `${whose}${summary.problem}${acme}`,
          `this orchestrator signs with the CA's key itself: name an Issuer or ClusterIssuer with spec.ca.secretName${use.pgbouncer ? ` in ${field}` : ''}`,
        ),
      ];
    }
    return [
      fieldError(field, `${whose || `${what} cannot sign: `}${summary.problem}`, `fix its CA Secret ${orAnother}`),
    ];
  }
  if (ref.kind === 'ClusterIssuer' && !clusterIssuerAllows(summary, namespace)) {
    return [
      fieldError(
        field,
        `${whose}ClusterIssuer ${quote(ref.name)} does not allow namespace ${quote(namespace)}`,
        clusterIssuerFix(ref.name, namespace),
      ),
    ];
  }
  if (summary.caNotBefore && Date.parse(summary.caNotBefore) > Date.parse(live.now)) {
    const secret = summary.caSecretName ? ` (Secret ${summary.caSecretNamespace}/${summary.caSecretName})` : '';
    return [
      fieldError(
        field,
        `${whose}the CA of ${what}${secret} is not valid until ${summary.caNotBefore}, so nothing it signs verifies yet`,
        `wait until then, fix the CA's validity (or the clock) ${orAnother}`,
      ),
    ];
  }
  if (summary.caNotAfter && Date.parse(summary.caNotAfter) <= Date.parse(live.now)) {
    const secret = summary.caSecretName ? ` (Secret ${summary.caSecretNamespace}/${summary.caSecretName})` : '';
    return [
      fieldError(
        field,
        `${whose}the CA of ${what}${secret} expired at ${summary.caNotAfter}`,
        `renew the CA in that Secret ${orAnother}`,
      ),
    ];
  }
  return [];
}

// Validation of a ReconfigureTLS request against the live state: every problem, each naming the
// JSON path of the field and the fix. KubeDB checks almost none of this; bad input here means the
// request fails before anything changes.
import type { CertificateSpec, IssuerRef } from '../api/types.js';
import { CertificateInputError, certificateDurationMs, parseDuration, resolveKeySpec } from '../certificates/index.js';
import { canonicalIp } from '../certificates/ip.js';
import { issuerKey, type FieldError, type LiveState } from './types.js';

const ALIASES = ['server', 'client', 'metrics-exporter'];

function issuerProblem(live: LiveState, ref: IssuerRef | undefined, field: string): FieldError | undefined {
  if (!ref) return undefined;
  if (ref.apiGroup && ref.apiGroup !== 'cert-manager.io') {
    return { field: `${field}.apiGroup`, message: `${field}.apiGroup: "${ref.apiGroup}" is not supported; use cert-manager.io` };
  }
  const issuer = live.issuers[issuerKey(ref)];
  if (!issuer) return { field: `${field}.name`, message: `${field}.name: ${ref.kind} "${ref.name}" not found; create it or name an existing one` };
  if (issuer.problem) return { field: `${field}.name`, message: `${field}.name: ${issuer.problem}; fix the issuer or name another one` };
  return undefined;
}

/** Runs `check` and turns a CertificateInputError into a FieldError (its message already names the field). */
function collect(errors: FieldError[], check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof CertificateInputError) errors.push({ field: err.field, message: `${err.message}` });
    else throw err;
  }
}

function validateCertificate(errors: FieldError[], live: LiveState, cert: CertificateSpec, i: number): void {
  const field = `spec.tls.certificates[${i}]`;
  if (!ALIASES.includes(cert.alias)) {
    errors.push({ field: `${field}.alias`, message: `${field}.alias: "${cert.alias}" is not one of ${ALIASES.join(', ')}` });
  }
  const err = issuerProblem(live, cert.issuerRef, `${field}.issuerRef`);
  if (err) errors.push(err);
  if (cert.duration !== undefined) collect(errors, () => certificateDurationMs(cert.duration, `${field}.duration`));
  collect(errors, () => resolveKeySpec(cert.privateKey ?? {}, `${field}.privateKey`));
  for (const [j, ip] of (cert.ipAddresses ?? []).entries()) {
    if (!canonicalIp(ip)) {
      errors.push({ field: `${field}.ipAddresses[${j}]`, message: `${field}.ipAddresses[${j}]: "${ip}" is not an IPv4 or IPv6 address` });
    }
  }
}

export function validateRequest(live: LiveState): FieldError[] {
  const errors: FieldError[] = [];
  const { spec } = live.request;
  const { namespace } = live.request.ref;
  if (spec.type !== 'ReconfigureTLS') {
    errors.push({ field: 'spec.type', message: `spec.type: ${spec.type} is not supported by this orchestrator; only ReconfigureTLS` });
    return errors;
  }
  const pb = live.pgbouncer;
  if (!pb) {
    errors.push({
      field: 'spec.databaseRef.name',
      message: `spec.databaseRef.name: PgBouncer "${spec.databaseRef?.name}" not found in namespace "${namespace}"; name an existing PgBouncer`,
    });
  }
  const tls = spec.tls;
  if (!tls) {
    errors.push({ field: 'spec.tls', message: 'spec.tls: required for ReconfigureTLS; say what to change (issuerRef, rotateCertificates, remove, …)' });
    return errors;
  }
  if (spec.timeout !== undefined) collect(errors, () => parseDuration(spec.timeout, 'spec.timeout'));
  if (tls.remove && tls.rotateCertificates) {
    errors.push({ field: 'spec.tls.remove', message: 'spec.tls.remove: cannot be combined with spec.tls.rotateCertificates; choose one' });
  }
  if (tls.remove && (tls.issuerRef || tls.certificates?.length)) {
    errors.push({ field: 'spec.tls.remove', message: 'spec.tls.remove: cannot be combined with spec.tls.issuerRef or spec.tls.certificates; remove them' });
  }
  if (tls.remove && tls.sslMode && tls.sslMode !== 'disable') {
    errors.push({ field: 'spec.tls.sslMode', message: `spec.tls.sslMode: "${tls.sslMode}" needs TLS, which spec.tls.remove turns off; use disable or omit it` });
  }
  const err = issuerProblem(live, tls.issuerRef, 'spec.tls.issuerRef');
  if (err) errors.push(err);
  const seen = new Set<string>();
  for (const [i, cert] of (tls.certificates ?? []).entries()) {
    if (seen.has(cert.alias)) errors.push({ field: `spec.tls.certificates[${i}].alias`, message: `spec.tls.certificates[${i}].alias: "${cert.alias}" appears twice` });
    seen.add(cert.alias);
    validateCertificate(errors, live, cert, i);
  }
  if (!pb) return errors;
  const hasTls = Boolean(pb.spec.tls?.issuerRef);
  const willHaveTls = !tls.remove && (hasTls || Boolean(tls.issuerRef));
  if (tls.rotateCertificates && !hasTls) {
    errors.push({ field: 'spec.tls.rotateCertificates', message: `spec.tls.rotateCertificates: PgBouncer "${pb.name}" has no TLS to rotate; add TLS first with spec.tls.issuerRef` });
  }
  if (tls.remove && !hasTls) {
    errors.push({ field: 'spec.tls.remove', message: `spec.tls.remove: PgBouncer "${pb.name}" has no TLS to remove` });
  }
  if (!willHaveTls && !tls.remove && (tls.certificates?.length || (tls.sslMode && tls.sslMode !== 'disable'))) {
    errors.push({ field: 'spec.tls.issuerRef', message: `spec.tls.issuerRef: PgBouncer "${pb.name}" has no TLS; name the Issuer to add TLS from` });
  }
  if (!hasTls && !tls.issuerRef && !tls.remove && !tls.rotateCertificates && !tls.certificates?.length && !tls.sslMode && !tls.clientAuthMode) {
    errors.push({ field: 'spec.tls', message: 'spec.tls: asks for no change; set issuerRef, rotateCertificates, remove, certificates, sslMode or clientAuthMode' });
  }
  if ((spec.apply ?? 'IfReady') === 'IfReady' && pb.phase !== 'Ready') {
    errors.push({
      field: 'spec.apply',
      message: `spec.apply: IfReady, but PgBouncer "${pb.name}" is ${pb.phase ?? 'not Ready'}; wait until it is Ready or set spec.apply: Always`,
    });
  }
  return errors;
}

// Validation of a ReconfigureTLS request against the live objects (DESIGN §4 step 1). Every problem
// is reported, not just the first, each as `<json path>: <what is wrong>; <the fix>`. KubeDB checks
// only the type and that spec.tls is set; the contradictions below it leaves to chance.
import type { PgBouncerTLSSpec, SslMode } from '../api/types.js';
import { FORCE_RESTART_ANNOTATION } from './pods.js';
import { parseDuration, serverCertificateNames } from '../certificates/index.js';
import { authSecretName, configSecretName, userlistSecretName } from '../api/names.js';
import { checkWith, fieldError, quote, uniqueErrors } from './field-errors.js';
import { mintsCertificates, sameIssuer, tlsEnabled } from './intent.js';
import { checkIssuerCanSign, checkIssuerRefShape } from './issuer-checks.js';
import {
  currentIssuerRef,
  pgbouncerObject,
  resolve,
  type PgBouncerInput,
  type ResolvedCertificate,
} from './resolve.js';
import type { FieldError, LiveState } from './types.js';
import { checkCertificateEntry, checkDuplicateAliases, checkRenewBefore } from './validate-certificates.js';

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const AUTH_MODES = ['md5', 'scram-sha-256'];
const MIN_TIMEOUT_MS = 1000;
/** The most retries of one step a request may ask for (the CRD says the same). */
export const MAX_RETRIES = 10;

type PgBouncerState = NonNullable<LiveState['pgbouncer']>;

function checkRequestFields(live: LiveState): FieldError[] {
  const { spec } = live.request;
  const errors: FieldError[] = [];
  if (spec.timeout !== undefined) {
    const err = checkWith(() => parseDuration(spec.timeout, 'spec.timeout'));
    if (err) errors.push(err);
    else if (parseDuration(spec.timeout, 'spec.timeout') < MIN_TIMEOUT_MS) {
      errors.push(
        fieldError('spec.timeout', `${quote(spec.timeout)} is shorter than 1s`, 'give each step at least 1s, e.g. 5m'),
      );
    }
  }
  const force = live.request.annotations?.[FORCE_RESTART_ANNOTATION];
  if (force !== undefined && force !== 'true' && force !== 'false') {
    errors.push(
      fieldError(
        `metadata.annotations["${FORCE_RESTART_ANNOTATION}"]`,
        `${quote(force)} is not a boolean`,
        'use "true" to restart every pod, or "false" / leave it out to reload where that suffices',
      ),
    );
  }
  if (spec.apply !== undefined && spec.apply !== 'IfReady' && spec.apply !== 'Always') {
    errors.push(
      fieldError('spec.apply', `${quote(spec.apply)} is not supported`, 'use IfReady (the default) or Always'),
    );
  }
  if (spec.maxRetries !== undefined && !(Number.isInteger(spec.maxRetries) && spec.maxRetries >= 0)) {
    errors.push(
      fieldError(
        'spec.maxRetries',
        `${quote(spec.maxRetries)} is not a whole number of retries`,
        `use 0 to ${MAX_RETRIES} (default 1)`,
      ),
    );
  } else if (spec.maxRetries !== undefined && spec.maxRetries > MAX_RETRIES) {
    // Each retry adds to the run's history; without a bound a failing step would grow it until
    // Temporal terminates the run mid-roll, with no rollback.
    errors.push(
      fieldError('spec.maxRetries', `${spec.maxRetries} is more than ${MAX_RETRIES}`, `use 0 to ${MAX_RETRIES}`),
    );
  }
  return errors;
}

/** What the request's TLS fields say on their own, whatever the PgBouncer looks like. */
function checkTlsFields(live: LiveState, tls: PgBouncerTLSSpec): FieldError[] {
  const errors: FieldError[] = [];
  const certificates = tls.certificates ?? [];
  if (tls.sslMode !== undefined && !SSL_MODES.includes(tls.sslMode)) {
    errors.push(
      fieldError('spec.tls.sslMode', `${quote(tls.sslMode)} is not an sslMode`, `use one of ${SSL_MODES.join(', ')}`),
    );
  }
  if (tls.clientAuthMode !== undefined && !AUTH_MODES.includes(tls.clientAuthMode)) {
    errors.push(
      fieldError(
        'spec.tls.clientAuthMode',
        `${quote(tls.clientAuthMode)} is not a client auth mode`,
        'use md5 or scram-sha-256',
      ),
    );
  }
  if (
    !tls.issuerRef &&
    !tls.rotateCertificates &&
    !tls.remove &&
    certificates.length === 0 &&
    tls.sslMode === undefined &&
    tls.clientAuthMode === undefined
  ) {
    errors.push(
      fieldError(
        'spec.tls',
        'asks for no change',
        'set issuerRef (add TLS or change issuer), rotateCertificates, remove, certificates, sslMode or clientAuthMode',
      ),
    );
  }
  if (tls.remove) {
    if (tls.rotateCertificates) {
      errors.push(
        fieldError(
          'spec.tls.rotateCertificates',
          'cannot be combined with spec.tls.remove: removing TLS leaves no certificate to rotate',
          'keep only one of remove and rotateCertificates',
        ),
      );
    }
    if (tls.issuerRef) {
      errors.push(
        fieldError(
          'spec.tls.issuerRef',
          'cannot be combined with spec.tls.remove: removing TLS needs no issuer',
          'drop issuerRef to remove TLS, or drop remove to add TLS or change the issuer',
        ),
      );
    }
    if (certificates.length) {
      errors.push(
        fieldError(
          'spec.tls.certificates',
          'cannot be combined with spec.tls.remove: removing TLS issues no certificate',
          'drop certificates to remove TLS, or drop remove to re-issue',
        ),
      );
    }
    if (tls.sslMode !== undefined && tls.sslMode !== 'disable') {
      errors.push(
        fieldError(
          'spec.tls.sslMode',
          `${quote(tls.sslMode)} needs TLS, which spec.tls.remove turns off`,
          'use sslMode: disable or leave it out',
        ),
      );
    }
  }
  if (tls.issuerRef) {
    errors.push(...checkIssuerRefShape(tls.issuerRef, 'spec.tls.issuerRef'));
    if (!tls.remove) errors.push(...checkIssuerCanSign(live, { ref: tls.issuerRef, field: 'spec.tls.issuerRef' }));
  }
  errors.push(...checkDuplicateAliases(certificates));
  certificates.forEach((entry, i) => {
    errors.push(...checkCertificateEntry(entry, i));
    if (entry.issuerRef && !tls.remove) {
      errors.push(
        ...checkIssuerCanSign(live, { ref: entry.issuerRef, field: `spec.tls.certificates[${i}].issuerRef` }),
      );
    }
  });
  return errors;
}

/** Whether the request fits this PgBouncer: its TLS state, its phase, its issuer, its names. */
function checkAgainstPgBouncer(live: LiveState, tls: PgBouncerTLSSpec, pb: PgBouncerState): FieldError[] {
  const errors: FieldError[] = [];
  const name = quote(pb.name);
  const current = pb.spec.tls;
  const hasTls = tlsEnabled(current);
  const gainsTls = !tls.remove && !hasTls && tls.issuerRef !== undefined;

  if (tls.rotateCertificates && !hasTls) {
    errors.push(
      fieldError(
        'spec.tls.rotateCertificates',
        `PgBouncer ${name} has no TLS, so there is no certificate to rotate`,
        tls.issuerRef
          ? 'drop rotateCertificates: spec.tls.issuerRef alone adds TLS'
          : 'add TLS first with spec.tls.issuerRef',
      ),
    );
  }
  if (tls.rotateCertificates && hasTls && !tls.remove) {
    // Rotation re-issues from the issuers in use; naming another one is an issuer change.
    if (tls.issuerRef && !sameIssuer(tls.issuerRef, current?.issuerRef)) {
      errors.push(
        fieldError(
          'spec.tls.issuerRef',
          `names ${tls.issuerRef.kind} ${quote(tls.issuerRef.name)}, but PgBouncer ${name} uses ${current!.issuerRef!.kind} ${quote(current!.issuerRef!.name)} and spec.tls.rotateCertificates re-issues from the current issuer`,
          'drop rotateCertificates to change the issuer, or drop issuerRef to rotate',
        ),
      );
    }
    (tls.certificates ?? []).forEach((entry, i) => {
      const inUse = currentIssuerRef(current, entry.alias);
      if (entry.issuerRef && inUse && !sameIssuer(entry.issuerRef, inUse)) {
        errors.push(
          fieldError(
            `spec.tls.certificates[${i}].issuerRef`,
            `names ${entry.issuerRef.kind} ${quote(entry.issuerRef.name)}, but the ${entry.alias} certificate of PgBouncer ${name} comes from ${inUse.kind} ${quote(inUse.name)} and spec.tls.rotateCertificates re-issues from the current issuer`,
            'drop this issuerRef to rotate, or drop rotateCertificates to change the issuer',
          ),
        );
      }
    });
  }
  if (tls.remove && !hasTls) {
    errors.push(
      fieldError(
        'spec.tls.remove',
        `PgBouncer ${name} has no TLS to remove`,
        'nothing needs doing: delete this request, or drop remove to change other settings',
      ),
    );
  }
  const noTlsAfter = !tls.remove && !hasTls && !gainsTls;
  if (noTlsAfter && tls.sslMode !== undefined && tls.sslMode !== 'disable' && SSL_MODES.includes(tls.sslMode)) {
    errors.push(
      fieldError(
        'spec.tls.sslMode',
        `${quote(tls.sslMode)} needs TLS, but PgBouncer ${name} has none and this request does not add it`,
        'set spec.tls.issuerRef to add TLS, or use sslMode: disable',
      ),
    );
  }
  if (noTlsAfter && !tls.rotateCertificates && (tls.certificates ?? []).length) {
    errors.push(
      fieldError(
        'spec.tls.certificates',
        `PgBouncer ${name} has no TLS, so there is no certificate to re-issue`,
        'set spec.tls.issuerRef to add TLS with these certificates',
      ),
    );
  }
  if ((live.request.spec.apply ?? 'IfReady') === 'IfReady' && pb.phase !== 'Ready') {
    errors.push(
      fieldError(
        'spec.apply',
        `IfReady (the default) runs only on a Ready PgBouncer, but PgBouncer ${name} is ${pb.phase ?? 'not Ready (no phase yet)'}`,
        'wait until it is Ready or set spec.apply: Always',
      ),
    );
  }

  // Issuers the plan will mint from that the request does not name itself: the PgBouncer's own.
  const namespace = live.request.ref.namespace;
  const resolution = resolve({ name: pb.name, namespace, spec: pb.spec }, tls);
  if (mintsCertificates(resolution.intent) && resolution.tlsAfter) {
    for (const c of resolution.certificates) {
      if (!c.issuerFrom.pgbouncer) continue;
      errors.push(...checkIssuerCanSign(live, { ref: c.issuerRef, field: c.issuerFrom.field, pgbouncer: pb.name }));
    }
    const names = checkWith(() =>
      serverCertificateNames({
        name: pb.name,
        namespace,
        replicas: pb.spec.replicas ?? 1,
        clusterDomain: live.clusterDomain,
      }),
    );
    if (names) {
      errors.push(
        fieldError(
          'spec.databaseRef.name',
          `PgBouncer ${name} cannot get a server certificate: ${names.message}`,
          'TLS needs a PgBouncer whose name is a DNS label (lower-case letters, digits and "-")',
        ),
      );
    }
    errors.push(...checkSecretNames(tls, { name: pb.name, namespace, spec: pb.spec }, resolution.certificates));
    for (const c of resolution.certificates) errors.push(...checkRenewBefore(c, tls.certificates ?? [], pb.name));
  }
  return errors;
}

/**
 * Certificate Secrets must be two distinct Secrets, and none of the PgBouncer's other Secrets:
 * the swap overwrites them and a removal deletes them.
 */
function checkSecretNames(
  tls: PgBouncerTLSSpec,
  pb: PgBouncerInput,
  certificates: ResolvedCertificate[],
): FieldError[] {
  const errors: FieldError[] = [];
  const others = new Map([
    [configSecretName(pb.name), 'config Secret (pgbouncer.ini)'],
    [userlistSecretName(pb.name), 'userlist Secret'],
    [authSecretName(pgbouncerObject(pb)), 'auth Secret'],
  ]);
  const fieldOf = (c: ResolvedCertificate) =>
    c.requestIndex !== undefined && tls.certificates?.[c.requestIndex]?.secretName !== undefined
      ? `spec.tls.certificates[${c.requestIndex}].secretName`
      : 'spec.tls.certificates';
  for (const c of certificates) {
    const other = others.get(c.secretName);
    if (other) {
      errors.push(
        fieldError(
          fieldOf(c),
          `the ${c.alias} certificate's Secret ${quote(c.secretName)} is PgBouncer ${quote(pb.name)}'s ${other}`,
          `choose another secretName, e.g. ${pb.name}-${c.alias}-cert`,
        ),
      );
    }
  }
  const [server, client] = certificates;
  if (server && client && server.secretName === client.secretName) {
    errors.push(
      fieldError(
        [fieldOf(client), fieldOf(server)].find((f) => f !== 'spec.tls.certificates') ?? 'spec.tls.certificates',
        `the server and the client certificate would share Secret ${quote(server.secretName)}`,
        'give each certificate its own secretName',
      ),
    );
  }
  return errors;
}

export function validateRequest(live: LiveState): FieldError[] {
  const { spec } = live.request;
  const { namespace } = live.request.ref;
  const errors: FieldError[] = [];
  if (spec.type !== 'ReconfigureTLS') {
    errors.push(
      fieldError(
        'spec.type',
        `${quote(spec.type)} is not supported by this orchestrator; only ReconfigureTLS`,
        'run other operations with KubeDB, or create a ReconfigureTLS request',
      ),
    );
  }
  const dbName = spec.databaseRef?.name;
  if (!dbName) {
    errors.push(fieldError('spec.databaseRef.name', 'is empty', `name the PgBouncer in namespace ${quote(namespace)}`));
  } else if (!live.pgbouncer) {
    errors.push(
      fieldError(
        'spec.databaseRef.name',
        `PgBouncer ${quote(dbName)} not found in namespace ${quote(namespace)}`,
        `create it or name an existing PgBouncer in namespace ${quote(namespace)}`,
      ),
    );
  }
  errors.push(...checkRequestFields(live));
  if (spec.type !== 'ReconfigureTLS') return uniqueErrors(errors); // the TLS fields mean nothing then
  const tls = spec.tls;
  if (!tls) {
    errors.push(
      fieldError(
        'spec.tls',
        'is required for spec.type ReconfigureTLS',
        'set spec.tls.issuerRef (add TLS or change issuer), rotateCertificates, remove, certificates, sslMode or clientAuthMode',
      ),
    );
    return uniqueErrors(errors);
  }
  errors.push(...checkTlsFields(live, tls));
  if (live.pgbouncer) errors.push(...checkAgainstPgBouncer(live, tls, live.pgbouncer));
  return uniqueErrors(errors);
}

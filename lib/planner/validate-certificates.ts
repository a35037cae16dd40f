// Checks of the request's spec.tls.certificates[] entries, each on its own (index paths, every
// problem reported). Whether the entries fit the PgBouncer is validate.ts's concern.
import { STAGING_SUFFIX_LENGTH } from '../api/names.js';
import type { CertificateSpec } from '../api/types.js';
import {
  CertificateInputError,
  certificateDurationMs,
  MIN_CERTIFICATE_DURATION_MS,
  parseDuration,
  resolveKeySpec,
} from '../certificates/index.js';
import { normalizeAltNames, normalizeDnsName, normalizeIpAddress } from '../certificates/general-names.js';
import { buildSubjectName } from '../certificates/subject.js';
import { checkWith, fieldError, quote } from './field-errors.js';
import { formatDuration } from './format.js';
import type { ResolvedCertificate } from './resolve.js';
import { checkIssuerRefShape } from './issuer-checks.js';
import type { FieldError } from './types.js';

export const ALIASES = ['server', 'client', 'metrics-exporter'] as const;

const MAX_SECRET_NAME = 253 - STAGING_SUFFIX_LENGTH;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkList(
  errors: FieldError[],
  list: unknown,
  field: string,
  check: (value: unknown, itemField: string) => unknown,
  fix: string,
): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) {
    errors.push(fieldError(field, 'must be a list of strings', `write it as a YAML list under ${field}`));
    return;
  }
  list.forEach((value, j) => {
    const itemField = `${field}[${j}]`;
    const err = checkWith(() => check(value, itemField), { field: itemField, fix });
    if (err) errors.push(err);
  });
}

export function checkSecretName(name: unknown, field: string): FieldError | undefined {
  if (typeof name === 'string' && name.length <= MAX_SECRET_NAME && DNS_SUBDOMAIN.test(name)) return undefined;
  return fieldError(
    field,
    `${quote(name)} is not a usable Secret name`,
    `use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${MAX_SECRET_NAME} characters (the staging Secret adds ${STAGING_SUFFIX_LENGTH})`,
  );
}

/** Everything wrong with one entry, except its issuer's state (issuer-checks.ts) and duplicates. */
export function checkCertificateEntry(entry: CertificateSpec, i: number): FieldError[] {
  const field = `spec.tls.certificates[${i}]`;
  const errors: FieldError[] = [];
  if (!(ALIASES as readonly string[]).includes(entry.alias)) {
    errors.push(
      fieldError(
        `${field}.alias`,
        `${quote(entry.alias)} is not a PgBouncer certificate alias`,
        `use ${ALIASES.join(', ')}`,
      ),
    );
  }
  if (entry.issuerRef) errors.push(...checkIssuerRefShape(entry.issuerRef, `${field}.issuerRef`));
  if (entry.secretName !== undefined) {
    const err = checkSecretName(entry.secretName, `${field}.secretName`);
    if (err) errors.push(err);
  }
  if (entry.duration !== undefined) {
    const durationField = `${field}.duration`;
    const parsed = checkWith(() => parseDuration(entry.duration, durationField));
    const err =
      parsed ??
      checkWith(() => certificateDurationMs(entry.duration, durationField), {
        fix: `use at least ${MIN_CERTIFICATE_DURATION_MS / 3_600_000}h, or leave it out for 2160h (90 days)`,
      });
    if (err) errors.push(err);
  }
  const keyErr = checkWith(() => resolveKeySpec(entry.privateKey ?? {}, `${field}.privateKey`));
  if (keyErr) errors.push(keyErr);
  checkList(errors, entry.dnsNames, `${field}.dnsNames`, normalizeDnsName, 'write a DNS name such as pb.example.com');
  checkList(
    errors,
    entry.ipAddresses,
    `${field}.ipAddresses`,
    normalizeIpAddress,
    'write an IPv4 or IPv6 address such as 10.0.0.5 or fd00::5',
  );
  checkList(
    errors,
    entry.uris,
    `${field}.uris`,
    (uri, f) => normalizeAltNames({ uris: [uri as string] }, `${f}.`),
    'fix or remove it',
  );
  checkList(
    errors,
    entry.emailAddresses,
    `${field}.emailAddresses`,
    (email, f) => normalizeAltNames({ emailAddresses: [email as string] }, `${f}.`),
    'write an address such as dba@example.com',
  );
  if (entry.subject !== undefined) {
    // The common name is ours (the PgBouncer's name, or pgbouncer): a stand-in checks the rest.
    const err = checkWith(() => buildSubjectName({ ...entry.subject, commonName: 'pgbouncer' }, `${field}.subject`), {
      fix: 'correct it or leave the subject field out',
    });
    if (err) errors.push(err);
  }
  return errors;
}

/** Each alias at most once (the CRD lists certificates as a map keyed by alias). */
export function checkDuplicateAliases(entries: CertificateSpec[]): FieldError[] {
  const first = new Map<string, number>();
  const errors: FieldError[] = [];
  entries.forEach((entry, i) => {
    const seen = first.get(entry.alias);
    if (seen === undefined) first.set(entry.alias, i);
    else {
      errors.push(
        fieldError(
          `spec.tls.certificates[${i}].alias`,
          `${quote(entry.alias)} is already given in spec.tls.certificates[${seen}]`,
          'merge the two entries into one',
        ),
      );
    }
  });
  return errors;
}

/**
 * renewBefore must be a positive duration shorter than the certificate's duration (cert-manager's
 * rule): checked on the spec the certificate will have (the PgBouncer's entry with the request's
 * laid over it), naming the request's field when the request sets either value.
 */
export function checkRenewBefore(c: ResolvedCertificate, request: CertificateSpec[], pgbouncer: string): FieldError[] {
  const renewBefore = c.spec.renewBefore;
  if (renewBefore === undefined) return [];
  const own = c.requestIndex !== undefined ? request[c.requestIndex] : undefined;
  const field =
    own?.renewBefore !== undefined
      ? `spec.tls.certificates[${c.requestIndex}].renewBefore`
      : own?.duration !== undefined
        ? `spec.tls.certificates[${c.requestIndex}].duration`
        : `spec.tls.certificates[${c.requestIndex ?? `alias=${c.alias}`}].renewBefore`;
  const where =
    own?.renewBefore !== undefined || own?.duration !== undefined ? '' : ` (from PgBouncer ${quote(pgbouncer)})`;
  let renewBeforeMs: number;
  let durationMs: number;
  try {
    renewBeforeMs = parseDuration(renewBefore, field);
    durationMs = certificateDurationMs(c.spec.duration, field);
  } catch (err) {
    if (!(err instanceof CertificateInputError)) throw err;
    // A bad duration is reported by checkCertificateEntry; a bad renewBefore here.
    return own?.duration !== undefined && own.renewBefore === undefined
      ? []
      : [
          fieldError(
            field,
            `renewBefore ${quote(renewBefore)}${where} is not a duration`,
            'write it like 720h or 30m, or leave it out for a third of the duration',
          ),
        ];
  }
  const suggestion = formatDuration(Math.round(durationMs / 3));
  if (renewBeforeMs <= 0 || renewBeforeMs >= durationMs) {
    return [
      fieldError(
        field,
        `renewBefore ${quote(renewBefore)}${where} must be positive and shorter than the ${c.alias} certificate's duration ${formatDuration(durationMs)}, or it would renew at once and forever`,
        `set renewBefore below ${formatDuration(durationMs)} (e.g. ${suggestion}, a third, which is the default when renewBefore is left out)`,
      ),
    ];
  }
  return [];
}

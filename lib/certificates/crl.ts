// Certificate revocation lists (RFC 5280 5), signed by the CA. node-forge has no CRL builder, so the
// TBSCertList is assembled with its ASN.1 toolkit and signed like a certificate (signing.ts).
//
// PgBouncer cannot check CRLs itself; the list is for clients and for PostgreSQL's ssl_crl_file, and
// it is the record that a superseded or leaked certificate must no longer be trusted.
import { contextExplicit, seq, sequence, smallInteger, time, unsignedInteger } from './asn1.js';
import { keyUsagePermits } from './certificate-reader.js';
import { wholeSeconds } from './certificate-builder.js';
import { parseCA, type CAKeyPair } from './ca.js';
import { CertificateInputError, quote } from './errors.js';
import {
  authorityKeyIdentifier,
  crlNumber as crlNumberExtension,
  crlReason,
  encodeExtensions,
  REVOCATION_REASONS,
  type RevocationReason,
} from './extensions.js';
import { derToPem } from './pem.js';
import { canonicalSerialHex, serialFromHex } from './serial.js';
import { signStructure } from './signing.js';

export type { RevocationReason } from './extensions.js';

export interface RevokedCertificate {
  serialHex: string;
  revokedAt: Date;
  /** Why (RFC 5280 5.3.1): superseded for a rotation, keyCompromise after a leak, cessationOfOperation when TLS is removed. */
  reason?: RevocationReason;
}

export interface BuildCrlInput {
  ca: CAKeyPair & { label?: string };
  revoked: RevokedCertificate[];
  thisUpdate: Date;
  nextUpdate: Date;
  /** Monotonically increasing per CA (RFC 5280 5.2.3); the caller keeps the counter. */
  crlNumber: number | bigint;
}

const CRL_SIGN = 6;

function checkDate(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new CertificateInputError(field, 'must be a valid date');
  return value;
}

function checkCrlNumber(value: unknown): bigint {
  const ok =
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'bigint' && value >= 0n);
  // RFC 5280 5.2.3: at most 20 octets.
  if (!ok || BigInt(value as number | bigint) >= 1n << 159n) {
    throw new CertificateInputError('crlNumber', 'must be a non-negative integer below 2^159');
  }
  return BigInt(value as number | bigint);
}

/** One entry per serial: a serial revoked twice (say, by a retried step) keeps its earliest date. */
function mergeEntries(revoked: RevokedCertificate[]): (RevokedCertificate & { serial: Buffer })[] {
  const bySerial = new Map<string, RevokedCertificate & { serial: Buffer }>();
  revoked.forEach((entry, i) => {
    const serial = serialFromHex(entry.serialHex, `revoked[${i}].serialHex`);
    const revokedAt = checkDate(entry.revokedAt, `revoked[${i}].revokedAt`);
    if (entry.reason !== undefined && !(entry.reason in REVOCATION_REASONS)) {
      throw new CertificateInputError(
        `revoked[${i}].reason`,
        `${quote(entry.reason)} is not supported; use one of ${Object.keys(REVOCATION_REASONS).join(', ')}`,
      );
    }
    const key = canonicalSerialHex(entry.serialHex);
    const previous = bySerial.get(key);
    if (!previous || revokedAt < previous.revokedAt) bySerial.set(key, { ...entry, revokedAt, serial });
  });
  // In numeric serial order (canonical hex has no leading zeros), so the same input gives the same list.
  const numeric = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return [...bySerial.entries()].sort(([a], [b]) => numeric(a, b)).map(([, entry]) => entry);
}

export function buildCrl(input: BuildCrlInput): string {
  const ca = parseCA(input.ca.certPem, input.ca.keyPem, input.ca.label ?? 'CA');
  if (!keyUsagePermits(ca.parts, CRL_SIGN)) {
    throw new CertificateInputError(ca.label, "tls.crt's keyUsage does not allow signing CRLs (cRLSign)");
  }
  const thisUpdate = wholeSeconds(checkDate(input.thisUpdate, 'thisUpdate'));
  const nextUpdate = wholeSeconds(checkDate(input.nextUpdate, 'nextUpdate'));
  if (nextUpdate <= thisUpdate) throw new CertificateInputError('nextUpdate', 'must be later than thisUpdate');
  const number = checkCrlNumber(input.crlNumber);
  const entries = mergeEntries(input.revoked);

  const revokedCertificates = entries.map((entry) =>
    seq([
      unsignedInteger(entry.serial),
      time(wholeSeconds(entry.revokedAt)),
      ...(entry.reason ? [encodeExtensions([crlReason(entry.reason)])] : []),
    ]),
  );
  const tbsCertList = sequence([
    smallInteger(1), // v2, needed for extensions
    ca.signer.algorithmIdentifier,
    ca.parts.subjectDer,
    time(thisUpdate),
    time(nextUpdate),
    // An empty list is left out entirely rather than written as an empty SEQUENCE (RFC 5280 5.1.2.6).
    ...(revokedCertificates.length > 0 ? [seq(revokedCertificates)] : []),
    contextExplicit(0, encodeExtensions([authorityKeyIdentifier(ca.keyId), crlNumberExtension(number)])),
  ]);
  return derToPem('X509 CRL', signStructure(tbsCertList, ca.signer));
}

// Issues a leaf certificate for a public key, signed by a CA. The private key never comes here: the
// caller generates it (keys.ts), keeps it in a staging Secret and passes only the public half.
//
// The certificate is built with node-forge's ASN.1 toolkit and signed through node:crypto. forge's
// own certificate API (pki.createCertificate) only handles RSA keys; assembling the TBSCertificate
// ourselves around the SubjectPublicKeyInfo from node:crypto gives one code path for RSA and ECDSA,
// for both the leaf key and the CA key.
//
// Extended key usage: a `server` certificate gets serverAuth only and a `client` certificate
// clientAuth only. PgBouncer presents the server certificate solely on its client-facing listener
// (client_tls_*); towards PostgreSQL it uses the separate client certificate (server_tls_*). Keeping
// the usages apart means a leaked server key cannot log in to PostgreSQL with verify-ca.
import { X509Certificate } from 'node:crypto';
import { buildCertificate, wholeSeconds } from './certificate-builder.js';
import { parseCA, type CAKeyPair } from './ca.js';
import { CertificateInputError, quote } from './errors.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  extendedKeyUsage,
  keyIdentifierOf,
  keyUsage,
  subjectAltName,
  subjectKeyIdentifier,
  type Extension,
} from './extensions.js';
import { hasAltNames, normalizeAltNames } from './general-names.js';
import { describeKey, loadPublicKey } from './keys.js';
import { OID } from './oids.js';
import { randomSerial, serialFromHex, serialHexOf } from './serial.js';
import { buildSubjectName, type SubjectInput } from './subject.js';

export type CertificateUsage = 'server' | 'client';

export interface IssueCertificateInput {
  /** The CA pair; `label` (e.g. `Secret demo/ca`) names it in messages. */
  ca: CAKeyPair & { label?: string };
  /** SPKI PEM of the key being certified. */
  publicKeyPem: string;
  subject: SubjectInput;
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  emailAddresses?: string[];
  usage: CertificateUsage;
  notBefore: Date;
  notAfter: Date;
  /** Hex; random (16 bytes) when absent. */
  serialNumber?: string;
  /** Path of the certificate spec, prefixed to field names in messages, e.g. `spec.tls.certificates[alias=server]`. */
  field?: string;
}

/** Everything here is safe to put in a workflow history: no key material. */
export interface IssuedCertificate {
  certPem: string;
  serialHex: string;
  /** SHA-256 of the DER, upper-case hex pairs joined by colons (as openssl and node:crypto print it). */
  fingerprintSha256: string;
  /** ISO 8601; notAfter may be earlier than requested when the CA expires sooner. */
  notBefore: string;
  notAfter: string;
}

const EXTENDED_KEY_USAGE: Record<CertificateUsage, string> = { server: OID.serverAuth, client: OID.clientAuth };

function checkDate(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new CertificateInputError(field, 'must be a valid date');
  }
  return value;
}

export function issueCertificate(input: IssueCertificateInput): IssuedCertificate {
  const prefix = input.field ? `${input.field}.` : '';
  const ca = parseCA(input.ca.certPem, input.ca.keyPem, input.ca.label ?? 'CA');
  const leafKey = loadPublicKey(input.publicKeyPem, input.field ?? 'certificate', 'public key');
  const { algorithm } = describeKey(leafKey, input.field ?? 'certificate', 'public key');
  if (input.usage !== 'server' && input.usage !== 'client') {
    throw new CertificateInputError(`${prefix}usage`, `${quote(input.usage)} is not supported; use server or client`);
  }

  const notBefore = wholeSeconds(checkDate(input.notBefore, `${prefix}notBefore`));
  let notAfter = wholeSeconds(checkDate(input.notAfter, `${prefix}notAfter`));
  if (ca.notAfter.getTime() <= notBefore.getTime()) {
    throw new CertificateInputError(
      ca.label,
      `the CA certificate expired at ${ca.notAfter.toISOString()}; renew the CA`,
    );
  }
  // Like cert-manager's CA issuer: a leaf cannot outlive its CA, so its lifetime is cut to the CA's.
  if (notAfter.getTime() > ca.notAfter.getTime()) notAfter = ca.notAfter;
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new CertificateInputError(`${prefix}notAfter`, 'must be later than notBefore');
  }

  const names = normalizeAltNames(input, prefix);
  const subjectName = buildSubjectName(input.subject, `${prefix}subject`);
  const serial =
    input.serialNumber === undefined ? randomSerial() : serialFromHex(input.serialNumber, `${prefix}serialNumber`);
  const spkiDer = leafKey.export({ type: 'spki', format: 'der' });

  const extensions: Extension[] = [
    basicConstraints(false),
    // keyEncipherment only matters for RSA key exchange (TLS 1.2 RSA suites); ECDSA keys cannot encipher.
    keyUsage(algorithm === 'RSA' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']),
    extendedKeyUsage([EXTENDED_KEY_USAGE[input.usage]]),
    // The subject always has a CN, so the SAN need not be critical (RFC 5280 4.2.1.6).
    ...(hasAltNames(names) ? [subjectAltName(names, false)] : []),
    subjectKeyIdentifier(keyIdentifierOf(spkiDer)),
    authorityKeyIdentifier(ca.keyId),
  ];

  const { der, pem } = buildCertificate(
    { serial, issuerName: ca.parts.subjectDer, subjectName, notBefore, notAfter, spkiDer, extensions },
    ca.signer,
  );

  // Read our own output back through OpenSSL before anyone relies on it.
  const issued = new X509Certificate(der);
  if (!issued.verify(ca.cert.publicKey) || !issued.checkIssued(ca.cert)) {
    throw new Error('internal error: the issued certificate does not verify against its CA');
  }
  return {
    certPem: pem,
    serialHex: serialHexOf(serial),
    fingerprintSha256: issued.fingerprint256,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
  };
}

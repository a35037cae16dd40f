// Certificate authorities: load and check the pair a cert-manager CA Issuer points at, or make a
// self-signed one (tests and quick starts).
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { encode } from './asn1.js';
import { buildCertificate } from './certificate-builder.js';
import {
  basicConstraintsIsCA,
  keyUsagePermits,
  readCertificateParts,
  subjectKeyIdOf,
  type CertificateParts,
} from './certificate-reader.js';
import { CertificateInputError } from './errors.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  keyIdentifierOf,
  keyUsage,
  subjectKeyIdentifier,
} from './extensions.js';
import { generatePrivateKey, loadPrivateKey, type KeyAlgorithm, type KeyEncoding } from './keys.js';
import { pemBlocks } from './pem.js';
import { randomSerial } from './serial.js';
import { signerFor, type Signer } from './signing.js';
import { buildSubjectName } from './subject.js';

export interface CAKeyPair {
  certPem: string;
  keyPem: string;
}

export interface ParsedCA {
  /** The CA certificate itself (the first certificate of tls.crt), as PEM. */
  certPem: string;
  cert: X509Certificate;
  parts: CertificateParts;
  key: KeyObject;
  /** Goes into the authorityKeyIdentifier of everything this CA signs. */
  keyId: Buffer;
  signer: Signer;
  notBefore: Date;
  notAfter: Date;
  /** What messages call this CA, e.g. `Secret demo/ca`. */
  label: string;
}

// Bit positions in keyUsage (RFC 5280 4.2.1.3).
const KEY_CERT_SIGN = 5;
const CRL_SIGN = 6;

/**
 * Whether the CA may sign CRLs. cert-manager's `isCA: true` certificates carry digitalSignature,
 * keyEncipherment and keyCertSign but not cRLSign, so "no" is the common case, not an error.
 */
export function canSignCrls(ca: Pick<ParsedCA, 'parts'>): boolean {
  return keyUsagePermits(ca.parts, CRL_SIGN);
}

function loadCACertificate(certPem: string, label: string): { cert: X509Certificate; der: Buffer } {
  // tls.crt may hold the CA followed by its own chain; the first certificate is the one that signs.
  const block = pemBlocks(certPem).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new CertificateInputError(label, 'tls.crt holds no PEM certificate');
  try {
    return { cert: new X509Certificate(block.der), der: block.der };
  } catch {
    throw new CertificateInputError(label, 'tls.crt is not a valid X.509 certificate');
  }
}

/**
 * Loads a CA from its certificate and key PEM and checks it can sign: the key matches, the
 * certificate is a CA and may sign certificates. `label` starts every message (`Secret demo/ca: …`).
 */
export function parseCA(certPem: string, keyPem: string, label = 'CA'): ParsedCA {
  const { cert, der } = loadCACertificate(certPem, label);
  let parts: CertificateParts;
  try {
    parts = readCertificateParts(der);
  } catch {
    throw new CertificateInputError(label, 'tls.crt is not a well-formed DER certificate');
  }
  const key = loadPrivateKey(keyPem, label, 'tls.key');
  if (!cert.checkPrivateKey(key)) throw new CertificateInputError(label, 'tls.key does not match tls.crt');
  if (!basicConstraintsIsCA(parts)) {
    throw new CertificateInputError(
      label,
      'tls.crt is not a CA certificate (no basicConstraints CA:TRUE); point the issuer at a CA, not at a leaf certificate',
    );
  }
  if (!keyUsagePermits(parts, KEY_CERT_SIGN)) {
    throw new CertificateInputError(label, "tls.crt's keyUsage does not allow signing certificates (keyCertSign)");
  }
  // Leaves carry this CA as ca.crt, the only trust anchor clients get: an intermediate there
  // verifies nowhere (clients need a self-signed root), so every pod check would fail after a restart.
  if (!cert.checkIssued(cert) || !cert.verify(cert.publicKey)) {
    throw new CertificateInputError(
      label,
      `tls.crt is an intermediate CA (issued by "${cert.issuer.replace(/\n/g, ', ')}"), not a self-signed root; leaves get this CA as their only ca.crt, which clients cannot verify: point the issuer at a root CA's Secret`,
    );
  }
  return {
    certPem: cert.toString(),
    cert,
    parts,
    key,
    keyId: subjectKeyIdOf(parts) ?? keyIdentifierOf(parts.spkiDer),
    signer: signerFor(key, label),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    label,
  };
}

export interface SelfSignedCAOptions {
  commonName: string;
  organizations?: string[];
  algorithm?: KeyAlgorithm;
  size?: number;
  encoding?: KeyEncoding;
  notBefore?: Date;
  notAfter: Date;
}

export async function createSelfSignedCA(options: SelfSignedCAOptions): Promise<CAKeyPair> {
  const generated = await generatePrivateKey(
    { algorithm: options.algorithm, size: options.size, encoding: options.encoding },
    'privateKey',
  );
  const key = loadPrivateKey(generated.keyPem, 'CA', 'generated key');
  const spkiDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const keyId = keyIdentifierOf(spkiDer);
  const name = encode(buildSubjectName({ commonName: options.commonName, organizations: options.organizations }));
  const notBefore = options.notBefore ?? new Date();
  if (options.notAfter.getTime() <= notBefore.getTime()) {
    throw new CertificateInputError('notAfter', 'must be later than notBefore');
  }
  const { pem } = buildCertificate(
    {
      serial: randomSerial(),
      issuerName: name,
      subjectName: name,
      notBefore,
      notAfter: options.notAfter,
      spkiDer,
      extensions: [
        basicConstraints(true),
        keyUsage(['keyCertSign', 'cRLSign']),
        subjectKeyIdentifier(keyId),
        authorityKeyIdentifier(keyId),
      ],
    },
    signerFor(key, 'CA'),
  );
  return { certPem: pem, keyPem: generated.keyPem };
}

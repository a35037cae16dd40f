// Reading certificates: what one says, whether it belongs to a key, whether a CA bundle vouches for
// it. Used to compare what is stored or served with what was issued.
import { X509Certificate } from 'node:crypto';
import { readCertificateParts } from './certificate-reader.js';
import { CertificateInputError } from './errors.js';
import { decodeGeneralNames } from './general-names.js';
import { loadPrivateKey } from './keys.js';
import { OID } from './oids.js';
import { pemBlocks, splitPemBundle } from './pem.js';
import { canonicalSerialHex } from './serial.js';

export { splitPemBundle };

export interface CertificateDescription {
  serialHex: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  /** One line, most general RDN first, e.g. `O=demo, CN=pgbouncer`. */
  subject: string;
  issuer: string;
  isCA: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
}

/** The first certificate in `pem` (a leaf's tls.crt may carry its chain after it). */
export function loadCertificate(pem: string, label = 'certificate', name = 'tls.crt'): X509Certificate {
  const block = pemBlocks(pem).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new CertificateInputError(label, `${name} holds no PEM certificate`);
  try {
    return new X509Certificate(block.der);
  } catch {
    throw new CertificateInputError(label, `${name} is not a valid X.509 certificate`);
  }
}

const oneLine = (name: string) => name.split('\n').join(', ');

export function describeCertificate(pem: string, label = 'certificate'): CertificateDescription {
  const cert = loadCertificate(pem, label);
  let san;
  try {
    const ext = readCertificateParts(cert.raw).extensions.get(OID.subjectAltName);
    san = ext ? decodeGeneralNames(ext.value) : undefined;
  } catch {
    throw new CertificateInputError(label, 'tls.crt has a malformed extension');
  }
  return {
    serialHex: canonicalSerialHex(cert.serialNumber),
    fingerprintSha256: cert.fingerprint256,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    isCA: cert.ca,
    dnsNames: san?.dnsNames ?? [],
    ipAddresses: san?.ipAddresses ?? [],
    uris: san?.uris ?? [],
    emailAddresses: san?.emailAddresses ?? [],
  };
}

/** Whether the private key is the one the certificate certifies. Unreadable input throws (without echoing it). */
export function certificateMatchesKey(certPem: string, keyPem: string, label = 'certificate'): boolean {
  return loadCertificate(certPem, label).checkPrivateKey(loadPrivateKey(keyPem, label, 'tls.key'));
}

function validAt(cert: X509Certificate, at: Date): boolean {
  return new Date(cert.validFrom) <= at && at <= new Date(cert.validTo);
}

/**
 * True when some CA certificate in the bundle directly issued and signed the leaf, and both are
 * valid at `at`. A bundle holds several CAs while an issuer change is under way.
 */
export function verifyChain(leafPem: string, caBundlePem: string, at: Date = new Date()): boolean {
  const leaf = loadCertificate(leafPem, 'leaf certificate');
  if (!validAt(leaf, at)) return false;
  return splitPemBundle(caBundlePem).some((caPem) => {
    let ca: X509Certificate;
    try {
      ca = new X509Certificate(caPem);
    } catch {
      return false; // an unreadable bundle member vouches for nothing
    }
    // checkIssued compares names, key identifiers and the CA's keyUsage; verify checks the signature.
    return ca.ca && validAt(ca, at) && leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
  });
}

// Assembles and signs an X.509 v3 certificate (RFC 5280 4.1). Shared by the CA maker and the leaf
// issuer so both produce the same structure.
import { contextExplicit, encode, seq, sequence, smallInteger, time, unsignedInteger, type DerPart } from './asn1.js';
import { encodeExtensions, type Extension } from './extensions.js';
import { derToPem } from './pem.js';
import { signStructure, type Signer } from './signing.js';

export interface CertificateTemplate {
  /** Serial magnitude octets (see serial.ts). */
  serial: Buffer;
  /** The issuer's subject Name, copied byte for byte from the issuer's certificate. */
  issuerName: DerPart;
  subjectName: DerPart;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER of the certified key, as node:crypto exports it. */
  spkiDer: Buffer;
  extensions: Extension[];
}

/** Certificates carry whole seconds; cutting the milliseconds here keeps the returned dates truthful. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export function buildCertificate(template: CertificateTemplate, signer: Signer): { der: Buffer; pem: string } {
  const tbs = sequence([
    contextExplicit(0, smallInteger(2)), // v3
    unsignedInteger(template.serial),
    signer.algorithmIdentifier,
    encode(template.issuerName),
    seq([time(wholeSeconds(template.notBefore)), time(wholeSeconds(template.notAfter))]),
    encode(template.subjectName),
    template.spkiDer,
    contextExplicit(3, encodeExtensions(template.extensions)),
  ]);
  const der = signStructure(tbs, signer);
  return { der, pem: derToPem('CERTIFICATE', der) };
}

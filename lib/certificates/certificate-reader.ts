// Reads the parts of an existing certificate that issuing and inspecting need, as raw DER slices.
// node:crypto's X509Certificate covers dates, fingerprints and signatures but exposes neither the
// encoded subject Name nor extension values, so those come from walking the DER.
import forge from 'node-forge';
import { contentOf, rawOf, readChildren, readTlv, TAG_SEQUENCE, type Tlv } from './asn1.js';
import { OID } from './oids.js';

export interface RawExtension {
  critical: boolean;
  /** The extension's value: the DER inside its OCTET STRING. */
  value: Buffer;
}

export interface CertificateParts {
  subjectDer: Buffer;
  issuerDer: Buffer;
  spkiDer: Buffer;
  extensions: Map<string, RawExtension>;
}

const TAG_BOOLEAN = 0x01;
const TAG_EXTENSIONS = 0xa3;

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw new Error(`certificate ${what} missing or malformed`);
  return tlv;
}

function readExtensions(der: Buffer, wrapper: Tlv | undefined): Map<string, RawExtension> {
  const extensions = new Map<string, RawExtension>();
  if (!wrapper) return extensions;
  const list = expect(readChildren(der, wrapper)[0], TAG_SEQUENCE, 'extensions');
  for (const ext of readChildren(der, list)) {
    const fields = readChildren(der, ext);
    const id = forge.asn1.derToOid(contentOf(der, fields[0]!).toString('binary'));
    const critical = fields[1]?.tag === TAG_BOOLEAN && der[fields[1].contentStart] !== 0;
    const value = contentOf(der, fields[fields.length - 1]!);
    extensions.set(id, { critical, value });
  }
  return extensions;
}

/** Throws a plain Error on malformed DER; callers turn it into a message about their input. */
export function readCertificateParts(der: Buffer): CertificateParts {
  const certificate = expect(readTlv(der, 0), TAG_SEQUENCE, 'structure');
  if (certificate.end !== der.length) throw new Error('trailing bytes after the certificate');
  const tbs = expect(readChildren(der, certificate)[0], TAG_SEQUENCE, 'tbsCertificate');
  const fields = readChildren(der, tbs);
  // version is [0] EXPLICIT and absent in v1 certificates.
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const issuer = expect(fields[base + 2], TAG_SEQUENCE, 'issuer');
  const subject = expect(fields[base + 4], TAG_SEQUENCE, 'subject');
  const spki = expect(fields[base + 5], TAG_SEQUENCE, 'subjectPublicKeyInfo');
  return {
    subjectDer: rawOf(der, subject),
    issuerDer: rawOf(der, issuer),
    spkiDer: rawOf(der, spki),
    extensions: readExtensions(
      der,
      fields.find((field) => field.tag === TAG_EXTENSIONS),
    ),
  };
}

/** The subjectKeyIdentifier's key id, if the certificate has one. */
export function subjectKeyIdOf(parts: CertificateParts): Buffer | undefined {
  const ext = parts.extensions.get(OID.subjectKeyIdentifier);
  if (!ext) return undefined;
  return contentOf(ext.value, readTlv(ext.value, 0));
}

/** Whether keyUsage permits `bit` (0 = digitalSignature … 5 = keyCertSign, 6 = cRLSign); no keyUsage permits all. */
export function keyUsagePermits(parts: CertificateParts, bit: number): boolean {
  const ext = parts.extensions.get(OID.keyUsage);
  if (!ext) return true;
  const bits = contentOf(ext.value, readTlv(ext.value, 0)).subarray(1);
  const octet = bits[bit >> 3] ?? 0;
  return (octet & (0x80 >> (bit & 7))) !== 0;
}

/**
 * Whether basicConstraints says cA TRUE. (node:crypto's `X509Certificate.ca` also demands
 * keyCertSign, which would blur two different mistakes into one message.)
 */
export function basicConstraintsIsCA(parts: CertificateParts): boolean {
  const ext = parts.extensions.get(OID.basicConstraints);
  if (!ext) return false;
  const [first] = readChildren(ext.value, readTlv(ext.value, 0));
  return first?.tag === TAG_BOOLEAN && ext.value[first.contentStart] !== 0;
}

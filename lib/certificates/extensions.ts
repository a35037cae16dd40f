// X.509 v3 extensions (RFC 5280 4.2, 5.2, 5.3) as forge ASN.1 nodes.
import { createHash } from 'node:crypto';
import {
  bitString,
  boolean,
  contentOf,
  contextPrimitive,
  encode,
  enumerated,
  octetString,
  oid,
  readChildren,
  readTlv,
  seq,
  unsignedInteger,
  type Asn1Node,
} from './asn1.js';
import { encodeGeneralNames, type AltNames } from './general-names.js';
import { OID } from './oids.js';

export interface Extension {
  oid: string;
  critical: boolean;
  value: Asn1Node;
}

/** `Extensions ::= SEQUENCE OF Extension`; `critical` is written only when true (DER omits defaults). */
export function encodeExtensions(extensions: Extension[]): Asn1Node {
  return seq(
    extensions.map((ext) =>
      seq([oid(ext.oid), ...(ext.critical ? [boolean(true)] : []), octetString(encode(ext.value))]),
    ),
  );
}

export function basicConstraints(isCA: boolean): Extension {
  // CA:FALSE is the default, so a leaf's value is an empty SEQUENCE.
  return { oid: OID.basicConstraints, critical: true, value: seq(isCA ? [boolean(true)] : []) };
}

const KEY_USAGE_BITS = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;
export type KeyUsage = keyof typeof KEY_USAGE_BITS;

export function keyUsage(usages: KeyUsage[]): Extension {
  // A named bit list in DER drops trailing zero bits; the first octet says how many are unused.
  let bits = 0;
  for (const usage of usages) bits |= 0x80 >> KEY_USAGE_BITS[usage];
  let unused = 0;
  while (unused < 7 && !(bits & (1 << unused))) unused++;
  return { oid: OID.keyUsage, critical: true, value: bitString(Buffer.from([bits]), unused) };
}

export function extendedKeyUsage(purposes: string[]): Extension {
  return { oid: OID.extKeyUsage, critical: false, value: seq(purposes.map(oid)) };
}

export function subjectAltName(names: AltNames, critical: boolean): Extension {
  return { oid: OID.subjectAltName, critical, value: encodeGeneralNames(names) };
}

export function subjectKeyIdentifier(keyId: Buffer): Extension {
  return { oid: OID.subjectKeyIdentifier, critical: false, value: octetString(keyId) };
}

export function authorityKeyIdentifier(keyId: Buffer): Extension {
  // Only the keyIdentifier choice ([0]); issuer name + serial would tie leaves to one CA certificate.
  return { oid: OID.authorityKeyIdentifier, critical: false, value: seq([contextPrimitive(0, keyId)]) };
}

export function crlNumber(value: bigint): Extension {
  const hex = value.toString(16);
  return {
    oid: OID.cRLNumber,
    critical: false,
    value: unsignedInteger(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')),
  };
}

/** CRLReason codes (RFC 5280 5.3.1) we have a use for. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  caCompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

export function crlReason(reason: RevocationReason): Extension {
  return { oid: OID.cRLReason, critical: false, value: enumerated(REVOCATION_REASONS[reason]) };
}

/**
 * Key identifier by RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bits.
 * SHA-1 is fine here; it names a key, it does not protect anything.
 */
export function keyIdentifierOf(spkiDer: Buffer): Buffer {
  const spki = readTlv(spkiDer, 0);
  const [, publicKeyBits] = readChildren(spkiDer, spki);
  if (!publicKeyBits || publicKeyBits.tag !== 0x03) throw new Error('SubjectPublicKeyInfo has no public key bits');
  return createHash('sha1').update(contentOf(spkiDer, publicKeyBits).subarray(1)).digest();
}

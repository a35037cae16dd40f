// DER encoding and decoding on top of node-forge's ASN.1 toolkit (forge.asn1).
//
// forge builds every node we create. What we copy from an existing certificate (the CA's subject
// Name, a SubjectPublicKeyInfo from node:crypto) is embedded as raw bytes instead of being parsed and
// re-encoded: an issuer Name must equal the CA's subject byte for byte (Go and other strict
// verifiers compare raw bytes when building chains), and forge does not promise an exact round trip
// (it rewrites BER lengths and BMPStrings). So parents accept a mix of forge nodes and raw DER.
import forge from 'node-forge';

const { asn1 } = forge;

export type Asn1Node = forge.asn1.Asn1;
/** A piece of DER: a forge node to encode, or bytes copied verbatim from an existing structure. */
export type DerPart = Asn1Node | Buffer;

const UNIVERSAL = asn1.Class.UNIVERSAL;
const CONTEXT = asn1.Class.CONTEXT_SPECIFIC;

export const TAG_SEQUENCE = 0x30;

export function encode(part: DerPart): Buffer {
  return Buffer.isBuffer(part) ? part : Buffer.from(asn1.toDer(part).getBytes(), 'binary');
}

export function decode(der: Buffer): Asn1Node {
  return asn1.fromDer(der.toString('binary'), true);
}

function lengthOctets(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A constructed value (SEQUENCE, SET, [n] EXPLICIT) whose children may be raw DER. */
export function constructed(tag: number, parts: DerPart[]): Buffer {
  const content = Buffer.concat(parts.map(encode));
  return Buffer.concat([Buffer.from([tag]), lengthOctets(content.length), content]);
}

export function sequence(parts: DerPart[]): Buffer {
  return constructed(TAG_SEQUENCE, parts);
}

export function seq(children: Asn1Node[]): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, children);
}

export function set(children: Asn1Node[]): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.SET, true, children);
}

export function oid(dotted: string): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(dotted).getBytes());
}

export function nullValue(): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.NULL, false, '');
}

export function boolean(value: boolean): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.BOOLEAN, false, String.fromCharCode(value ? 0xff : 0x00));
}

/** A non-negative INTEGER from its big-endian magnitude, in minimal DER form. */
export function unsignedInteger(magnitude: Buffer): Asn1Node {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let bytes = magnitude.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return asn1.create(UNIVERSAL, asn1.Type.INTEGER, false, bytes.toString('binary'));
}

export function smallInteger(value: number): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(value).getBytes());
}

export function enumerated(value: number): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.ENUMERATED, false, asn1.integerToDer(value).getBytes());
}

export function octetString(bytes: Buffer): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));
}

export function bitString(bytes: Buffer, unusedBits = 0): Asn1Node {
  const content = String.fromCharCode(unusedBits) + bytes.toString('binary');
  return asn1.create(UNIVERSAL, asn1.Type.BITSTRING, false, content);
}

export function utf8String(text: string): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(text));
}

export function printableString(text: string): Asn1Node {
  return asn1.create(UNIVERSAL, asn1.Type.PRINTABLESTRING, false, text);
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds only. */
export function time(date: Date): Asn1Node {
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) {
    return asn1.create(UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date));
  }
  return asn1.create(UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

/** `[tag] IMPLICIT` primitive value, as used by GeneralName choices and key identifiers. */
export function contextPrimitive(tag: number, bytes: Buffer): Asn1Node {
  return asn1.create(CONTEXT, tag, false, bytes.toString('binary'));
}

export function contextExplicit(tag: number, child: Asn1Node): Asn1Node {
  return asn1.create(CONTEXT, tag, true, [child]);
}

/** Bytes of a forge primitive node's value. */
export function valueBytes(node: Asn1Node): Buffer {
  if (typeof node.value !== 'string') throw new Error('expected a primitive ASN.1 value');
  return Buffer.from(node.value, 'binary');
}

export function children(node: Asn1Node): Asn1Node[] {
  if (!Array.isArray(node.value)) throw new Error('expected a constructed ASN.1 value');
  return node.value;
}

// --- Reading with byte offsets, for slicing parts out of existing DER verbatim. ---

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the last content byte. */
  end: number;
}

/** Reads one DER tag-length-value at `offset`. Throws on BER-only forms, which a certificate may not use. */
export function readTlv(der: Buffer, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new Error('DER value truncated');
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('DER high tag numbers are not used in certificates');
  let length = der[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error('DER length form not allowed');
    if (contentStart + octets > limit) throw new Error('DER value truncated');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new Error('DER value truncated');
  return { tag, start: offset, contentStart, end };
}

/** The children of a constructed value. */
export function readChildren(der: Buffer, parent: Tlv): Tlv[] {
  if (!(parent.tag & 0x20)) throw new Error('DER value is not constructed');
  const out: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end;) {
    const child = readTlv(der, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** The whole encoding of a value (tag, length and content). */
export function rawOf(der: Buffer, tlv: Tlv): Buffer {
  return der.subarray(tlv.start, tlv.end);
}

export function contentOf(der: Buffer, tlv: Tlv): Buffer {
  return der.subarray(tlv.contentStart, tlv.end);
}

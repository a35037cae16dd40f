// Certificate serial numbers: random, positive, and written as hex one way everywhere.
import { randomBytes } from 'node:crypto';
import { CertificateInputError } from './errors.js';

/**
 * 16 random bytes with the top bits set to 01: the INTEGER is positive without a padding byte and
 * never starts with a zero byte, so it is always exactly 16 octets (126 random bits; RFC 5280 and
 * the CA/Browser Forum ask for at least 64).
 */
export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes;
}

/** Canonical hex: upper case, no separators, whole octets, no leading zero octets (as node:crypto prints it). */
export function canonicalSerialHex(hex: string): string {
  let digits = hex.replace(/[:\s]/g, '').toUpperCase();
  if (digits.length % 2) digits = `0${digits}`;
  while (digits.length > 2 && digits.startsWith('00')) digits = digits.slice(2);
  return digits;
}

/** The magnitude octets of a serial given as hex; RFC 5280 4.1.2.2 allows 1 to 20 octets, not zero. */
export function serialFromHex(hex: unknown, field: string): Buffer {
  if (typeof hex !== 'string' || !/^[0-9A-Fa-f:\s]+$/.test(hex)) {
    throw new CertificateInputError(field, `must be a hexadecimal serial number, e.g. "4F3A09"`);
  }
  const digits = canonicalSerialHex(hex);
  const bytes = Buffer.from(digits, 'hex');
  if (bytes.every((b) => b === 0)) throw new CertificateInputError(field, 'a serial number must not be zero');
  // The INTEGER is positive, so a leading byte >= 0x80 costs one more octet.
  if (bytes.length + (bytes[0]! & 0x80 ? 1 : 0) > 20) {
    throw new CertificateInputError(field, 'a serial number may have at most 20 octets');
  }
  return bytes;
}

export function serialHexOf(bytes: Buffer): string {
  return canonicalSerialHex(bytes.toString('hex'));
}

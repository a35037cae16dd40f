// Subject alternative names (RFC 5280 4.2.1.6): check what a user wrote, encode it, read it back.
import forge from 'node-forge';
import { children, contextPrimitive, decode, seq, valueBytes, type Asn1Node } from './asn1.js';
import { CertificateInputError, quote } from './errors.js';
import { formatIp, parseIp } from './ip.js';

export interface AltNames {
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
}

// GeneralName choice tags.
const RFC822_NAME = 1;
const DNS_NAME = 2;
const URI = 6;
const IP_ADDRESS = 7;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-cased DNS name without a trailing dot; a leading `*.` wildcard label is allowed. */
export function normalizeDnsName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new CertificateInputError(field, 'must be a non-empty DNS name');
  const name = value.trim().toLowerCase().replace(/\.$/, '');
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u007f]/.test(name)) {
    throw new CertificateInputError(
      field,
      `${quote(value)} is not ASCII; write internationalised names in punycode (xn--…)`,
    );
  }
  const labels = name.split('.');
  const checked = labels[0] === '*' && labels.length > 1 ? labels.slice(1) : labels;
  if (name.length > 253 || !checked.every((label) => LABEL.test(label))) {
    throw new CertificateInputError(
      field,
      `${quote(value)} is not a valid DNS name (labels of letters, digits and inner hyphens; "*" only as the whole first label)`,
    );
  }
  return name;
}

export function normalizeIpAddress(value: unknown, field: string): string {
  const octets = typeof value === 'string' ? parseIp(value.trim()) : undefined;
  if (!octets) throw new CertificateInputError(field, `${quote(value)} is not an IPv4 or IPv6 address`);
  return formatIp(octets);
}

function checkUri(value: unknown, field: string): string {
  let ok = typeof value === 'string' && /^[\x21-\x7e]+$/.test(value);
  if (ok) {
    try {
      new URL(value as string);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw new CertificateInputError(
      field,
      `${quote(value)} is not an absolute ASCII URI, e.g. spiffe://cluster.local/ns/demo`,
    );
  }
  return value as string;
}

function checkEmail(value: unknown, field: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  const at = text.lastIndexOf('@');
  const local = text.slice(0, at);
  if (at <= 0 || !/^[\x21-\x3f\x41-\x7e]+$/.test(local)) {
    throw new CertificateInputError(field, `${quote(value)} is not an ASCII e-mail address`);
  }
  return `${local}@${normalizeDnsName(text.slice(at + 1), field)}`;
}

/**
 * Checks and normalises every name; `prefix` is the path of the object holding the lists
 * (e.g. `spec.tls.certificates[alias=server].`), so messages read `...dnsNames[2]: ...`.
 */
export function normalizeAltNames(names: Partial<AltNames>, prefix = ''): AltNames {
  const each = <T>(list: unknown, key: keyof AltNames, check: (value: unknown, field: string) => T): T[] => {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new CertificateInputError(`${prefix}${key}`, 'must be a list of strings');
    return list.map((value, i) => check(value, `${prefix}${key}[${i}]`));
  };
  return {
    dnsNames: [...new Set(each(names.dnsNames, 'dnsNames', normalizeDnsName))],
    ipAddresses: [...new Set(each(names.ipAddresses, 'ipAddresses', normalizeIpAddress))],
    uris: [...new Set(each(names.uris, 'uris', checkUri))],
    emailAddresses: [...new Set(each(names.emailAddresses, 'emailAddresses', checkEmail))],
  };
}

export function hasAltNames(names: AltNames): boolean {
  return names.dnsNames.length + names.ipAddresses.length + names.uris.length + names.emailAddresses.length > 0;
}

/** `GeneralNames` for the subjectAltName extension; names must have been normalised. */
export function encodeGeneralNames(names: AltNames): Asn1Node {
  const ascii = (text: string) => Buffer.from(text, 'ascii');
  return seq([
    ...names.dnsNames.map((name) => contextPrimitive(DNS_NAME, ascii(name))),
    ...names.ipAddresses.map((ip) => contextPrimitive(IP_ADDRESS, parseIp(ip)!)),
    ...names.uris.map((uri) => contextPrimitive(URI, ascii(uri))),
    ...names.emailAddresses.map((email) => contextPrimitive(RFC822_NAME, ascii(email))),
  ]);
}

/** Reads the value of a subjectAltName extension; choices we do not use (otherName, dirName…) are skipped. */
export function decodeGeneralNames(extensionValue: Buffer): AltNames {
  const names: AltNames = { dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] };
  for (const name of children(decode(extensionValue))) {
    if (name.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC || name.constructed) continue;
    const bytes = valueBytes(name);
    if (name.type === DNS_NAME) names.dnsNames.push(bytes.toString('ascii'));
    else if (name.type === IP_ADDRESS) names.ipAddresses.push(formatIp(bytes));
    else if (name.type === URI) names.uris.push(bytes.toString('ascii'));
    else if (name.type === RFC822_NAME) names.emailAddresses.push(bytes.toString('ascii'));
  }
  return names;
}

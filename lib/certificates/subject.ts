// The X.500 subject Name of a certificate, from KubeDB's X509Subject fields plus a common name.
import { oid, printableString, seq, set, utf8String, type Asn1Node } from './asn1.js';
import { CertificateInputError, quote } from './errors.js';
import { OID } from './oids.js';

export interface SubjectInput {
  commonName: string;
  organizations?: string[];
  organizationalUnits?: string[];
  countries?: string[];
  localities?: string[];
  provinces?: string[];
  streetAddresses?: string[];
  postalCodes?: string[];
  serialNumber?: string;
}

type ListField = Exclude<keyof SubjectInput, 'commonName' | 'serialNumber'>;

// Most general first, one value per RDN, as most toolkits write it. Upper bounds from RFC 5280 A.1.
const LIST_ATTRIBUTES: { field: ListField; oid: string; maxLength: number }[] = [
  { field: 'countries', oid: OID.countryName, maxLength: 64 }, // exactly two letters, checked below
  { field: 'provinces', oid: OID.stateOrProvinceName, maxLength: 128 },
  { field: 'localities', oid: OID.localityName, maxLength: 128 },
  { field: 'streetAddresses', oid: OID.streetAddress, maxLength: 128 },
  { field: 'postalCodes', oid: OID.postalCode, maxLength: 40 },
  { field: 'organizations', oid: OID.organizationName, maxLength: 64 },
  { field: 'organizationalUnits', oid: OID.organizationalUnitName, maxLength: 64 },
];

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function attribute(type: string, value: Asn1Node): Asn1Node {
  return set([seq([oid(type), value])]);
}

function checkText(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new CertificateInputError(field, 'must be a non-empty string');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new CertificateInputError(field, 'must not contain control characters');
  }
  if ([...value].length > maxLength) {
    throw new CertificateInputError(field, `is longer than ${maxLength} characters`);
  }
  return value;
}

/**
 * Encodes the subject. Country and serialNumber are PrintableString as RFC 5280 requires; the rest
 * are UTF8String (RFC 5280 4.1.2.6). `field` prefixes messages, e.g. `spec.tls.certificates[alias=client].subject`.
 */
export function buildSubjectName(subject: SubjectInput, field = 'subject'): Asn1Node {
  const rdns: Asn1Node[] = [];
  for (const { field: name, oid: type, maxLength } of LIST_ATTRIBUTES) {
    const values = subject[name] ?? [];
    if (!Array.isArray(values)) throw new CertificateInputError(`${field}.${name}`, 'must be a list of strings');
    values.forEach((value, i) => {
      const path = `${field}.${name}[${i}]`;
      checkText(value, path, maxLength);
      if (name === 'countries') {
        if (!/^[A-Za-z]{2}$/.test(value)) {
          throw new CertificateInputError(path, `${quote(value)} is not a two-letter ISO 3166 country code, e.g. "DE"`);
        }
        rdns.push(attribute(type, printableString(value.toUpperCase())));
      } else {
        rdns.push(attribute(type, utf8String(value)));
      }
    });
  }
  rdns.push(attribute(OID.commonName, utf8String(checkText(subject.commonName, `${field}.commonName`, 64))));
  if (subject.serialNumber !== undefined) {
    const value = checkText(subject.serialNumber, `${field}.serialNumber`, 64);
    if (!PRINTABLE.test(value)) {
      throw new CertificateInputError(
        `${field}.serialNumber`,
        "may only contain letters, digits, spaces and ' ( ) + , - . / : = ?",
      );
    }
    rdns.push(attribute(OID.serialNumber, printableString(value)));
  }
  return seq(rdns);
}

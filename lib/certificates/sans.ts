// The names a PgBouncer's server certificate must carry so that `sslmode=verify-full` succeeds for
// every way a client can reach it: through the Service, through the governing Service, or at one
// pod's stable DNS name, in each of the short forms that the pod's DNS search path resolves.
import { CertificateInputError, quote } from './errors.js';
import { normalizeDnsName, normalizeIpAddress } from './general-names.js';

export interface ServerNamesInput {
  /** The PgBouncer's name; also its Service's name. */
  name: string;
  namespace: string;
  replicas: number;
  clusterDomain?: string;
  extraDnsNames?: string[];
  extraIpAddresses?: string[];
  /** Path of the certificate spec for messages about the extra names, e.g. `spec.tls.certificates[alias=server]`. */
  field?: string;
}

export interface ServerNames {
  dnsNames: string[];
  ipAddresses: string[];
}

/** `<host>`, `<host>.<ns>`, `<host>.<ns>.svc`, `<host>.<ns>.svc.<domain>`. */
function serviceForms(host: string, namespace: string, clusterDomain: string): string[] {
  return [host, `${host}.${namespace}`, `${host}.${namespace}.svc`, `${host}.${namespace}.svc.${clusterDomain}`];
}

function uniqueSorted(values: string[]): string[] {
  // Plain code-unit order: the same on every machine, unlike localeCompare.
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function serverCertificateNames(input: ServerNamesInput): ServerNames {
  const { name, namespace, replicas, clusterDomain = 'cluster.local' } = input;
  const prefix = input.field ? `${input.field}.` : '';
  if (!DNS_LABEL.test(name)) throw new CertificateInputError('metadata.name', `${quote(name)} is not a DNS label`);
  if (!DNS_LABEL.test(namespace))
    throw new CertificateInputError('metadata.namespace', `${quote(namespace)} is not a DNS label`);
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new CertificateInputError(
      'spec.replicas',
      `${typeof replicas === 'number' ? replicas : quote(replicas)} is not a non-negative whole number`,
    );
  }
  const domain = normalizeDnsName(clusterDomain, 'clusterDomain');
  const governing = `${name}-pods`;

  const dnsNames = [
    ...serviceForms(name, namespace, domain),
    ...serviceForms(governing, namespace, domain),
    ...Array.from({ length: replicas }, (_, i) =>
      serviceForms(`${name}-${i}.${governing}`, namespace, domain).slice(1),
    ).flat(),
    'localhost',
    ...(input.extraDnsNames ?? []).map((dns, i) => normalizeDnsName(dns, `${prefix}dnsNames[${i}]`)),
  ];
  const ipAddresses = [
    '127.0.0.1',
    '::1',
    ...(input.extraIpAddresses ?? []).map((ip, i) => normalizeIpAddress(ip, `${prefix}ipAddresses[${i}]`)),
  ];
  return { dnsNames: uniqueSorted(dnsNames), ipAddresses: uniqueSorted(ipAddresses) };
}

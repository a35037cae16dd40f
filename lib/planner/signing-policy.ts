// The signing policy (README "Signing policy"): what an issuer lets a request have signed. The
// pooler's own names (its Services, its pods, localhost, loopback) are always allowed; anything else
// — extra DNS names, wildcards, IP addresses, URIs, email addresses — only where the issuer's
// annotations allow it, and a ClusterIssuer signs only for the namespaces it lists. Default: deny.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { serverCertificateNames } from '../certificates/index.js';
import type { PgBouncerTLSSpec } from '../api/types.js';
import { fieldError, quote } from './field-errors.js';
import { replicasToName } from './certificates.js';
import type { ResolvedCertificate } from './resolve.js';
import type { CertificatePlan, FieldError, IssuerSummary, LiveState } from './types.js';

export const POLICY_ANNOTATIONS = {
  /** ClusterIssuer only: comma-separated namespaces that may use it, or "*" for every namespace. */
  namespaces: 'pgbtls.dev/allowed-namespaces',
  /** DNS names at or under these domains, e.g. "example.com,db.internal". */
  dnsSuffixes: 'pgbtls.dev/allowed-dns-suffixes',
  /** "true": wildcard DNS names (*.x) under an allowed suffix. */
  wildcards: 'pgbtls.dev/allow-wildcards',
  /** IP addresses in these CIDR ranges, e.g. "10.0.0.0/8,fd00::/8". */
  ipRanges: 'pgbtls.dev/allowed-ip-ranges',
  /** URIs starting with one of these, e.g. "spiffe://cluster.local/ns/demo/". */
  uriPrefixes: 'pgbtls.dev/allowed-uri-prefixes',
  /** Email addresses at or under these domains. */
  emailDomains: 'pgbtls.dev/allowed-email-domains',
} as const;

/** What the issuer's annotations allow (plain data: it travels in the plan). */
export interface SigningPolicy {
  namespaces: string[];
  dnsSuffixes: string[];
  wildcards: boolean;
  ipRanges: string[];
  uriPrefixes: string[];
  emailDomains: string[];
}

const list = (value: string | undefined, lower = true) =>
  (value ?? '')
    .split(',')
    .map((v) => (lower ? v.trim().toLowerCase() : v.trim()))
    .filter(Boolean);

export function parseSigningPolicy(annotations: Record<string, string> | undefined): SigningPolicy {
  const a = annotations ?? {};
  return {
    namespaces: list(a[POLICY_ANNOTATIONS.namespaces]),
    dnsSuffixes: list(a[POLICY_ANNOTATIONS.dnsSuffixes]).map((s) => s.replace(/^\*?\./, '').replace(/\.$/, '')),
    wildcards: a[POLICY_ANNOTATIONS.wildcards] === 'true',
    ipRanges: list(a[POLICY_ANNOTATIONS.ipRanges]),
    uriPrefixes: list(a[POLICY_ANNOTATIONS.uriPrefixes], false),
    emailDomains: list(a[POLICY_ANNOTATIONS.emailDomains]).map((s) => s.replace(/^@/, '')),
  };
}

const under = (name: string, suffix: string) => name === suffix || name.endsWith(`.${suffix}`);

/** Why this DNS name is not allowed and which annotation would allow it, or undefined when it is allowed. */
function dnsProblem(name: string, p: SigningPolicy): { why: string; annotation: string; example: string } | undefined {
  const wildcard = name.startsWith('*.');
  const base = wildcard ? name.slice(2) : name;
  if (!p.dnsSuffixes.some((s) => under(base, s))) {
    return {
      why: `is not under a DNS suffix the issuer allows (${p.dnsSuffixes.join(',') || 'none'})`,
      annotation: POLICY_ANNOTATIONS.dnsSuffixes,
      example: `"${base}"`,
    };
  }
  if (wildcard && !p.wildcards) {
    return { why: 'is a wildcard', annotation: POLICY_ANNOTATIONS.wildcards, example: '"true"' };
  }
  return undefined;
}

function ipAllowed(ip: string, p: SigningPolicy): boolean {
  const blocks = new BlockList();
  for (const range of p.ipRanges) {
    const [address, bits] = range.split('/');
    const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!type) continue; // an unreadable range allows nothing
    const prefix = bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv4' ? 32 : 128)) continue;
    blocks.addSubnet(address, prefix, type);
  }
  return blocks.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
}

export function describeIssuer(issuer: Pick<IssuerSummary, 'kind' | 'name'>, namespace: string): string {
  return issuer.kind === 'ClusterIssuer'
    ? `ClusterIssuer ${quote(issuer.name)}`
    : `Issuer ${quote(issuer.name)} in namespace ${quote(namespace)}`;
}

/** A ClusterIssuer signs for a namespace only when it lists it (or "*"). */
export function clusterIssuerAllows(issuer: IssuerSummary, namespace: string): boolean {
  const allowed = issuer.policy?.namespaces ?? [];
  return allowed.includes('*') || allowed.includes(namespace);
}

export function clusterIssuerFix(name: string, namespace: string): string {
  return `a ClusterIssuer signs only for the namespaces it allows: its owner can run kubectl annotate clusterissuer ${name} ${POLICY_ANNOTATIONS.namespaces}=${namespace} (comma-separated, or * for every namespace), or name an Issuer in this namespace`;
}

const MAX_LISTED = 5;

type AltKind = 'dnsNames' | 'ipAddresses' | 'uris' | 'emailAddresses';

/**
 * Errors for every name in a planned certificate that is not the pooler's own and that its issuer
 * does not allow. The field is the request's list entry when the request gave the name, else the
 * PgBouncer's (its spec.tls supplied it).
 */
export function checkSigningPolicy(
  live: LiveState,
  tls: PgBouncerTLSSpec,
  pb: { name: string; namespace: string; replicas?: number },
  certificates: CertificatePlan[],
  resolved: ResolvedCertificate[],
): FieldError[] {
  const own = serverCertificateNames({
    name: pb.name,
    namespace: pb.namespace,
    replicas: replicasToName(live, pb.replicas),
    clusterDomain: live.clusterDomain,
  });
  const ownNames = new Set([...own.dnsNames, ...own.ipAddresses]);
  const errors: FieldError[] = [];
  for (const c of certificates) {
    const before = errors.length;
    const r = resolved.find((x) => x.alias === c.alias);
    const policy = c.issuer.policy ?? parseSigningPolicy(undefined);
    const who = describeIssuer(c.issuer, pb.namespace);
    const fieldOf = (kind: AltKind, value: string) => {
      const i = r?.requestIndex;
      const entries = (i !== undefined ? tls.certificates?.[i]?.[kind] : undefined) ?? [];
      const j = entries.findIndex(
        (v) => typeof v === 'string' && v.toLowerCase().replace(/\.$/, '') === value.toLowerCase(),
      );
      return j >= 0 ? `spec.tls.certificates[${i}].${kind}[${j}]` : `spec.tls.certificates[alias=${c.alias}].${kind}`;
    };
    const deny = (kind: AltKind, value: string, why: string, annotation: string, example: string) =>
      errors.push(
        fieldError(
          fieldOf(kind, value),
          `${quote(value)} ${why}: ${who} does not allow it in the ${c.alias} certificate`,
          `drop it (the pooler's own Service and pod names are always included), or have the issuer's owner allow it with the annotation ${annotation} (e.g. ${example})`,
        ),
      );
    for (const name of c.dnsNames) {
      if (ownNames.has(name)) continue;
      const problem = dnsProblem(name, policy);
      if (problem) deny('dnsNames', name, problem.why, problem.annotation, problem.example);
    }
    for (const ip of c.ipAddresses) {
      if (ownNames.has(ip) || ipAllowed(ip, policy)) continue;
      deny(
        'ipAddresses',
        ip,
        'is outside the IP ranges the issuer allows',
        POLICY_ANNOTATIONS.ipRanges,
        `"${ip}/${isIPv4(ip) ? 32 : 128}"`,
      );
    }
    for (const uri of c.uris) {
      if (policy.uriPrefixes.some((p) => uri.startsWith(p))) continue;
      deny(
        'uris',
        uri,
        'does not start with a URI prefix the issuer allows',
        POLICY_ANNOTATIONS.uriPrefixes,
        `"${uri}"`,
      );
    }
    for (const email of c.emailAddresses) {
      const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
      if (policy.emailDomains.some((d) => under(domain, d))) continue;
      deny(
        'emailAddresses',
        email,
        'is not at an email domain the issuer allows',
        POLICY_ANNOTATIONS.emailDomains,
        `"${domain}"`,
      );
    }
    // Thousands of refused names make one unreadable message: the first few say what to fix.
    const refused = errors.length - before;
    if (refused > MAX_LISTED) {
      errors.splice(before + MAX_LISTED, refused - MAX_LISTED, {
        field: `spec.tls.certificates[alias=${c.alias}]`,
        message: `spec.tls.certificates[alias=${c.alias}]: and ${refused - MAX_LISTED} more names ${who} does not allow; fix them the same way`,
      });
    }
  }
  return errors;
}

// The certificates a plan mints: PgBouncer's server certificate (the names clients reach it by) and
// the client certificate it presents as `pgbouncer` (KubeDB's common name), each into a staging
// Secret first. Values come from the merged certificate spec (resolve.ts), defaults from
// cert-manager: 2160h, RSA 2048, PKCS1.
import { certificateDurationMs, resolveKeySpec, serverCertificateNames } from '../certificates/index.js';
import { stagingSecretName } from '../api/names.js';
import { normalizeAltNames } from '../certificates/general-names.js';
import type { PgBouncerInput, ResolvedCertificate } from './resolve.js';
import { issuerKey, type CertificatePlan, type LiveState } from './types.js';

/** KubeDB's common name for the client certificate: PgBouncer's admin user. */
export const CLIENT_COMMON_NAME = 'pgbouncer';

/**
 * How many pods the server certificate names. The spec's replicas, or more when pods with higher
 * ordinals still run (a scale-down in progress): every pod that serves must be named.
 */
export function replicasToName(live: LiveState, replicas: number | undefined): number {
  return Math.max(replicas ?? 1, ...live.pods.map((p) => p.ordinal + 1));
}

/** Throws CertificateInputError for values the validation did not see (the PgBouncer's stored spec). */
export function planCertificate(live: LiveState, pb: PgBouncerInput, c: ResolvedCertificate): CertificatePlan {
  const field = `spec.tls.certificates[alias=${c.alias}]`;
  const { spec } = c;
  const alt = normalizeAltNames(
    { dnsNames: spec.dnsNames, ipAddresses: spec.ipAddresses, uris: spec.uris, emailAddresses: spec.emailAddresses },
    `${field}.`,
  );
  const names =
    c.alias === 'server'
      ? serverCertificateNames({
          name: pb.name,
          namespace: pb.namespace,
          replicas: replicasToName(live, pb.spec.replicas),
          clusterDomain: live.clusterDomain,
          extraDnsNames: alt.dnsNames,
          extraIpAddresses: alt.ipAddresses,
          field,
        })
      : { dnsNames: alt.dnsNames, ipAddresses: alt.ipAddresses };
  const issuer = live.issuers[issuerKey(c.issuerRef)];
  if (!issuer) throw new Error(`planner: ${issuerKey(c.issuerRef)} was not validated`); // a bug, not input
  return {
    alias: c.alias,
    usage: c.alias,
    secretName: c.secretName,
    stagingSecretName: stagingSecretName(c.secretName, live.request.ref.uid),
    issuer,
    commonName: c.alias === 'server' ? pb.name : CLIENT_COMMON_NAME,
    ...(spec.subject ? { subject: spec.subject } : {}),
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    uris: alt.uris,
    emailAddresses: alt.emailAddresses,
    durationMs: certificateDurationMs(spec.duration, `${field}.duration`),
    privateKey: resolveKeySpec(spec.privateKey ?? {}, `${field}.privateKey`),
  };
}

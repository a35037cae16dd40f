// The TLS configuration a request leads to, and for each certificate we mint the spec, issuer and
// Secret names it ends up with. Validation and planning both read this, so the issuer validation
// checked is the issuer the plan mints from, and the fields it checked are the fields minted.
import type {
  CertificateSpec,
  IssuerRef,
  PgBouncer,
  PgBouncerSpec,
  PgBouncerTLSSpec,
  TLSConfig,
} from '../api/types.js';
import { certificateSecretName } from '../api/names.js';
import { intentOf, sameIssuer, tlsEnabled } from './intent.js';
import type { Intent } from './types.js';

/** The certificates PgBouncer itself uses; metrics-exporter is accepted in specs but not issued. */
export const MINTED_ALIASES = ['server', 'client'] as const;
export type MintedAlias = (typeof MINTED_ALIASES)[number];

export interface ResolvedCertificate {
  alias: MintedAlias;
  /** The PgBouncer's entry for this alias with the request's entry laid over it, field by field. */
  spec: CertificateSpec;
  /** Index of the request's entry in spec.tls.certificates, when it has one. */
  requestIndex?: number;
  issuerRef: IssuerRef;
  /** Where issuerRef comes from: a field of the request, or the PgBouncer's current spec.tls. */
  issuerFrom: { field: string; pgbouncer: boolean };
  secretName: string;
  /** The Secret serving this alias today (differs from secretName when the request renames it). */
  currentSecretName: string;
  /** The issuer of the certificate served today, when TLS is on. */
  currentIssuerRef?: IssuerRef;
}

export interface Resolution {
  intent: Intent;
  tlsBefore: boolean;
  tlsAfter: boolean;
  /** The PgBouncer's spec.tls after the change; null: TLS off. */
  next: TLSConfig | null;
  /** server and client, when TLS is on after the change. */
  certificates: ResolvedCertificate[];
}

export interface PgBouncerInput {
  name: string;
  namespace: string;
  spec: PgBouncerSpec;
}

/** A PgBouncer object, for the helpers shared with the provisioner that take one. */
export function pgbouncerObject(pb: PgBouncerInput, spec: PgBouncerSpec = pb.spec): PgBouncer {
  return { apiVersion: 'kubedb.com/v1', kind: 'PgBouncer', metadata: { name: pb.name, namespace: pb.namespace }, spec };
}

/** A copy without undefined fields: plans are compared deep-equal and travel as JSON. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function requestIndexOf(request: PgBouncerTLSSpec, alias: string): number | undefined {
  const i = (request.certificates ?? []).findIndex((c) => c.alias === alias);
  return i < 0 ? undefined : i;
}

/**
 * The PgBouncer's certificate entries with the request's laid over them (request fields win, the
 * PgBouncer's order first, new aliases after in the request's order). When the request moves to
 * another issuer, the PgBouncer's per-certificate issuerRefs go: the new issuer applies to every
 * certificate the request does not explicitly give an issuer of its own.
 */
export function mergeCertificateSpecs(current: TLSConfig | undefined, request: PgBouncerTLSSpec): CertificateSpec[] {
  const newIssuer = request.issuerRef !== undefined && !sameIssuer(request.issuerRef, current?.issuerRef);
  const requested = (alias: string) => request.certificates?.find((c) => c.alias === alias);
  const merged: CertificateSpec[] = [];
  for (const entry of current?.certificates ?? []) {
    if (merged.some((m) => m.alias === entry.alias)) continue;
    const base = newIssuer ? { ...entry, issuerRef: undefined } : entry;
    merged.push(defined({ ...base, ...defined(requested(entry.alias) ?? { alias: entry.alias }) }));
  }
  for (const entry of request.certificates ?? []) {
    if (!merged.some((m) => m.alias === entry.alias)) merged.push(defined({ ...entry }));
  }
  return merged;
}

/** The issuer of the certificate served today for `alias` (its own issuerRef, else the top-level one). */
export function currentIssuerRef(current: TLSConfig | undefined, alias: string): IssuerRef | undefined {
  if (!tlsEnabled(current)) return undefined;
  return current?.certificates?.find((c) => c.alias === alias)?.issuerRef ?? current?.issuerRef;
}

export function resolve(pb: PgBouncerInput, request: PgBouncerTLSSpec): Resolution {
  const current = pb.spec.tls;
  const intent = intentOf(request, current);
  const tlsBefore = tlsEnabled(current);
  const tlsAfter = intent !== 'remove' && (tlsBefore || request.issuerRef !== undefined);
  if (!tlsAfter) return { intent, tlsBefore, tlsAfter, next: null, certificates: [] };

  const merged = mergeCertificateSpecs(current, request);
  const next: TLSConfig = defined({
    issuerRef: request.issuerRef ?? current?.issuerRef,
    certificates: merged.length ? merged : undefined,
  });
  const before = pgbouncerObject(pb);
  const after = pgbouncerObject(pb, { ...pb.spec, tls: next });
  const certificates = MINTED_ALIASES.map((alias): ResolvedCertificate => {
    const spec = merged.find((c) => c.alias === alias) ?? { alias };
    const requestIndex = requestIndexOf(request, alias);
    const ownIssuer = requestIndex !== undefined ? request.certificates?.[requestIndex]?.issuerRef : undefined;
    // A problem with an issuer the PgBouncer already names is fixed by naming another in the request.
    const issuerFrom = ownIssuer
      ? { field: `spec.tls.certificates[${requestIndex}].issuerRef`, pgbouncer: false }
      : { field: 'spec.tls.issuerRef', pgbouncer: spec.issuerRef !== undefined || request.issuerRef === undefined };
    return defined({
      alias,
      spec,
      requestIndex,
      issuerRef: (spec.issuerRef ?? next.issuerRef)!,
      issuerFrom,
      secretName: certificateSecretName(after, alias),
      currentSecretName: certificateSecretName(before, alias),
      currentIssuerRef: currentIssuerRef(current, alias),
    });
  });
  return { intent, tlsBefore, tlsAfter, next, certificates };
}

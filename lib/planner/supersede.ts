// KubeDB's skipper, made safe: an older Pending request is Skipped only when a newer one would do
// exactly the same thing. Pure, so the rule is a table of cases (test/unit/planner/supersede.test.ts);
// the turn activity gathers the requests and acts on the answer.
import type { PgBouncerOpsRequest, PgBouncerTLSSpec } from '../api/types.js';

/** What a request asks for, from its own fields: with the same PgBouncer, equal kinds mean equal intents. */
function intentKind(tls: PgBouncerTLSSpec | undefined): string {
  if (!tls) return 'none';
  if (tls.remove) return 'remove';
  if (tls.rotateCertificates) return 'rotate';
  if (tls.issuerRef) return `issuer:${tls.issuerRef.kind}/${tls.issuerRef.name}`;
  if (tls.certificates?.length) return 'certificates';
  return 'settings';
}

/** JSON with sorted keys and no undefined values, certificates ordered by alias: equal specs, equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The request's whole TLS ask: intent, issuer, certificate spec, sslMode, clientAuthMode. */
export function tlsAsk(tls: PgBouncerTLSSpec | undefined): string {
  const certificates = [...(tls?.certificates ?? [])].sort((a, b) =>
    String(a.alias) < String(b.alias) ? -1 : String(a.alias) > String(b.alias) ? 1 : 0,
  );
  return `${intentKind(tls)} ${canonical({ ...tls, certificates: certificates.length ? certificates : undefined })}`;
}

const created = (r: PgBouncerOpsRequest) => Date.parse(r.metadata.creationTimestamp as unknown as string);

/** Newer in KubeDB's order: creationTimestamp (one-second resolution), then the smaller name on a tie. */
export function isNewer(other: PgBouncerOpsRequest, me: PgBouncerOpsRequest): boolean {
  const to = created(other);
  const tm = created(me);
  return to !== tm ? to > tm : other.metadata.name!.localeCompare(me.metadata.name!) < 0;
}

/**
 * The request that supersedes `me`, if any: `me` is Pending, and a newer request for the same
 * PgBouncer has the same type and the same TLS ask, and has passed validation (its workflow marks
 * it Pending only then; an empty phase means not validated yet, and it may still fail).
 */
export function supersedingRequest(
  me: PgBouncerOpsRequest,
  others: PgBouncerOpsRequest[],
): PgBouncerOpsRequest | undefined {
  if ((me.status?.phase ?? 'Pending') !== 'Pending') return undefined;
  const ask = tlsAsk(me.spec.tls);
  const newer = others
    .filter(
      (r) =>
        r.metadata.uid !== me.metadata.uid &&
        r.spec.databaseRef?.name === me.spec.databaseRef?.name &&
        r.spec.type === me.spec.type &&
        r.status?.phase === 'Pending' &&
        tlsAsk(r.spec.tls) === ask &&
        isNewer(r, me),
    )
    .sort((a, b) => (isNewer(a, b) ? 1 : isNewer(b, a) ? -1 : 0));
  return newer[newer.length - 1];
}

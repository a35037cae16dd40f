// A small builder of LiveStates for the planner's table tests: one PgBouncer `pb` in `demo` with
// three pods and two CA issuers, changed by whatever a case says.
import type {
  IssuerRef,
  PgBouncerOpsRequest,
  PgBouncerSpec,
  PgBouncerTLSSpec,
  TLSConfig,
} from '../../../lib/api/types.js';
import { planReconfigureTLS, type PlanOptions } from '../../../lib/planner/plan.js';
import type {
  CertificateSummary,
  FieldError,
  IssuerSummary,
  LiveState,
  Plan,
  PodSummary,
} from '../../../lib/planner/types.js';

export const NOW = '2026-11-28T12:00:00.000Z';
export const REQUEST_UID = 'abcdef12-3456-7890-abcd-ef1234567890';
export const DAY_MS = 86_400_000;

export const ref = (name: string, kind: IssuerRef['kind'] = 'Issuer'): IssuerRef => ({
  apiGroup: 'cert-manager.io',
  kind,
  name,
});

export function issuer(
  name: string,
  extra: Partial<IssuerSummary> = {},
  kind: IssuerSummary['kind'] = 'Issuer',
): IssuerSummary {
  return {
    kind,
    name,
    caSecretNamespace: kind === 'Issuer' ? 'demo' : 'cert-manager',
    caSecretName: `${name}-ca`,
    caFingerprintSha256: `FP:${name}`,
    caNotAfter: '2036-01-01T00:00:00.000Z',
    // What the table cases' extra names need; signing-policy tests give their own.
    policy: {
      namespaces: kind === 'ClusterIssuer' ? ['demo'] : [],
      dnsSuffixes: ['example.com'],
      wildcards: false,
      ipRanges: ['10.0.0.0/8', 'fd00::/8'],
      uriPrefixes: ['spiffe://cluster.local/'],
      emailDomains: ['example.com'],
    },
    ...extra,
  };
}

/** The PgBouncer's spec.tls with TLS on from `issuerName`. */
export const tlsFrom = (issuerName = 'ca-one', extra: Partial<TLSConfig> = {}): Partial<PgBouncerSpec> => ({
  tls: { issuerRef: ref(issuerName), ...extra },
});

/** Server and client certificates as served today, signed by `issuerName`'s CA. */
export function served(issuerName = 'ca-one', caFingerprint = `FP:${issuerName}`): LiveState['certificates'] {
  const cert = (alias: 'server' | 'client', serialHex: string): CertificateSummary => ({
    alias,
    secretName: `pb-${alias}-cert`,
    serialHex,
    fingerprintSha256: `CERT:${alias}`,
    notAfter: '2027-01-01T00:00:00.000Z',
    issuerFingerprintSha256: caFingerprint,
    dnsNames: alias === 'server' ? ['pb'] : [],
    ipAddresses: [],
  });
  return { server: cert('server', '0A01'), client: cert('client', '0B02') };
}

export const pods = (n: number): PodSummary[] =>
  Array.from({ length: n }, (_, i) => ({ name: `pb-${i}`, uid: `pod-uid-${i}`, ordinal: i, ready: true }));

export interface Scenario {
  /** The request's spec.tls (undefined: leave it out). */
  tls?: PgBouncerTLSSpec;
  /** Other fields of the request's spec (type, apply, timeout, maxRetries, databaseRef). */
  request?: Partial<PgBouncerOpsRequest['spec']>;
  /** Fields of the PgBouncer's spec; null: no such PgBouncer. */
  pb?: Partial<PgBouncerSpec> | null;
  phase?: string;
  paused?: boolean;
  /** Replaces the default issuers (ca-one, ca-two). */
  issuers?: IssuerSummary[];
  certificates?: LiveState['certificates'];
  pods?: PodSummary[];
  clusterDomain?: string;
  /** The PgBouncer's name (and the request's databaseRef.name); default pb. */
  pbName?: string;
  /** The request's pgbtls.dev/* annotations. */
  annotations?: Record<string, string>;
}

export function liveState(s: Scenario = {}): LiveState {
  const issuers = s.issuers ?? [issuer('ca-one'), issuer('ca-two')];
  const spec: PgBouncerOpsRequest['spec'] = {
    type: 'ReconfigureTLS',
    databaseRef: { name: s.pbName ?? 'pb' },
    ...(s.tls ? { tls: s.tls } : {}),
    ...s.request,
  };
  return {
    now: NOW,
    clusterDomain: s.clusterDomain ?? 'cluster.local',
    request: {
      ref: { namespace: 'demo', name: 'req', uid: REQUEST_UID },
      generation: 1,
      creationTimestamp: '2026-11-28T11:59:00Z',
      ...(s.annotations ? { annotations: s.annotations } : {}),
      spec,
    },
    ...(s.pb === null
      ? {}
      : {
          pgbouncer: {
            name: s.pbName ?? 'pb',
            uid: 'pb-uid',
            generation: 4,
            spec: { replicas: 3, database: { databaseName: 'app', databaseRef: { name: 'pg' } }, ...s.pb },
            phase: s.phase ?? 'Ready',
            paused: s.paused ?? false,
          },
        }),
    issuers: Object.fromEntries(issuers.map((i) => [`${i.kind}/${i.name}`, i])),
    certificates: s.certificates ?? {},
    pods: s.pods ?? pods(3),
  };
}

export function planOf(s: Scenario, options: PlanOptions = {}): Plan {
  const result = planReconfigureTLS(liveState(s), options);
  if (!result.ok) throw new Error(`expected a plan, got errors:\n${result.errors.map((e) => e.message).join('\n')}`);
  return result.plan;
}

export function errorsOf(s: Scenario): FieldError[] {
  const result = planReconfigureTLS(liveState(s));
  if (result.ok) throw new Error(`expected errors, got a ${result.plan.intent} plan`);
  return result.errors;
}

/** A PgBouncer with TLS from ca-one and its two certificates served. */
export const withTls = (extra: Partial<PgBouncerSpec> = {}): Pick<Scenario, 'pb' | 'certificates'> => ({
  pb: { ...tlsFrom('ca-one'), ...extra },
  certificates: served('ca-one'),
});

// The contract between gathering (activities read the cluster), planning (a pure function) and
// executing (the workflow). Everything here may enter a workflow history: no key material, only
// names, serials, fingerprints and dates.
import type {
  CertificateAlias,
  ClientAuthMode,
  IssuerRef,
  PgBouncerOpsRequest,
  PgBouncerSpec,
  SslMode,
  X509Subject,
} from '../api/types.js';
import type { SecretOwnership } from '../api/ownership.js';
import type { SigningPolicy } from './signing-policy.js';

export interface OpsRequestRef {
  namespace: string;
  name: string;
  uid: string;
}

/** The ref of a request object read from (or returned by) the API server. */
export const opsRequestRef = (r: PgBouncerOpsRequest): OpsRequestRef => ({
  namespace: r.metadata.namespace!,
  name: r.metadata.name!,
  uid: r.metadata.uid!,
});

/** A certificate as it is stored today in a PgBouncer's TLS Secret. */
export interface CertificateSummary {
  alias: CertificateAlias;
  secretName: string;
  serialHex: string;
  fingerprintSha256: string;
  notAfter: string;
  /** Fingerprint of the CA certificate that signed it, when that CA is known (ca.crt of the Secret). */
  issuerFingerprintSha256?: string;
  dnsNames: string[];
  ipAddresses: string[];
}

/** An Issuer or ClusterIssuer and the state of its CA, as far as planning needs it. */
export interface IssuerSummary {
  kind: 'Issuer' | 'ClusterIssuer';
  name: string;
  /** Where its CA Secret lives (the Issuer's namespace, or the cluster resource namespace). */
  caSecretNamespace: string;
  caSecretName?: string;
  caFingerprintSha256?: string;
  caNotAfter?: string;
  /** When the CA's validity began (the renewal policy measures the CA's own margin from it). */
  caNotBefore?: string;
  /** False when the CA's keyUsage lacks cRLSign: it signs certificates, but keeps no CRL. */
  canSignCrls?: boolean;
  /** Set when `<caSecretName>-crl` exists but is not ours: we never overwrite it, so no CRL is kept. */
  foreignCrlSecret?: string;
  /** Why it cannot sign, if it cannot: not found, not a CA issuer, CA Secret missing or broken. */
  problem?: string;
  /** What its annotations allow beyond the pooler's own names (signing-policy.ts); absent: nothing. */
  policy?: SigningPolicy;
}

export interface PodSummary {
  name: string;
  uid: string;
  ordinal: number;
  ready: boolean;
}

export interface LiveState {
  now: string;
  clusterDomain: string;
  request: {
    ref: OpsRequestRef;
    generation: number;
    creationTimestamp: string;
    /** Only ours (pgbtls.dev/*): e.g. FORCE_RESTART_ANNOTATION. */
    annotations?: Record<string, string>;
    spec: PgBouncerOpsRequest['spec'];
  };
  /** Undefined when spec.databaseRef names no PgBouncer. */
  pgbouncer?: {
    name: string;
    uid: string;
    generation: number;
    spec: PgBouncerSpec;
    phase?: string;
    paused: boolean;
    /** Changes with every write to the PgBouncer (a request's pause and resume among them). */
    resourceVersion?: string;
  };
  /** Keyed by issuerKey(ref): every issuer the request or the PgBouncer refers to. */
  issuers: Record<string, IssuerSummary>;
  /** The certificates the PgBouncer serves today, by alias (absent: no such Secret). */
  certificates: Partial<Record<CertificateAlias, CertificateSummary>>;
  pods: PodSummary[];
  /**
   * Who made the Secrets this request may write or delete, by name in the request's namespace
   * (lib/api/ownership.ts): certificate, staging and snapshot Secrets. Names not listed were not
   * gathered and count as absent; the activities check again before each write.
   */
  secrets?: Record<string, SecretOwnership>;
  /** The same for the CRL Secrets next to the issuers' CAs, by `<namespace>/<name>`. */
  crlSecrets?: Record<string, SecretOwnership>;
}

export const issuerKey = (ref: Pick<IssuerRef, 'kind' | 'name'>) => `${ref.kind}/${ref.name}`;

export type Intent = 'add' | 'rotate' | 'change-issuer' | 'remove' | 'reissue' | 'update-settings';

export interface KeySpec {
  algorithm: 'RSA' | 'ECDSA';
  size: number;
  encoding: 'PKCS1' | 'PKCS8';
}

/** One certificate to mint into a staging Secret, then swap into its live Secret. */
export interface CertificatePlan {
  alias: 'server' | 'client';
  usage: 'server' | 'client';
  secretName: string;
  stagingSecretName: string;
  issuer: IssuerSummary;
  commonName: string;
  subject?: X509Subject;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  durationMs: number;
  privateKey: KeySpec;
}

export interface PodPlan {
  name: string;
  uid: string;
  ordinal: number;
  /** reload: only certificate contents change under the same CA; restart: anything else. */
  method: 'restart' | 'reload';
}

export interface Plan {
  intent: Intent;
  pgbouncer: { namespace: string; name: string; uid: string };
  /** The PgBouncer spec fields after the change (tls: null removes TLS). */
  newSpec: { tls: PgBouncerSpec['tls'] | null; sslMode: SslMode; authType?: ClientAuthMode };
  tlsBefore: boolean;
  tlsAfter: boolean;
  certificates: CertificatePlan[];
  /** Certificates whose serials go on their CA's revocation list once the change is done. */
  revoke: { alias: CertificateAlias; serialHex: string; issuer: IssuerSummary }[];
  /** Secrets deleted with their keys after removal. */
  deleteSecrets: string[];
  /** During the roll ca.crt carries old and new CA (issuer change), so both sides trust each other. */
  caBundleDuringRoll: 'new' | 'old+new';
  pods: PodPlan[];
  warnings: string[];
  /** spec.timeout in ms: the deadline of each step (0: none). */
  stepTimeoutMs: number;
  /** spec.maxRetries: how often a failed step is tried again before the request fails. */
  maxRetries: number;
  /** How long the drain before each restart waits for the pod's sessions (absent in plans made before drains). */
  drainBoundMs?: number;
}

export interface FieldError {
  field: string;
  message: string;
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; errors: FieldError[] };

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

export interface OpsRequestRef {
  namespace: string;
  name: string;
  uid: string;
}

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
  /** False when the CA's keyUsage lacks cRLSign: it signs certificates, but keeps no CRL. */
  canSignCrls?: boolean;
  /** Set when `<caSecretName>-crl` exists but is not ours: we never overwrite it, so no CRL is kept. */
  foreignCrlSecret?: string;
  /** Why it cannot sign, if it cannot: not found, not a CA issuer, CA Secret missing or broken. */
  problem?: string;
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
  };
  /** Keyed by issuerKey(ref): every issuer the request or the PgBouncer refers to. */
  issuers: Record<string, IssuerSummary>;
  /** The certificates the PgBouncer serves today, by alias (absent: no such Secret). */
  certificates: Partial<Record<CertificateAlias, CertificateSummary>>;
  pods: PodSummary[];
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
}

export interface FieldError {
  field: string;
  message: string;
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; errors: FieldError[] };

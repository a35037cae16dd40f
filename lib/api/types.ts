// The custom resources this system reads and writes, with KubeDB's and cert-manager's field names.
// The CRDs in crds/ are the schema the API server enforces; these types mirror them for the code.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export const KUBEDB_GROUP = 'kubedb.com';
export const OPS_GROUP = 'ops.kubedb.com';
export const CERT_MANAGER_GROUP = 'cert-manager.io';
export const APPCATALOG_GROUP = 'appcatalog.appscode.com';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
export type ClientAuthMode = 'md5' | 'scram-sha-256';
export type CertificateAlias = 'server' | 'client' | 'metrics-exporter';

export interface IssuerRef {
  apiGroup?: 'cert-manager.io';
  kind: 'Issuer' | 'ClusterIssuer';
  name: string;
}

export interface X509Subject {
  organizations?: string[];
  countries?: string[];
  organizationalUnits?: string[];
  localities?: string[];
  provinces?: string[];
  streetAddresses?: string[];
  postalCodes?: string[];
  serialNumber?: string;
}

export interface CertificateSpec {
  alias: CertificateAlias;
  issuerRef?: IssuerRef;
  secretName?: string;
  subject?: X509Subject;
  duration?: string;
  renewBefore?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  emailAddresses?: string[];
  privateKey?: {
    encoding?: 'PKCS1' | 'PKCS8';
    // Our extension (KubeDB has no such field): which key to generate.
    algorithm?: 'RSA' | 'ECDSA';
    size?: number;
  };
}

export interface TLSConfig {
  issuerRef?: IssuerRef;
  certificates?: CertificateSpec[];
}

/**
 * A status condition as the CRDs define it (metav1.Condition's fields; only type and status are
 * required, as in KubeDB's conditions). Custom objects arrive as plain JSON, so times are RFC 3339
 * strings, not the Date of client-node's V1Condition class.
 */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** KubeDB fields the CRDs accept so KubeDB manifests load, and this project ignores. */
type Unused = Record<string, unknown>;

export interface PgBouncerSpec {
  version?: string;
  replicas?: number;
  database: {
    syncUsers?: boolean;
    databaseName: string;
    databaseRef: { name: string; namespace?: string };
  };
  connectionPool?: {
    port?: number;
    poolMode?: 'session' | 'transaction' | 'statement';
    maxClientConnections?: number;
    defaultPoolSize?: number;
    minPoolSize?: number;
    reservePoolSize?: number;
    reservePoolTimeoutSeconds?: number;
    maxDBConnections?: number;
    maxUserConnections?: number;
    statsPeriodSeconds?: number;
    authType?: ClientAuthMode;
    ignoreStartupParameters?: string;
  };
  sslMode?: SslMode;
  tls?: TLSConfig;
  deletionPolicy?: 'Delete' | 'WipeOut' | 'DoNotTerminate';
  autoOps?: Unused;
  serviceTemplates?: Unused[];
  podTemplate?: Unused;
  authSecret?: Unused;
  configSecret?: Unused;
  configuration?: Unused;
  init?: Unused;
  monitor?: Unused;
  healthChecker?: Unused;
  halted?: boolean;
}

export type PgBouncerPhase = 'Provisioning' | 'Ready' | 'NotReady' | 'Critical';

export interface PgBouncer {
  apiVersion: 'kubedb.com/v1';
  kind: 'PgBouncer';
  metadata: V1ObjectMeta;
  spec: PgBouncerSpec;
  status?: {
    phase?: PgBouncerPhase;
    observedGeneration?: number;
    conditions?: Condition[];
  };
}

export interface PgBouncerTLSSpec extends TLSConfig {
  rotateCertificates?: boolean;
  remove?: boolean;
  sslMode?: SslMode;
  clientAuthMode?: ClientAuthMode;
}

/** Every KubeDB type loads; the workflow runs ReconfigureTLS and fails the others as not supported. */
export type OpsRequestType =
  | 'HorizontalScaling'
  | 'VerticalScaling'
  | 'UpdateVersion'
  | 'Reconfigure'
  | 'RotateAuth'
  | 'Restart'
  | 'ReconfigureTLS';

export type OpsRequestPhase = 'Pending' | 'Progressing' | 'Successful' | 'Failed' | 'Skipped';

export interface PgBouncerOpsRequest {
  apiVersion: 'ops.kubedb.com/v1alpha1';
  kind: 'PgBouncerOpsRequest';
  metadata: V1ObjectMeta;
  spec: {
    type: OpsRequestType;
    databaseRef: { name: string };
    tls?: PgBouncerTLSSpec;
    /** A Go duration (90s, 5m, 1h30m), at least 1s: the longest one step may take. */
    timeout?: string;
    /** Defaulted to IfReady by the API server. */
    apply?: 'IfReady' | 'Always';
    /** Defaulted to 1 by the API server. */
    maxRetries?: number;
    updateVersion?: Unused;
    horizontalScaling?: Unused;
    verticalScaling?: Unused;
    configuration?: Unused;
    authentication?: Unused;
    restart?: Unused;
  };
  status?: {
    phase?: OpsRequestPhase;
    observedGeneration?: number;
    conditions?: Condition[];
  };
}

export interface CAIssuerSpec {
  ca?: {
    secretName: string;
    crlDistributionPoints?: string[];
    ocspServers?: string[];
    issuingCertificateURLs?: string[];
  };
  // The other issuer kinds load (exactly one kind per issuer) and are refused by our code.
  acme?: Record<string, unknown>;
  selfSigned?: Record<string, unknown>;
  vault?: Record<string, unknown>;
  venafi?: Record<string, unknown>;
}

export interface Issuer {
  apiVersion: 'cert-manager.io/v1';
  kind: 'Issuer' | 'ClusterIssuer';
  metadata: V1ObjectMeta;
  spec: CAIssuerSpec;
  status?: { conditions?: Condition[]; acme?: Record<string, unknown> };
}

export interface AppBinding {
  apiVersion: 'appcatalog.appscode.com/v1';
  kind: 'AppBinding';
  metadata: V1ObjectMeta;
  spec: {
    type?: string;
    version?: string;
    appRef?: Record<string, unknown>;
    /** Exactly one of url and service. */
    clientConfig: {
      url?: string;
      service?: { name: string; port: number; scheme?: string; path?: string; query?: string; namespace?: string };
      /** Base64 of the PEM CA bundle, as in the stored object. */
      caBundle?: string;
      insecureSkipTLSVerify?: boolean;
      serverName?: string;
    };
    secret?: { name: string };
    tlsSecret?: { name: string };
    secretTransforms?: Record<string, unknown>[];
    parameters?: Record<string, unknown>;
  };
  status?: { observedGeneration?: number; conditions?: Condition[]; [field: string]: unknown };
}

/** The Paused condition is how KubeDB marks a database the provisioner must leave alone. */
export const PAUSED_CONDITION = 'Paused';

export function isPaused(pb: PgBouncer): boolean {
  return (pb.status?.conditions ?? []).some((c) => c.type === PAUSED_CONDITION && c.status === 'True');
}

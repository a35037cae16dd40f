// The custom resources this system reads and writes, with KubeDB's and cert-manager's field names.
// The CRDs in crds/ are the schema the API server enforces; these types mirror them for the code.
import type { V1Condition, V1ObjectMeta } from '@kubernetes/client-node';

export const KUBEDB_GROUP = 'kubedb.com';
export const OPS_GROUP = 'ops.kubedb.com';
export const CERT_MANAGER_GROUP = 'cert-manager.io';
export const APPCATALOG_GROUP = 'appcatalog.appscode.com';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
export type ClientAuthMode = 'md5' | 'scram-sha-256';
export type CertificateAlias = 'server' | 'client' | 'metrics-exporter';

export interface IssuerRef {
  apiGroup?: string;
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

export interface Condition extends V1Condition {}

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
    authType?: ClientAuthMode;
    ignoreStartupParameters?: string;
  };
  sslMode?: SslMode;
  tls?: TLSConfig;
  deletionPolicy?: 'Delete' | 'WipeOut' | 'DoNotTerminate';
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

export type OpsRequestPhase = 'Pending' | 'Progressing' | 'Successful' | 'Failed' | 'Skipped';

export interface PgBouncerOpsRequest {
  apiVersion: 'ops.kubedb.com/v1alpha1';
  kind: 'PgBouncerOpsRequest';
  metadata: V1ObjectMeta;
  spec: {
    type: string;
    databaseRef: { name: string };
    tls?: PgBouncerTLSSpec;
    timeout?: string;
    apply?: 'IfReady' | 'Always';
    maxRetries?: number;
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
  status?: { conditions?: Condition[] };
}

export interface AppBinding {
  apiVersion: 'appcatalog.appscode.com/v1';
  kind: 'AppBinding';
  metadata: V1ObjectMeta;
  spec: {
    type?: string;
    version?: string;
    clientConfig: {
      url?: string;
      service?: { name: string; port: number; scheme?: string; path?: string; query?: string; namespace?: string };
      caBundle?: string;
    };
    secret?: { name: string };
    tlsSecret?: { name: string };
  };
}

/** The Paused condition is how KubeDB marks a database the provisioner must leave alone. */
export const PAUSED_CONDITION = 'Paused';

export function isPaused(pb: PgBouncer): boolean {
  return (pb.status?.conditions ?? []).some((c) => c.type === PAUSED_CONDITION && c.status === 'True');
}

// Certificate authorities, issuers and ops requests for the TLS tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CERT_MANAGER_GROUP, OPS_GROUP, type PgBouncerOpsRequest } from '../../lib/api/types.js';
import { createSelfSignedCA } from '../../lib/certificates/index.js';
import { POLICY_ANNOTATIONS } from '../../lib/planner/signing-policy.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import { testKube } from './cluster.js';

/** A self-signed CA in a kubernetes.io/tls Secret; returns the CA certificate. */
async function createCaSecret(
  namespace: string,
  secretName: string,
  commonName: string,
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<string> {
  const ca = await createSelfSignedCA({
    commonName,
    algorithm: 'RSA',
    size: 2048,
    notAfter: validity.notAfter ?? new Date(Date.now() + 365 * 86400_000),
    ...(validity.notBefore ? { notBefore: validity.notBefore } : {}),
  });
  await testKube().core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: secretName },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': ca.certPem, 'tls.key': ca.keyPem },
    },
  });
  return ca.certPem;
}

/** A CA Issuer or ClusterIssuer object pointing at the CA Secret `<name>-ca`. */
const caIssuerBody = (kind: 'Issuer' | 'ClusterIssuer', name: string, annotations?: Record<string, string>) => ({
  apiVersion: 'cert-manager.io/v1',
  kind,
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { ca: { secretName: `${name}-ca` } },
});

/** A CA in a kubernetes.io/tls Secret `<name>-ca` and a CA Issuer pointing at it; returns the CA certificate. */
export async function createCaIssuer(
  namespace: string,
  name: string,
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<string> {
  const certPem = await createCaSecret(namespace, `${name}-ca`, `${name} test CA`, validity);
  await testKube().custom.createNamespacedCustomObject({
    group: CERT_MANAGER_GROUP,
    version: 'v1',
    namespace,
    plural: 'issuers',
    body: caIssuerBody('Issuer', name),
  });
  return certPem;
}

/**
 * A CA ClusterIssuer, its CA Secret in the cluster-resource namespace, usable from `allowedNamespaces`
 * (the signing policy denies every namespace a ClusterIssuer does not list); returns the CA certificate.
 */
export async function createCaClusterIssuer(
  name: string,
  clusterResourceNamespace: string,
  allowedNamespaces: string[],
): Promise<string> {
  const certPem = await createCaSecret(clusterResourceNamespace, `${name}-ca`, `${name} test CA`);
  await testKube().custom.createClusterCustomObject({
    group: CERT_MANAGER_GROUP,
    version: 'v1',
    plural: 'clusterissuers',
    body: caIssuerBody('ClusterIssuer', name, { [POLICY_ANNOTATIONS.namespaces]: allowedNamespaces.join(',') }),
  });
  return certPem;
}

export async function createOpsRequest(
  namespace: string,
  name: string,
  spec: Partial<PgBouncerOpsRequest['spec']>,
  annotations?: Record<string, string>,
): Promise<OpsRequestRef> {
  const created = (await testKube().custom.createNamespacedCustomObject({
    group: OPS_GROUP,
    version: 'v1alpha1',
    namespace,
    plural: 'pgbounceropsrequests',
    body: {
      apiVersion: 'ops.kubedb.com/v1alpha1',
      kind: 'PgBouncerOpsRequest',
      metadata: { name, ...(annotations ? { annotations } : {}) },
      spec: { type: 'ReconfigureTLS', ...spec },
    },
  })) as PgBouncerOpsRequest;
  return { namespace, name, uid: created.metadata.uid! };
}

export async function readOpsRequest(ref: OpsRequestRef): Promise<PgBouncerOpsRequest> {
  return (await testKube().custom.getNamespacedCustomObject({
    group: OPS_GROUP,
    version: 'v1alpha1',
    plural: 'pgbounceropsrequests',
    namespace: ref.namespace,
    name: ref.name,
  })) as PgBouncerOpsRequest;
}

export async function secretText(namespace: string, name: string, key: string): Promise<string> {
  const s = await testKube().core.readNamespacedSecret({ name, namespace });
  return Buffer.from(s.data?.[key] ?? '', 'base64').toString();
}

/** Runs openssl with the given PEM files in a temp dir; returns stdout (throws with stderr on failure). */
export function openssl(files: Record<string, string>, args: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgbtls-openssl-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

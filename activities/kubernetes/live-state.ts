// Gathers what planning needs from the cluster into a LiveState: names, serials, fingerprints
// and dates only. CA keys are opened here just to check they match their certificates.
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { CLUSTER_ISSUERS, ISSUERS } from '../../lib/api/resources.js';
import {
  isPaused,
  type PgBouncerOpsRequest,
  type IssuerRef,
  type Issuer,
  type PgBouncer,
} from '../../lib/api/types.js';
import { canSignCrls, describeCertificate, parseCA, splitPemBundle } from '../../lib/certificates/index.js';
import type { Config } from '../../lib/config.js';
import { getOrUndefined, type Kube } from '../../lib/kube/kube.js';
import {
  issuerKey,
  type CertificateSummary,
  type IssuerSummary,
  opsRequestRef,
  type LiveState,
  type OpsRequestRef,
} from '../../lib/planner/types.js';
import { certificateSecretName, crlSecretName, snapshotSecretName, stagingSecretName } from '../../lib/api/names.js';
import { crlSecretOwnership, secretOwnership } from '../../lib/api/ownership.js';
import { parseSigningPolicy } from '../../lib/planner/signing-policy.js';
import { checkSecretName } from '../../lib/planner/validate-certificates.js';
import { objectGone } from '../failures.js';
import { isOurCrlSecret } from '../certificates/revocation.js';
import { readOpsRequest } from './ops-request.js';
import { readPgBouncer } from './pause.js';
import { readSecret, unb64 } from './secrets.js';

/** Reads a Secret (undefined when it does not exist). */
export type SecretReader = (namespace: string, name: string) => Promise<V1Secret | undefined>;

/** A reader that asks the API once per Secret: one gathering reads each Secret at most once. */
export function onceEachSecret(kube: Kube): SecretReader {
  const seen = new Map<string, Promise<V1Secret | undefined>>();
  return (namespace, name) => {
    const key = `${namespace}/${name}`;
    let read = seen.get(key);
    if (!read) seen.set(key, (read = readSecret(kube, namespace, name)));
    return read;
  };
}

export async function summarizeIssuer(
  kube: Kube,
  config: Config,
  namespace: string,
  ref: Pick<IssuerRef, 'kind' | 'name'>,
  read: SecretReader = onceEachSecret(kube),
): Promise<IssuerSummary> {
  const cluster = ref.kind === 'ClusterIssuer';
  const caSecretNamespace = cluster ? config.clusterResourceNamespace : namespace;
  const summary: IssuerSummary = { kind: ref.kind, name: ref.name, caSecretNamespace };
  const issuer = (await getOrUndefined(() =>
    cluster
      ? kube.custom.getClusterCustomObject({ ...CLUSTER_ISSUERS, name: ref.name })
      : kube.custom.getNamespacedCustomObject({ ...ISSUERS, namespace, name: ref.name }),
  )) as Issuer | undefined;
  if (!issuer) {
    summary.problem = cluster
      ? `ClusterIssuer "${ref.name}" not found`
      : `Issuer "${ref.name}" not found in namespace "${namespace}"`;
    return summary;
  }
  summary.policy = parseSigningPolicy(issuer.metadata?.annotations);
  if (!issuer.spec.ca) {
    const kind =
      Object.keys(issuer.spec).find((k) => ['acme', 'selfSigned', 'vault', 'venafi'].includes(k)) ?? 'unknown';
    summary.problem = `${ref.kind} "${ref.name}" is a ${kind} issuer; only CA issuers (spec.ca) are supported`;
    return summary;
  }
  summary.caSecretName = issuer.spec.ca.secretName;
  const secret = await read(caSecretNamespace, issuer.spec.ca.secretName);
  const label = `Secret ${caSecretNamespace}/${issuer.spec.ca.secretName}`;
  if (!secret) {
    summary.problem = `${label} (spec.ca.secretName of ${ref.kind} "${ref.name}") not found`;
    return summary;
  }
  try {
    const ca = parseCA(unb64(secret.data?.['tls.crt']), unb64(secret.data?.['tls.key']), label);
    const info = describeCertificate(ca.certPem, label);
    summary.caFingerprintSha256 = info.fingerprintSha256;
    summary.caNotAfter = info.notAfter;
    summary.caNotBefore = info.notBefore;
    summary.canSignCrls = canSignCrls(ca);
    const crl = await read(caSecretNamespace, crlSecretName(summary.caSecretName));
    if (crl && !isOurCrlSecret(crl))
      summary.foreignCrlSecret = `${caSecretNamespace}/${crlSecretName(summary.caSecretName)}`;
  } catch (err) {
    summary.problem = err instanceof Error ? err.message : String(err);
  }
  return summary;
}

async function summarizeCertificate(
  read: SecretReader,
  pb: PgBouncer,
  alias: 'server' | 'client',
): Promise<CertificateSummary | undefined> {
  const namespace = pb.metadata.namespace!;
  const secretName = certificateSecretName(pb, alias);
  const secret = await read(namespace, secretName);
  const certPem = unb64(secret?.data?.['tls.crt']);
  if (!certPem) return undefined;
  try {
    const info = describeCertificate(certPem, `Secret ${namespace}/${secretName}`);
    // The CA that signed it: the first CA of ca.crt whose fingerprint we can compute.
    const ca = splitPemBundle(unb64(secret?.data?.['ca.crt']))[0];
    return {
      alias,
      secretName,
      serialHex: info.serialHex,
      fingerprintSha256: info.fingerprintSha256,
      notAfter: info.notAfter,
      issuerFingerprintSha256: ca ? describeCertificate(ca).fingerprintSha256 : undefined,
      dnsNames: info.dnsNames,
      ipAddresses: info.ipAddresses,
    };
  } catch {
    return undefined; // unreadable material is as good as none: it will be replaced
  }
}

/** What planning needs, for the request as it is stored now. */
export async function gatherLiveState(kube: Kube, config: Config, ref: OpsRequestRef): Promise<LiveState> {
  const req = await readOpsRequest(kube, ref);
  if (!req) throw objectGone(`PgBouncerOpsRequest ${ref.namespace}/${ref.name} (uid ${ref.uid}) no longer exists`);
  return gatherLiveStateFor(kube, config, req);
}

/** What planning needs, for a request object in hand (the CLI plans a dry-run object never stored). */
export async function gatherLiveStateFor(kube: Kube, config: Config, req: PgBouncerOpsRequest): Promise<LiveState> {
  const ref = opsRequestRef(req);
  const live: LiveState = {
    now: new Date().toISOString(),
    clusterDomain: config.clusterDomain,
    request: {
      ref,
      generation: req.metadata.generation ?? 1,
      creationTimestamp: String(req.metadata.creationTimestamp),
      annotations: Object.fromEntries(
        Object.entries(req.metadata.annotations ?? {}).filter(([k]) => k.startsWith('pgbtls.dev/')),
      ),
      spec: req.spec,
    },
    issuers: {},
    certificates: {},
    pods: [],
  };
  const read = onceEachSecret(kube);
  const pb = await readPgBouncer(kube, ref.namespace, req.spec.databaseRef?.name ?? '');
  const refs: Pick<IssuerRef, 'kind' | 'name'>[] = [];
  if (req.spec.tls?.issuerRef) refs.push(req.spec.tls.issuerRef);
  for (const c of req.spec.tls?.certificates ?? []) if (c.issuerRef) refs.push(c.issuerRef);
  if (pb) {
    live.pgbouncer = {
      name: pb.metadata.name!,
      uid: pb.metadata.uid!,
      generation: pb.metadata.generation ?? 1,
      spec: pb.spec,
      phase: pb.status?.phase,
      paused: isPaused(pb),
      resourceVersion: pb.metadata.resourceVersion,
    };
    if (pb.spec.tls?.issuerRef) refs.push(pb.spec.tls.issuerRef);
    for (const c of pb.spec.tls?.certificates ?? []) if (c.issuerRef) refs.push(c.issuerRef);
    for (const alias of ['server', 'client'] as const) {
      const summary = await summarizeCertificate(read, pb, alias);
      if (summary) live.certificates[alias] = summary;
    }
    // The StatefulSet's pods by name (ordinals 0..replicas-1): direct reads, not a LIST of the
    // namespace's pods, which costs the API server every pod of every pooler there.
    const replicas = pb.spec.replicas ?? 1;
    const found = await Promise.all(
      Array.from({ length: replicas }, (_, i) =>
        getOrUndefined(() =>
          kube.core.readNamespacedPod({ name: `${pb.metadata.name}-${i}`, namespace: ref.namespace }),
        ),
      ),
    );
    live.pods = found
      .filter((p): p is V1Pod => Boolean(p) && !p!.metadata?.deletionTimestamp)
      .map((p) => ({
        name: p.metadata!.name!,
        uid: p.metadata!.uid!,
        ordinal: Number(p.metadata!.name!.slice(pb.metadata.name!.length + 1)),
        ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      }))
      .sort((a, b) => a.ordinal - b.ordinal);
  }
  for (const r of refs) {
    const key = issuerKey(r);
    live.issuers[key] ??= await summarizeIssuer(kube, config, ref.namespace, r, read);
  }
  if (pb) await gatherSecretOwnership(read, live, pb, req.spec.tls?.certificates ?? []);
  return live;
}

/**
 * Who made each Secret the plan may write or delete: the certificate Secrets (today's, the
 * request's, KubeDB's defaults), their staging Secrets, the snapshot, and the issuers' CRL Secrets.
 */
async function gatherSecretOwnership(
  read: SecretReader,
  live: LiveState,
  pb: PgBouncer,
  requested: { alias: string; secretName?: string }[],
): Promise<void> {
  const ref = live.request.ref;
  const owner = { name: pb.metadata.name!, uid: pb.metadata.uid! };
  const certificateSecrets = new Set<string>();
  for (const alias of ['server', 'client']) {
    certificateSecrets.add(certificateSecretName(pb, alias));
    certificateSecrets.add(`${owner.name}-${alias}-cert`);
  }
  // A name validation will refuse is not looked up (it may not even fit in a URL).
  for (const c of requested) if (!checkSecretName(c.secretName, '')) certificateSecrets.add(c.secretName as string);
  const names = new Set([
    ...certificateSecrets,
    ...[...certificateSecrets].map((n) => stagingSecretName(n, ref.uid)),
    snapshotSecretName(owner.name, ref.uid),
  ]);
  live.secrets = {};
  for (const name of [...names].sort()) {
    live.secrets[name] = secretOwnership((await read(ref.namespace, name))?.metadata, owner);
  }
  live.crlSecrets = {};
  for (const issuer of Object.values(live.issuers)) {
    if (!issuer.caSecretName) continue;
    const name = crlSecretName(issuer.caSecretName);
    const key = `${issuer.caSecretNamespace}/${name}`;
    live.crlSecrets[key] ??= crlSecretOwnership((await read(issuer.caSecretNamespace, name))?.metadata);
  }
}

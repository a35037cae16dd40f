// Gathers what planning needs from the cluster into a LiveState: names, serials, fingerprints
// and dates only. CA keys are opened here just to check they match their certificates.
import { CERT_MANAGER_GROUP, isPaused, type IssuerRef, type Issuer, type PgBouncer } from '../../lib/api/types.js';
import { canSignCrls, describeCertificate, parseCA, splitPemBundle } from '../../lib/certificates/index.js';
import type { Config } from '../../lib/config.js';
import { getOrUndefined, type Kube } from '../../lib/kube/kube.js';
import {
  issuerKey,
  type CertificateSummary,
  type IssuerSummary,
  type LiveState,
  type OpsRequestRef,
} from '../../lib/planner/types.js';
import { certificateSecretName } from '../../lib/api/names.js';
import { objectGone } from '../failures.js';
import { crlSecretName, isOurCrlSecret } from '../certificates/revocation.js';
import { readOpsRequest } from './ops-request.js';
import { readPgBouncer } from './pause.js';
import { readSecret, unb64 } from './secrets.js';

export async function summarizeIssuer(
  kube: Kube,
  config: Config,
  namespace: string,
  ref: Pick<IssuerRef, 'kind' | 'name'>,
): Promise<IssuerSummary> {
  const cluster = ref.kind === 'ClusterIssuer';
  const caSecretNamespace = cluster ? config.clusterResourceNamespace : namespace;
  const summary: IssuerSummary = { kind: ref.kind, name: ref.name, caSecretNamespace };
  const issuer = (await getOrUndefined(() =>
    cluster
      ? kube.custom.getClusterCustomObject({
          group: CERT_MANAGER_GROUP,
          version: 'v1',
          plural: 'clusterissuers',
          name: ref.name,
        })
      : kube.custom.getNamespacedCustomObject({
          group: CERT_MANAGER_GROUP,
          version: 'v1',
          plural: 'issuers',
          namespace,
          name: ref.name,
        }),
  )) as Issuer | undefined;
  if (!issuer) {
    summary.problem = cluster
      ? `ClusterIssuer "${ref.name}" not found`
      : `Issuer "${ref.name}" not found in namespace "${namespace}"`;
    return summary;
  }
  if (!issuer.spec.ca) {
    const kind =
      Object.keys(issuer.spec).find((k) => ['acme', 'selfSigned', 'vault', 'venafi'].includes(k)) ?? 'unknown';
    summary.problem = `${ref.kind} "${ref.name}" is a ${kind} issuer; only CA issuers (spec.ca) are supported`;
    return summary;
  }
  summary.caSecretName = issuer.spec.ca.secretName;
  const secret = await readSecret(kube, caSecretNamespace, issuer.spec.ca.secretName);
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
    summary.canSignCrls = canSignCrls(ca);
    const crl = await readSecret(kube, caSecretNamespace, crlSecretName(summary));
    if (crl && !isOurCrlSecret(crl)) summary.foreignCrlSecret = `${caSecretNamespace}/${crlSecretName(summary)}`;
  } catch (err) {
    summary.problem = err instanceof Error ? err.message : String(err);
  }
  return summary;
}

async function summarizeCertificate(
  kube: Kube,
  pb: PgBouncer,
  alias: 'server' | 'client',
): Promise<CertificateSummary | undefined> {
  const namespace = pb.metadata.namespace!;
  const secretName = certificateSecretName(pb, alias);
  const secret = await readSecret(kube, namespace, secretName);
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

export async function gatherLiveState(kube: Kube, config: Config, ref: OpsRequestRef): Promise<LiveState> {
  const req = await readOpsRequest(kube, ref);
  if (!req) throw objectGone(`PgBouncerOpsRequest ${ref.namespace}/${ref.name} (uid ${ref.uid}) no longer exists`);
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
    };
    if (pb.spec.tls?.issuerRef) refs.push(pb.spec.tls.issuerRef);
    for (const c of pb.spec.tls?.certificates ?? []) if (c.issuerRef) refs.push(c.issuerRef);
    for (const alias of ['server', 'client'] as const) {
      const summary = await summarizeCertificate(kube, pb, alias);
      if (summary) live.certificates[alias] = summary;
    }
    const { items } = await kube.core.listNamespacedPod({
      namespace: ref.namespace,
      labelSelector: `app.kubernetes.io/instance=${pb.metadata.name},app.kubernetes.io/managed-by=kubedb.com`,
    });
    live.pods = items
      .filter((p) => !p.metadata?.deletionTimestamp)
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
    live.issuers[key] ??= await summarizeIssuer(kube, config, ref.namespace, r);
  }
  return live;
}

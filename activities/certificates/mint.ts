// Minting one certificate into its staging Secret (cert-manager's "next key" idea): the key is
// generated here and written straight into Kubernetes; the workflow gets serial, fingerprint and
// expiry only. A retried mint finds its staging Secret and reuses it.
import {
  describeCertificate,
  generatePrivateKey,
  issueCertificate,
  verifyChain,
} from '../../lib/certificates/index.js';
import type { Kube } from '../../lib/kube/kube.js';
import type { CertificatePlan, Plan } from '../../lib/planner/types.js';
import { markOwned } from '../../lib/api/ownership.js';
import { assertSecretOurs, b64, unb64, writeSecret } from '../kubernetes/secrets.js';
import { loadIssuerCA } from './ca-source.js';

export interface MintedCertificate {
  alias: CertificatePlan['alias'];
  secretName: string;
  stagingSecretName: string;
  serialHex: string;
  fingerprintSha256: string;
  notAfter: string;
  caFingerprintSha256: string;
  reused: boolean;
}

const sameSet = (a: string[], b: string[]) =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);

export async function mintCertificate(
  kube: Kube,
  plan: Plan,
  cert: CertificatePlan,
  opsRequestUid: string,
  now = new Date(),
): Promise<MintedCertificate> {
  const { namespace, name, uid } = plan.pgbouncer;
  const ca = await loadIssuerCA(kube, cert.issuer);
  const caInfo = describeCertificate(ca.certPem, ca.label);
  const staging = await assertSecretOurs(kube, namespace, cert.stagingSecretName, { name, uid });
  if (staging) {
    const existing = unb64(staging.data?.['tls.crt']);
    const info = existing ? describeCertificate(existing, `Secret ${namespace}/${cert.stagingSecretName}`) : undefined;
    if (
      info &&
      verifyChain(existing, ca.certPem, now) &&
      sameSet(info.dnsNames, cert.dnsNames) &&
      sameSet(info.ipAddresses, cert.ipAddresses)
    ) {
      return {
        alias: cert.alias,
        secretName: cert.secretName,
        stagingSecretName: cert.stagingSecretName,
        serialHex: info.serialHex,
        fingerprintSha256: info.fingerprintSha256,
        notAfter: info.notAfter,
        caFingerprintSha256: caInfo.fingerprintSha256,
        reused: true,
      };
    }
  }
  const key = await generatePrivateKey(cert.privateKey, `spec.tls.certificates[alias=${cert.alias}].privateKey`);
  const issued = issueCertificate({
    ca,
    publicKeyPem: key.publicKeyPem,
    subject: { ...cert.subject, commonName: cert.commonName },
    dnsNames: cert.dnsNames,
    ipAddresses: cert.ipAddresses,
    uris: cert.uris,
    emailAddresses: cert.emailAddresses,
    usage: cert.usage,
    notBefore: new Date(now.getTime() - 60_000), // a minute of slack for clocks slightly behind
    notAfter: new Date(now.getTime() + cert.durationMs),
    field: `spec.tls.certificates[alias=${cert.alias}]`,
  });
  await writeSecret(
    kube,
    namespace,
    cert.stagingSecretName,
    markOwned(
      {
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': b64(issued.certPem), 'tls.key': b64(key.keyPem), 'ca.crt': b64(ca.certPem) },
        labels: { 'pgbtls.dev/staging': 'true', 'pgbtls.dev/ops-request-uid': opsRequestUid },
        annotations: issuerAnnotations(cert, issued.serialHex),
      },
      { name, uid },
    ),
    staging,
  );
  return {
    alias: cert.alias,
    secretName: cert.secretName,
    stagingSecretName: cert.stagingSecretName,
    serialHex: issued.serialHex,
    fingerprintSha256: issued.fingerprintSha256,
    notAfter: issued.notAfter,
    caFingerprintSha256: caInfo.fingerprintSha256,
    reused: false,
  };
}

/** cert-manager's annotations on a certificate Secret, so its tooling reads ours too. */
export function issuerAnnotations(cert: CertificatePlan, serialHex: string): Record<string, string> {
  return {
    'cert-manager.io/issuer-name': cert.issuer.name,
    'cert-manager.io/issuer-kind': cert.issuer.kind,
    'cert-manager.io/issuer-group': 'cert-manager.io',
    'cert-manager.io/common-name': cert.commonName,
    'cert-manager.io/alt-names': cert.dnsNames.join(','),
    'cert-manager.io/ip-sans': cert.ipAddresses.join(','),
    'pgbtls.dev/serial': serialHex,
  };
}

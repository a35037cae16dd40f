// Reading an issuer's CA pair from its Secret. The pair never leaves the activity.
import { parseCA, type CAKeyPair } from '../../lib/certificates/index.js';
import type { Kube } from '../../lib/kube/kube.js';
import type { IssuerSummary } from '../../lib/planner/types.js';
import { objectGone } from '../failures.js';
import { readSecret, unb64 } from '../kubernetes/secrets.js';

export async function loadIssuerCA(kube: Kube, issuer: IssuerSummary): Promise<CAKeyPair & { label: string }> {
  const label = `Secret ${issuer.caSecretNamespace}/${issuer.caSecretName}`;
  if (!issuer.caSecretName) throw objectGone(`${issuer.kind} "${issuer.name}" names no CA Secret (spec.ca.secretName)`);
  const secret = await readSecret(kube, issuer.caSecretNamespace, issuer.caSecretName);
  if (!secret) {
    throw objectGone(
      `${label} of ${issuer.kind} "${issuer.name}" no longer exists; restore the CA Secret and create a new request`,
    );
  }
  const certPem = unb64(secret.data?.['tls.crt']);
  const keyPem = unb64(secret.data?.['tls.key']);
  parseCA(certPem, keyPem, label); // throws a CertificateInputError that names the Secret, never the key
  return { certPem, keyPem, label };
}

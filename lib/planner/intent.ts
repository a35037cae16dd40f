// What a ReconfigureTLS request asks for (DESIGN §3). KubeDB derives the operation from which
// fields are set; the order below is that precedence. Contradicting fields are validate.ts's job:
// this function answers for any input, valid or not.
import type { IssuerRef, PgBouncerTLSSpec, TLSConfig } from '../api/types.js';
import type { Intent } from './types.js';

/** TLS is on exactly when an issuer is named (as tls-settings.ts decides for the provisioner). */
export function tlsEnabled(tls: TLSConfig | null | undefined): boolean {
  return Boolean(tls?.issuerRef);
}

/** Same Issuer or ClusterIssuer: kind and name (apiGroup can only be cert-manager.io). */
export function sameIssuer(
  a: Pick<IssuerRef, 'kind' | 'name'> | undefined,
  b: Pick<IssuerRef, 'kind' | 'name'> | undefined,
) {
  return a !== undefined && b !== undefined && a.kind === b.kind && a.name === b.name;
}

export function intentOf(request: PgBouncerTLSSpec, current: TLSConfig | undefined): Intent {
  if (request.remove) return 'remove';
  if (request.rotateCertificates) return 'rotate';
  if (request.issuerRef) {
    if (!tlsEnabled(current)) return 'add';
    return sameIssuer(request.issuerRef, current?.issuerRef) ? 'reissue' : 'change-issuer';
  }
  if (request.certificates?.length) return 'reissue';
  return 'update-settings';
}

/** Intents that issue a new server and client certificate. */
export function mintsCertificates(intent: Intent): boolean {
  return intent === 'add' || intent === 'rotate' || intent === 'change-issuer' || intent === 'reissue';
}

/** Intents after which the certificates served today are no longer served, so they are revoked. */
export function replacesCertificates(intent: Intent): boolean {
  return intent === 'rotate' || intent === 'change-issuer' || intent === 'remove' || intent === 'reissue';
}

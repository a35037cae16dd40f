// The two TLS decisions the ini, the pod volumes and the ops workflow must agree on.
import type { PgBouncer, SslMode } from '../api/types.js';

/** TLS is on when an issuer is named (KubeDB renders the client_tls_* lines exactly then). */
export function isTlsEnabled(pb: PgBouncer): boolean {
  return Boolean(pb.spec.tls?.issuerRef);
}

/**
 * KubeDB's defaulting: an empty sslMode means verify-full when spec.tls is set. Without spec.tls
 * it is disable whatever is written (the CRD refuses anything else there anyway).
 */
export function effectiveSslMode(pb: PgBouncer): SslMode {
  return pb.spec.tls ? (pb.spec.sslMode ?? 'verify-full') : 'disable';
}

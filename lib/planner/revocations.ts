// Which served certificates go on a CRL, and which CA's. PgBouncer has no CRL option (DESIGN §7):
// the serial is recorded so the CA's relying parties can refuse it; the key itself is replaced or
// deleted either way. A serial only means something on the CRL of the CA that signed it.
import type { CertificateAlias, TLSConfig } from '../api/types.js';
import { quote } from './field-errors.js';
import { currentIssuerRef } from './resolve.js';
import { issuerKey, type LiveState, type Plan } from './types.js';

const ALIAS_ORDER: CertificateAlias[] = ['server', 'client', 'metrics-exporter'];

export function planRevocations(
  live: LiveState,
  current: TLSConfig | undefined,
): { revoke: Plan['revoke']; warnings: string[] } {
  const revoke: Plan['revoke'] = [];
  const warnings: string[] = [];
  for (const alias of ALIAS_ORDER) {
    const cert = live.certificates[alias];
    const ref = currentIssuerRef(current, alias);
    if (!cert || !ref) continue;
    const issuer = live.issuers[issuerKey(ref)];
    const which = `the ${alias} certificate (serial ${cert.serialHex}, Secret ${cert.secretName})`;
    if (!issuer || issuer.problem) {
      warnings.push(
        `${which} cannot be recorded as revoked: ${ref.kind} ${quote(ref.name)} ${issuer?.problem ? `cannot sign a CRL (${issuer.problem})` : 'was not found'}; it stops being served and its key is discarded all the same`,
      );
      continue;
    }
    if (issuer.canSignCrls === false) {
      // Known now, not after the whole roll: such a CA keeps no CRL, and the request goes on.
      warnings.push(
        `${which} is not put on a CRL: the CA of ${ref.kind} ${quote(ref.name)} (Secret ${issuer.caSecretNamespace}/${issuer.caSecretName}) has no cRLSign in its keyUsage, so no CRL is kept for it; the certificate stops being served and its key is discarded all the same (reissue the CA with keyUsage cRLSign to keep a CRL)`,
      );
      continue;
    }
    if (issuer.foreignCrlSecret) {
      warnings.push(
        `${which} is not put on a CRL: Secret ${issuer.foreignCrlSecret} exists and was not created by this orchestrator, which never overwrites it (rename or delete it, or label it pgbtls.dev/crl=true to hand it over); the certificate stops being served and its key is discarded all the same`,
      );
      continue;
    }
    if (
      cert.issuerFingerprintSha256 &&
      issuer.caFingerprintSha256 &&
      cert.issuerFingerprintSha256 !== issuer.caFingerprintSha256
    ) {
      warnings.push(
        `${which} was signed by a CA that ${ref.kind} ${quote(ref.name)} no longer holds, so its CRL cannot revoke it; it stops being served and its key is discarded all the same`,
      );
      continue;
    }
    revoke.push({ alias, serialHex: cert.serialHex, issuer });
  }
  return { revoke, warnings };
}

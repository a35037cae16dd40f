// The certificate library's public surface: pure functions over PEM text, no Kubernetes, no Temporal.
export { CertificateInputError } from './errors.js';
export {
  generatePrivateKey,
  resolveKeySpec,
  publicKeyPemOf,
  type GeneratedKey,
  type KeyAlgorithm,
  type KeyEncoding,
  type PrivateKeySpec,
} from './keys.js';
export {
  canSignCrls,
  createSelfSignedCA,
  parseCA,
  type CAKeyPair,
  type ParsedCA,
  type SelfSignedCAOptions,
} from './ca.js';
export {
  issueCertificate,
  type CertificateUsage,
  type IssueCertificateInput,
  type IssuedCertificate,
} from './issue.js';
export { buildCrl, type BuildCrlInput, type RevokedCertificate, type RevocationReason } from './crl.js';
export {
  certificateMatchesKey,
  describeCertificate,
  splitPemBundle,
  verifyChain,
  type CertificateDescription,
} from './inspect.js';
export { serverCertificateNames, type ServerNames, type ServerNamesInput } from './sans.js';
export {
  certificateDurationMs,
  parseDuration,
  DEFAULT_CERTIFICATE_DURATION,
  MIN_CERTIFICATE_DURATION_MS,
} from './duration.js';
export { canonicalSerialHex } from './serial.js';
export type { SubjectInput } from './subject.js';

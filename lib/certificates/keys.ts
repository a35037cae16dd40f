// Private keys: choose, generate and load. Generation uses node:crypto (OpenSSL, off the event loop)
// because node-forge's pure-JS RSA key generation takes seconds for 4096 bits.
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { CertificateInputError, quote } from './errors.js';
import { pemBlocks } from './pem.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export type KeyAlgorithm = 'RSA' | 'ECDSA';
/** KubeDB's `privateKey.encoding`: PKCS1 means the algorithm's own format (PKCS#1 for RSA, SEC 1 for EC). */
export type KeyEncoding = 'PKCS1' | 'PKCS8';

export interface PrivateKeySpec {
  algorithm?: KeyAlgorithm;
  size?: number;
  encoding?: KeyEncoding;
}

export interface ResolvedKeySpec {
  algorithm: KeyAlgorithm;
  size: number;
  encoding: KeyEncoding;
}

export interface GeneratedKey extends ResolvedKeySpec {
  keyPem: string;
  publicKeyPem: string;
}

export const RSA_SIZES = [2048, 3072, 4096] as const;
/** Key size → OpenSSL curve name. P-521 is left out: libpq and PgBouncer builds vary in support for it. */
const EC_CURVE_BY_SIZE: Record<number, string> = { 256: 'prime256v1', 384: 'secp384r1' };
/** Curves we accept in keys we are given (a user's CA may well be P-521). */
const EC_SIZE_BY_CURVE: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

// cert-manager's defaults: RSA 2048 (ECDSA 256), PKCS1.
const DEFAULT_SIZE: Record<KeyAlgorithm, number> = { RSA: 2048, ECDSA: 256 };

function listWords(values: readonly (string | number)[]): string {
  return values.length === 1 ? `${values[0]}` : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/**
 * Fills in defaults and rejects what we cannot generate, naming the field (`field` is the path of
 * the `privateKey` object, e.g. `spec.tls.certificates[alias=server].privateKey`).
 */
export function resolveKeySpec(spec: PrivateKeySpec = {}, field = 'privateKey'): ResolvedKeySpec {
  const algorithm = spec.algorithm ?? 'RSA';
  if (algorithm !== 'RSA' && algorithm !== 'ECDSA') {
    throw new CertificateInputError(`${field}.algorithm`, `${quote(algorithm)} is not supported; use RSA or ECDSA`);
  }
  const encoding = spec.encoding ?? 'PKCS1';
  if (encoding !== 'PKCS1' && encoding !== 'PKCS8') {
    throw new CertificateInputError(`${field}.encoding`, `${quote(encoding)} is not supported; use PKCS1 or PKCS8`);
  }
  const size = spec.size ?? DEFAULT_SIZE[algorithm];
  if (typeof size !== 'number') {
    throw new CertificateInputError(`${field}.size`, `must be a number of bits, e.g. ${DEFAULT_SIZE[algorithm]}`);
  }
  const allowed: readonly number[] = algorithm === 'RSA' ? RSA_SIZES : Object.keys(EC_CURVE_BY_SIZE).map(Number);
  if (!allowed.includes(size)) {
    throw new CertificateInputError(
      `${field}.size`,
      `${String(size)} is not supported for ${algorithm}; use ${listWords(allowed)}`,
    );
  }
  return { algorithm, size, encoding };
}

export async function generatePrivateKey(spec: PrivateKeySpec = {}, field = 'privateKey'): Promise<GeneratedKey> {
  const resolved = resolveKeySpec(spec, field);
  const { privateKey, publicKey } =
    resolved.algorithm === 'RSA'
      ? await generateKeyPairAsync('rsa', { modulusLength: resolved.size, publicExponent: 0x10001 })
      : await generateKeyPairAsync('ec', { namedCurve: EC_CURVE_BY_SIZE[resolved.size]! });
  return {
    ...resolved,
    keyPem: exportPrivateKey(privateKey, resolved.encoding),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

export function exportPrivateKey(key: KeyObject, encoding: KeyEncoding): string {
  if (encoding === 'PKCS8') return key.export({ type: 'pkcs8', format: 'pem' }) as string;
  const type = key.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs1';
  return key.export({ type, format: 'pem' }) as string;
}

/** Algorithm and size of an RSA or ECDSA key; anything else is refused with `label: name ...`. */
export function describeKey(key: KeyObject, label: string, name: string): { algorithm: KeyAlgorithm; size: number } {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const size = details.modulusLength ?? 0;
    if (size < 2048) {
      throw new CertificateInputError(label, `${name} is a ${size}-bit RSA key; at least 2048 bits are required`);
    }
    return { algorithm: 'RSA', size };
  }
  if (key.asymmetricKeyType === 'ec') {
    const size = EC_SIZE_BY_CURVE[details.namedCurve ?? ''];
    if (size === undefined) {
      throw new CertificateInputError(
        label,
        `${name} uses the curve ${details.namedCurve ?? 'unknown'}; use P-256, P-384 or P-521`,
      );
    }
    return { algorithm: 'ECDSA', size };
  }
  throw new CertificateInputError(
    label,
    `${name} is an ${key.asymmetricKeyType ?? 'unknown'} key; only RSA and ECDSA keys are supported`,
  );
}

/** Loads a PEM private key. Errors say what is wrong with `name` under `label` and never echo the text. */
export function loadPrivateKey(pem: string, label: string, name = 'tls.key'): KeyObject {
  const blocks = pemBlocks(pem).filter((block) => block.label.endsWith('PRIVATE KEY'));
  if (blocks.length === 0) {
    throw new CertificateInputError(label, `${name} holds no PEM private key`);
  }
  if (blocks.length > 1) {
    throw new CertificateInputError(label, `${name} holds ${blocks.length} private keys; keep exactly one`);
  }
  if (blocks[0]!.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw new CertificateInputError(label, `${name} is encrypted; store the key unencrypted, as cert-manager does`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // OpenSSL's message adds nothing for a user and must not carry the input along.
    throw new CertificateInputError(label, `${name} is not a valid PEM private key`);
  }
  describeKey(key, label, name);
  return key;
}

/** Loads a PEM public key (SubjectPublicKeyInfo) of a supported algorithm. */
export function loadPublicKey(pem: string, label: string, name = 'public key'): KeyObject {
  if (pemBlocks(pem).some((block) => block.label.endsWith('PRIVATE KEY'))) {
    // Accepting it would work, but a caller passing private keys around is a bug worth stopping.
    throw new CertificateInputError(label, `${name} must be a public key, but a private key was passed`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new CertificateInputError(label, `${name} is not a valid PEM public key`);
  }
  describeKey(key, label, name);
  return key;
}

/** The public half of a private key, as SPKI PEM (for issuing against a key kept in a staging Secret). */
export function publicKeyPemOf(keyPem: string, label = 'private key'): string {
  return createPublicKey(loadPrivateKey(keyPem, label, 'key')).export({ type: 'spki', format: 'pem' }) as string;
}

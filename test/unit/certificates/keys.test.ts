import { createPrivateKey, createPublicKey } from 'node:crypto';
import { CertificateInputError } from '../../../lib/certificates/errors.js';
import { generatePrivateKey, publicKeyPemOf, resolveKeySpec } from '../../../lib/certificates/keys.js';
import { openssl, tempFiles, pemLabel } from './openssl.js';

const files = tempFiles();
afterAll(() => files.cleanup());

describe('generatePrivateKey', () => {
  const cases = [
    { algorithm: 'RSA', size: 2048, encoding: 'PKCS1', header: 'RSA PRIVATE KEY', text: 'Private-Key: (2048 bit' },
    { algorithm: 'RSA', size: 3072, encoding: 'PKCS1', header: 'RSA PRIVATE KEY', text: 'Private-Key: (3072 bit' },
    { algorithm: 'RSA', size: 4096, encoding: 'PKCS1', header: 'RSA PRIVATE KEY', text: 'Private-Key: (4096 bit' },
    { algorithm: 'RSA', size: 2048, encoding: 'PKCS8', header: 'PRIVATE KEY', text: 'Private-Key: (2048 bit' },
    { algorithm: 'RSA', size: 4096, encoding: 'PKCS8', header: 'PRIVATE KEY', text: 'Private-Key: (4096 bit' },
    { algorithm: 'ECDSA', size: 256, encoding: 'PKCS1', header: 'EC PRIVATE KEY', text: 'NIST CURVE: P-256' },
    { algorithm: 'ECDSA', size: 384, encoding: 'PKCS1', header: 'EC PRIVATE KEY', text: 'NIST CURVE: P-384' },
    { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8', header: 'PRIVATE KEY', text: 'NIST CURVE: P-256' },
    { algorithm: 'ECDSA', size: 384, encoding: 'PKCS8', header: 'PRIVATE KEY', text: 'NIST CURVE: P-384' },
  ] as const;

  test.each(cases)(
    '$algorithm $size $encoding → BEGIN $header',
    async ({ algorithm, size, encoding, header, text }) => {
      const key = await generatePrivateKey({ algorithm, size, encoding });
      expect(key).toMatchObject({ algorithm, size, encoding });
      expect(key.keyPem.startsWith(`-----BEGIN ${header}-----\n`)).toBe(true);
      expect(key.publicKeyPem.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);

      // openssl reads the key, finds it consistent, and agrees on its type and size.
      const path = files.write('key.pem', key.keyPem);
      const shown = openssl(['pkey', '-in', path, '-noout', '-text', '-check']);
      expect(shown.code).toBe(0);
      expect(shown.output).toContain(text);
      expect(shown.output).toMatch(/valid/i);
      // The returned public key is the private key's.
      expect(openssl(['pkey', '-in', path, '-pubout']).stdout).toBe(key.publicKeyPem);
    },
  );

  test('defaults follow cert-manager: RSA 2048, PKCS1', async () => {
    expect(resolveKeySpec()).toEqual({ algorithm: 'RSA', size: 2048, encoding: 'PKCS1' });
    expect(resolveKeySpec({ algorithm: 'ECDSA' })).toEqual({ algorithm: 'ECDSA', size: 256, encoding: 'PKCS1' });
    const key = await generatePrivateKey();
    expect(pemLabel(key.keyPem)).toBe('RSA PRIVATE KEY');
    expect(createPrivateKey(key.keyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  test('publicKeyPemOf derives the public key of a stored private key', async () => {
    const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 384, encoding: 'PKCS8' });
    expect(publicKeyPemOf(key.keyPem)).toBe(key.publicKeyPem);
    expect(createPublicKey(key.publicKeyPem).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
  });
});

describe('unsupported key specs are rejected naming the field', () => {
  const field = 'spec.tls.certificates[alias=server].privateKey';
  const cases: [unknown, string][] = [
    [{ algorithm: 'RSA', size: 1024 }, `${field}.size: 1024 is not supported for RSA; use 2048, 3072 or 4096`],
    [{ algorithm: 'RSA', size: 8192 }, `${field}.size: 8192 is not supported for RSA; use 2048, 3072 or 4096`],
    [{ algorithm: 'ECDSA', size: 521 }, `${field}.size: 521 is not supported for ECDSA; use 256 or 384`],
    [{ algorithm: 'ECDSA', size: 2048 }, `${field}.size: 2048 is not supported for ECDSA; use 256 or 384`],
    [{ algorithm: 'Ed25519' }, `${field}.algorithm: "Ed25519" is not supported; use RSA or ECDSA`],
    [{ encoding: 'PKCS12' }, `${field}.encoding: "PKCS12" is not supported; use PKCS1 or PKCS8`],
    [{ size: '2048' }, `${field}.size: must be a number of bits, e.g. 2048`],
  ];
  test.each(cases)('%j', async (spec, message) => {
    expect(() => resolveKeySpec(spec as never, field)).toThrow(message);
    await expect(generatePrivateKey(spec as never, field)).rejects.toThrow(CertificateInputError);
  });
});

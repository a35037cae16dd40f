import { generateKeyPairSync } from 'node:crypto';
import { createSelfSignedCA, parseCA } from '../../../lib/certificates/ca.js';
import { CertificateInputError } from '../../../lib/certificates/errors.js';
import { issueCertificate } from '../../../lib/certificates/issue.js';
import { generatePrivateKey } from '../../../lib/certificates/keys.js';
import { DAY, extensionsText, openssl, opensslCA, tempFiles, pemLabel } from './openssl.js';
import { caSecretData } from '../../bad-input/ca-material.js';

const files = tempFiles();
afterAll(() => files.cleanup());

describe('createSelfSignedCA', () => {
  const cases = [
    { algorithm: 'RSA', size: 2048, signature: 'sha256WithRSAEncryption' },
    { algorithm: 'RSA', size: 3072, signature: 'sha256WithRSAEncryption' },
    { algorithm: 'ECDSA', size: 256, signature: 'ecdsa-with-SHA256' },
    { algorithm: 'ECDSA', size: 384, signature: 'ecdsa-with-SHA384' },
  ] as const;

  test.each(cases)(
    '$algorithm $size is a valid self-signed CA signed with $signature',
    async ({ algorithm, size, signature }) => {
      const ca = await createSelfSignedCA({
        commonName: `Demo CA ${algorithm}-${size}`,
        organizations: ['demo'],
        algorithm,
        size,
        notAfter: new Date(Date.now() + 365 * DAY),
      });
      const caPath = files.write('ca.crt', ca.certPem);
      // Strict X.509 checks: critical basicConstraints, key identifiers, positive serial, v3.
      expect(openssl(['verify', '-x509_strict', '-check_ss_sig', '-CAfile', caPath, caPath]).output).toContain(': OK');
      const ext = extensionsText(
        files,
        ca.certPem,
        'basicConstraints,keyUsage,subjectKeyIdentifier,authorityKeyIdentifier',
      );
      expect(ext).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
      expect(ext).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
      const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(ext)?.[1];
      expect(ski).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
      expect(ext).toMatch(new RegExp(`Authority Key Identifier:\\s*\\n\\s*${ski}`));
      const text = openssl(['x509', '-in', caPath, '-noout', '-text']).stdout;
      expect(text).toContain(`Signature Algorithm: ${signature}`);
      expect(text).toContain('Subject: O = demo, CN = Demo CA');
      expect(text).toContain('Version: 3 (0x2)');

      const parsed = parseCA(ca.certPem, ca.keyPem, 'Secret demo/ca');
      expect(parsed.signer.algorithmName).toBe(signature);
      expect(parsed.keyId.toString('hex').toUpperCase()).toBe(ski!.replace(/:/g, ''));
    },
  );

  test('the key uses the requested encoding', async () => {
    const ca = await createSelfSignedCA({
      commonName: 'x',
      algorithm: 'ECDSA',
      encoding: 'PKCS8',
      notAfter: new Date(Date.now() + DAY),
    });
    expect(pemLabel(ca.keyPem)).toBe('PRIVATE KEY');
  });

  test('notAfter must follow notBefore', async () => {
    await expect(
      createSelfSignedCA({ commonName: 'x', algorithm: 'ECDSA', notAfter: new Date(Date.now() - DAY) }),
    ).rejects.toThrow('notAfter: must be later than notBefore');
  });
});

describe('parseCA', () => {
  let rsaCA: { certPem: string; keyPem: string };
  let ecCA: { certPem: string; keyPem: string };
  beforeAll(async () => {
    rsaCA = await createSelfSignedCA({
      commonName: 'RSA CA',
      algorithm: 'RSA',
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    ecCA = await createSelfSignedCA({
      commonName: 'EC CA',
      algorithm: 'ECDSA',
      notAfter: new Date(Date.now() + 30 * DAY),
    });
  });

  test('accepts CAs made by openssl, including P-521 (signed with SHA-512)', () => {
    const p521 = opensslCA(files, { newKey: ['ec', '-pkeyopt', 'ec_paramgen_curve:P-521'], subject: '/CN=User CA' });
    const parsed = parseCA(p521.certPem, p521.keyPem, 'Secret demo/user-ca');
    expect(parsed.signer.algorithmName).toBe('ecdsa-with-SHA512');
    const rsa = opensslCA(files, { newKey: ['rsa:2048'], subject: '/CN=User RSA CA' });
    expect(parseCA(rsa.certPem, rsa.keyPem).signer.algorithmName).toBe('sha256WithRSAEncryption');
  });

  test('uses the first certificate when tls.crt carries a chain', () => {
    const parsed = parseCA(ecCA.certPem + rsaCA.certPem, ecCA.keyPem);
    expect(parsed.certPem).toBe(ecCA.certPem);
  });

  test('rejects a key that does not match the certificate', () => {
    expect(() => parseCA(rsaCA.certPem, ecCA.keyPem, 'Secret demo/ca')).toThrow(
      new CertificateInputError('Secret demo/ca', 'tls.key does not match tls.crt'),
    );
  });

  test('rejects a leaf certificate used as a CA', async () => {
    const leafKey = await generatePrivateKey({ algorithm: 'ECDSA' });
    const leaf = issueCertificate({
      ca: ecCA,
      publicKeyPem: leafKey.publicKeyPem,
      subject: { commonName: 'pb' },
      usage: 'server',
      notBefore: new Date(),
      notAfter: new Date(Date.now() + DAY),
    });
    expect(() => parseCA(leaf.certPem, leafKey.keyPem, 'Secret demo/ca')).toThrow(
      /^Secret demo\/ca: tls\.crt is not a CA certificate \(no basicConstraints CA:TRUE\)/,
    );
  });

  test('rejects an intermediate CA (clients get only ca.crt, which must be a self-signed root)', async () => {
    const data = await caSecretData('intermediate-pathlen0');
    expect(() => parseCA(data['tls.crt'], data['tls.key'], 'Secret demo/ca')).toThrow(
      /^Secret demo\/ca: tls\.crt is an intermediate CA \(issued by "CN=corpus root CA"\), not a self-signed root; .*point the issuer at a root CA's Secret$/,
    );
  });

  test('rejects a CA whose keyUsage forbids signing certificates', () => {
    const ca = opensslCA(files, { newKey: ['rsa:2048'], subject: '/CN=CRL only', keyUsage: 'critical,cRLSign' });
    expect(() => parseCA(ca.certPem, ca.keyPem, 'Secret demo/ca')).toThrow(
      "Secret demo/ca: tls.crt's keyUsage does not allow signing certificates (keyCertSign)",
    );
  });

  const bad: [string, () => [string, string], string][] = [
    ['empty tls.crt', () => ['', ecCA.keyPem], 'tls.crt holds no PEM certificate'],
    ['a key as tls.crt', () => [ecCA.keyPem, ecCA.keyPem], 'tls.crt holds no PEM certificate'],
    [
      'a corrupt certificate',
      () => ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', ecCA.keyPem],
      'tls.crt is not a valid X.509 certificate',
    ],
    ['empty tls.key', () => [ecCA.certPem, ''], 'tls.key holds no PEM private key'],
    ['a certificate as tls.key', () => [ecCA.certPem, ecCA.certPem], 'tls.key holds no PEM private key'],
    ['two keys', () => [ecCA.certPem, ecCA.keyPem + rsaCA.keyPem], 'tls.key holds 2 private keys; keep exactly one'],
    [
      'a corrupt key',
      () => [ecCA.certPem, ecCA.keyPem.replace(/\n[A-Za-z0-9+/]{8}/, '\n!!!!!!!!')],
      'tls.key is not a valid PEM private key',
    ],
  ];
  test.each(bad)('rejects %s', (_, input, problem) => {
    const [cert, key] = input();
    expect(() => parseCA(cert, key, 'Secret demo/ca')).toThrow(`Secret demo/ca: ${problem}`);
  });

  test('rejects an encrypted key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const encrypted = privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    }) as string;
    expect(() => parseCA(ecCA.certPem, encrypted, 'Secret demo/ca')).toThrow(
      'Secret demo/ca: tls.key is encrypted; store the key unencrypted, as cert-manager does',
    );
  });

  test('rejects an Ed25519 CA key', () => {
    const ca = opensslCA(files, { newKey: ['ed25519'], subject: '/CN=Edwards CA' });
    expect(() => parseCA(ca.certPem, ca.keyPem, 'Secret demo/ca')).toThrow(
      'Secret demo/ca: tls.key is an ed25519 key; only RSA and ECDSA keys are supported',
    );
  });
});

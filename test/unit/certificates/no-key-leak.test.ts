// No private key may reach an error: errors end up in logs, Kubernetes events and the Temporal
// history. Every call below gets key material where it should not be, and every error it throws is
// searched for the key's text.
import { generateKeyPairSync } from 'node:crypto';
import { createSelfSignedCA, parseCA, type CAKeyPair } from '../../../lib/certificates/ca.js';
import { buildCrl } from '../../../lib/certificates/crl.js';
import { parseDuration } from '../../../lib/certificates/duration.js';
import { CertificateInputError } from '../../../lib/certificates/errors.js';
import { certificateMatchesKey, describeCertificate, verifyChain } from '../../../lib/certificates/inspect.js';
import { issueCertificate, type IssueCertificateInput } from '../../../lib/certificates/issue.js';
import { generatePrivateKey, publicKeyPemOf, type GeneratedKey } from '../../../lib/certificates/keys.js';
import { serverCertificateNames } from '../../../lib/certificates/sans.js';
import { DAY } from './openssl.js';

let ca: CAKeyPair;
let leafKey: GeneratedKey;
let secrets: string[];

beforeAll(async () => {
  ca = await createSelfSignedCA({ commonName: 'Leak CA', algorithm: 'ECDSA', notAfter: new Date(Date.now() + DAY) });
  leafKey = await generatePrivateKey({ algorithm: 'RSA' });
  secrets = [ca.keyPem, leafKey.keyPem];
});

/** Every 16-character run of a key's base64 body: any of them in an error counts as a leak. */
function fragments(keyPem: string): string[] {
  const body = keyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return Array.from({ length: body.length - 15 }, (_, i) => body.slice(i, i + 16));
}

function thrown(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

function expectNoKeyIn(error: Error) {
  const everything = [
    error.message,
    String(error.stack),
    String(error),
    JSON.stringify(error, Object.getOwnPropertyNames(error)),
    String((error as { cause?: unknown }).cause ?? ''),
  ].join('\n');
  expect(everything).not.toContain('PRIVATE KEY');
  for (const secret of secrets) {
    for (const fragment of fragments(secret)) {
      if (everything.includes(fragment)) throw new Error(`error text contains key material: ${error.message}`);
    }
  }
}

const truncate = (pem: string) => pem.slice(0, pem.length / 2);
const corrupt = (pem: string) => pem.replace(/\n([A-Za-z0-9+/]{10})/, '\n!!!!!!!!!!');
const issueInput = (overrides: Partial<IssueCertificateInput>): IssueCertificateInput => ({
  ca,
  publicKeyPem: leafKey.publicKeyPem,
  subject: { commonName: 'pb' },
  usage: 'server',
  notBefore: new Date(),
  notAfter: new Date(Date.now() + 3_600_000),
  ...overrides,
});

const cases: [string, () => unknown][] = [
  ['CA key truncated', () => parseCA(ca.certPem, truncate(ca.keyPem), 'Secret demo/ca')],
  ['CA key corrupted', () => parseCA(ca.certPem, corrupt(ca.keyPem), 'Secret demo/ca')],
  ['CA key given as the certificate', () => parseCA(ca.keyPem, ca.keyPem, 'Secret demo/ca')],
  ['CA key and certificate swapped', () => parseCA(ca.keyPem, ca.certPem, 'Secret demo/ca')],
  ['wrong CA key', () => parseCA(ca.certPem, leafKey.keyPem, 'Secret demo/ca')],
  ['key with an unsupported curve', () => parseCA(ca.certPem, secp256k1Key(), 'Secret demo/ca')],
  ['encrypted key', () => parseCA(ca.certPem, encryptedKey(), 'Secret demo/ca')],
  ['leaf private key as public key', () => issueCertificate(issueInput({ publicKeyPem: leafKey.keyPem }))],
  [
    'truncated private key as public key',
    () => issueCertificate(issueInput({ publicKeyPem: truncate(leafKey.keyPem) })),
  ],
  [
    'key as CA certificate in issue',
    () => issueCertificate(issueInput({ ca: { certPem: ca.keyPem, keyPem: ca.keyPem } })),
  ],
  ['key in a DNS name', () => issueCertificate(issueInput({ dnsNames: [leafKey.keyPem] }))],
  ['key body in a URI', () => issueCertificate(issueInput({ uris: [leafKey.keyPem.split('\n')[1]!] }))],
  [
    'key in the subject',
    () => issueCertificate(issueInput({ subject: { commonName: 'pb', countries: [leafKey.keyPem] } })),
  ],
  ['key as usage', () => issueCertificate(issueInput({ usage: leafKey.keyPem as never }))],
  [
    'key in the CRL CA',
    () =>
      buildCrl({
        ca: { certPem: ca.certPem, keyPem: corrupt(ca.keyPem) },
        revoked: [],
        thisUpdate: new Date(),
        nextUpdate: new Date(Date.now() + DAY),
        crlNumber: 1,
      }),
  ],
  [
    'key as a revoked serial',
    () =>
      buildCrl({
        ca,
        revoked: [{ serialHex: leafKey.keyPem, revokedAt: new Date() }],
        thisUpdate: new Date(),
        nextUpdate: new Date(Date.now() + DAY),
        crlNumber: 1,
      }),
  ],
  ['key described as a certificate', () => describeCertificate(leafKey.keyPem)],
  ['key matched as a certificate', () => certificateMatchesKey(leafKey.keyPem, leafKey.keyPem)],
  ['corrupt key matched', () => certificateMatchesKey(ca.certPem, corrupt(ca.keyPem))],
  ['key as a leaf in verifyChain', () => verifyChain(leafKey.keyPem, ca.certPem)],
  ['truncated key for its public half', () => publicKeyPemOf(truncate(leafKey.keyPem))],
  ['key as a duration', () => parseDuration(leafKey.keyPem, 'spec.tls.certificates[alias=server].duration')],
  [
    'key as an extra IP',
    () => serverCertificateNames({ name: 'pb', namespace: 'demo', replicas: 1, extraIpAddresses: [leafKey.keyPem] }),
  ],
];

function secp256k1Key(): string {
  const pem = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({
    type: 'sec1',
    format: 'pem',
  }) as string;
  secrets.push(pem);
  return pem;
}

function encryptedKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  secrets.push(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'pw' }) as string;
  secrets.push(pem);
  return pem;
}

test.each(cases)('%s: a CertificateInputError that shows no key material', (_, call) => {
  const error = thrown(call);
  expect(error).toBeInstanceOf(CertificateInputError);
  expectNoKeyIn(error);
});

test('generatePrivateKey rejects a key pasted as the algorithm without echoing it', async () => {
  const error = await generatePrivateKey({ algorithm: leafKey.keyPem as never }).catch((e: Error) => e);
  expect(error).toBeInstanceOf(CertificateInputError);
  expect((error as Error).message).toBe(
    'privateKey.algorithm: (encoded data, not shown) is not supported; use RSA or ECDSA',
  );
  expectNoKeyIn(error as Error);
});

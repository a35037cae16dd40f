import { createSelfSignedCA, type CAKeyPair } from '../../../lib/certificates/ca.js';
import {
  certificateMatchesKey,
  describeCertificate,
  splitPemBundle,
  verifyChain,
} from '../../../lib/certificates/inspect.js';
import { issueCertificate } from '../../../lib/certificates/issue.js';
import { generatePrivateKey, type GeneratedKey } from '../../../lib/certificates/keys.js';
import { DAY, HOUR, openssl, tempFiles, pemLabel } from './openssl.js';

const files = tempFiles();
afterAll(() => files.cleanup());

let oldCA: CAKeyPair;
let newCA: CAKeyPair;
let otherCA: CAKeyPair;
let key: GeneratedKey;
let otherKey: GeneratedKey;

beforeAll(async () => {
  const notAfter = new Date(Date.now() + 30 * DAY);
  [oldCA, newCA, otherCA, key, otherKey] = await Promise.all([
    createSelfSignedCA({ commonName: 'Old CA', algorithm: 'RSA', notAfter }),
    createSelfSignedCA({ commonName: 'New CA', algorithm: 'ECDSA', size: 384, notAfter }),
    // Same name as the new CA but a different key: a name match alone must not count.
    createSelfSignedCA({ commonName: 'New CA', algorithm: 'ECDSA', size: 384, notAfter }),
    generatePrivateKey({ algorithm: 'ECDSA' }),
    generatePrivateKey({ algorithm: 'RSA' }),
  ]);
});

function leafFrom(ca: CAKeyPair, notBefore = new Date(), notAfter = new Date(Date.now() + DAY)) {
  return issueCertificate({
    ca,
    publicKeyPem: key.publicKeyPem,
    subject: { commonName: 'pb', organizations: ['demo'] },
    dnsNames: ['pb.demo.svc', 'pb'],
    ipAddresses: ['::1', '10.0.0.1'],
    uris: ['spiffe://cluster.local/pb'],
    usage: 'server',
    notBefore,
    notAfter,
  });
}

describe('describeCertificate', () => {
  test('reports what issueCertificate returned and what openssl reads', () => {
    const issued = leafFrom(newCA);
    const described = describeCertificate(issued.certPem);
    expect(described).toEqual({
      serialHex: issued.serialHex,
      fingerprintSha256: issued.fingerprintSha256,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      subject: 'O=demo, CN=pb',
      issuer: 'CN=New CA',
      isCA: false,
      // in the certificate's order, which is the order they were given in
      dnsNames: ['pb.demo.svc', 'pb'],
      ipAddresses: ['::1', '10.0.0.1'],
      uris: ['spiffe://cluster.local/pb'],
      emailAddresses: [],
    });
    const shown = openssl(['x509', '-in', files.write('leaf.crt', issued.certPem), '-noout', '-serial']).stdout;
    expect(shown).toBe(`serial=${described.serialHex}\n`);
  });

  test('reads certificates made by others, and CAs', () => {
    const described = describeCertificate(oldCA.certPem);
    expect(described.isCA).toBe(true);
    expect(described.dnsNames).toEqual([]);
    expect(described.subject).toBe('CN=Old CA');
  });

  test('rejects text without a certificate', () => {
    expect(() => describeCertificate('nothing here', 'Secret demo/pb-server-cert')).toThrow(
      'Secret demo/pb-server-cert: tls.crt holds no PEM certificate',
    );
  });
});

describe('certificateMatchesKey', () => {
  test('true for the pair, false for another key (RSA vs ECDSA and same algorithm)', async () => {
    const issued = leafFrom(newCA);
    expect(certificateMatchesKey(issued.certPem, key.keyPem)).toBe(true);
    expect(certificateMatchesKey(issued.certPem, otherKey.keyPem)).toBe(false);
    const sameAlgorithm = await generatePrivateKey({ algorithm: 'ECDSA' });
    expect(certificateMatchesKey(issued.certPem, sameAlgorithm.keyPem)).toBe(false);
  });

  test('works for PKCS8 and PKCS1 encodings of the same key', async () => {
    const pkcs8 = await generatePrivateKey({ algorithm: 'RSA', encoding: 'PKCS8' });
    const issued = issueCertificate({
      ca: newCA,
      publicKeyPem: pkcs8.publicKeyPem,
      subject: { commonName: 'x' },
      usage: 'client',
      notBefore: new Date(),
      notAfter: new Date(Date.now() + HOUR),
    });
    const pkcs1 = openssl(['pkey', '-traditional'], pkcs8.keyPem).stdout;
    expect(pemLabel(pkcs1)).toBe('RSA PRIVATE KEY');
    expect(certificateMatchesKey(issued.certPem, pkcs8.keyPem)).toBe(true);
    expect(certificateMatchesKey(issued.certPem, pkcs1)).toBe(true);
  });
});

describe('verifyChain', () => {
  test('accepts a leaf signed by any CA of a bundle, in either order', () => {
    const fromOld = leafFrom(oldCA);
    const fromNew = leafFrom(newCA);
    const bundle = oldCA.certPem + newCA.certPem;
    expect(verifyChain(fromOld.certPem, bundle)).toBe(true);
    expect(verifyChain(fromNew.certPem, bundle)).toBe(true);
    expect(verifyChain(fromNew.certPem, newCA.certPem + oldCA.certPem)).toBe(true);
  });

  test('rejects a leaf whose CA is not in the bundle, even one with the same name', () => {
    expect(verifyChain(leafFrom(newCA).certPem, oldCA.certPem)).toBe(false);
    expect(verifyChain(leafFrom(newCA).certPem, otherCA.certPem)).toBe(false);
    expect(verifyChain(leafFrom(newCA).certPem, '')).toBe(false);
  });

  test('rejects a leaf outside its validity', () => {
    const leaf = leafFrom(newCA, new Date(Date.now() + HOUR), new Date(Date.now() + 2 * HOUR));
    expect(verifyChain(leaf.certPem, newCA.certPem)).toBe(false);
    expect(verifyChain(leaf.certPem, newCA.certPem, new Date(Date.now() + 90 * 60_000))).toBe(true);
    expect(verifyChain(leaf.certPem, newCA.certPem, new Date(Date.now() + 3 * HOUR))).toBe(false);
  });

  test('skips unreadable members of the bundle', () => {
    const junk = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(verifyChain(leafFrom(newCA).certPem, junk + newCA.certPem)).toBe(true);
  });
});

describe('splitPemBundle', () => {
  test('returns each certificate, normalised, ignoring comments and other blocks', () => {
    const text = [
      '# old CA',
      oldCA.certPem.replace(/\n/g, '\r\n'),
      'subject=CN = New CA',
      newCA.certPem,
      key.keyPem,
    ].join('\n');
    expect(splitPemBundle(text)).toEqual([oldCA.certPem, newCA.certPem]);
    expect(splitPemBundle('')).toEqual([]);
  });
});

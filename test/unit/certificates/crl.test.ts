import { canSignCrls, createSelfSignedCA, parseCA, type CAKeyPair } from '../../../lib/certificates/ca.js';
import { buildCrl, type BuildCrlInput } from '../../../lib/certificates/crl.js';
import { issueCertificate, type IssuedCertificate } from '../../../lib/certificates/issue.js';
import { generatePrivateKey } from '../../../lib/certificates/keys.js';
import { DAY, openssl, opensslCA, tempFiles } from './openssl.js';

const files = tempFiles();
afterAll(() => files.cleanup());

async function caWithLeaves(algorithm: 'RSA' | 'ECDSA', size: number) {
  const ca = await createSelfSignedCA({
    commonName: `CRL CA ${algorithm}`,
    algorithm,
    size,
    notAfter: new Date(Date.now() + 30 * DAY),
  });
  const key = await generatePrivateKey({ algorithm: 'ECDSA' });
  const issue = () =>
    issueCertificate({
      ca,
      publicKeyPem: key.publicKeyPem,
      subject: { commonName: 'pb' },
      dnsNames: ['pb.demo.svc'],
      usage: 'server',
      notBefore: new Date(),
      notAfter: new Date(Date.now() + DAY),
    });
  return { ca, revokedLeaf: issue(), goodLeaf: issue() };
}

function crlInput(ca: CAKeyPair, revoked: IssuedCertificate[], overrides: Partial<BuildCrlInput> = {}): BuildCrlInput {
  return {
    ca,
    revoked: revoked.map((leaf) => ({
      serialHex: leaf.serialHex,
      revokedAt: new Date(),
      reason: 'superseded' as const,
    })),
    thisUpdate: new Date(),
    nextUpdate: new Date(Date.now() + 7 * DAY),
    crlNumber: 42,
    ...overrides,
  };
}

describe.each([
  ['RSA', 2048, 'sha256WithRSAEncryption'],
  ['ECDSA', 256, 'ecdsa-with-SHA256'],
  ['ECDSA', 384, 'ecdsa-with-SHA384'],
] as const)('a CRL signed by a %s-%d CA', (algorithm, size, signature) => {
  let setup: Awaited<ReturnType<typeof caWithLeaves>>;
  let crlPath: string;
  let caPath: string;
  beforeAll(async () => {
    setup = await caWithLeaves(algorithm, size);
    const crl = buildCrl(crlInput(setup.ca, [setup.revokedLeaf]));
    expect(crl).toMatch(/^-----BEGIN X509 CRL-----\n[\s\S]+\n-----END X509 CRL-----\n$/);
    crlPath = files.write('crl.pem', crl);
    caPath = files.write('ca.crt', setup.ca.certPem);
  });

  test('verifies against the CA', () => {
    const result = openssl(['crl', '-in', crlPath, '-CAfile', caPath, '-verify', '-noout']);
    expect(result.code).toBe(0);
    expect(result.output).toContain('verify OK');
  });

  test('is v2 with the CRL number, the authority key id and the entry', () => {
    const text = openssl(['crl', '-in', crlPath, '-noout', '-text']).stdout;
    expect(text).toContain('Version 2 (0x1)');
    expect(text).toContain(`Signature Algorithm: ${signature}`);
    expect(text).toMatch(/CRL Number:\s*\n\s+42\n/);
    const ski = /Identifier:\s*\n\s*(\S+)/.exec(
      openssl(['x509', '-in', caPath, '-noout', '-ext', 'subjectKeyIdentifier']).stdout,
    )![1];
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s*\\n\\s+${ski}`));
    expect(text).toContain(`Serial Number: ${setup.revokedLeaf.serialHex}`);
    expect(text).toMatch(/CRL Reason Code:\s*\n\s+Superseded/);
    expect(text).not.toContain(setup.goodLeaf.serialHex);
  });

  test('makes openssl verify -crl_check reject the revoked leaf and accept the other', () => {
    const check = (leaf: IssuedCertificate) =>
      openssl([
        'verify',
        '-x509_strict',
        '-crl_check',
        '-CRLfile',
        crlPath,
        '-CAfile',
        caPath,
        files.write('leaf.crt', leaf.certPem),
      ]);
    const revoked = check(setup.revokedLeaf);
    expect(revoked.code).not.toBe(0);
    expect(revoked.output).toContain('certificate revoked');
    const good = check(setup.goodLeaf);
    expect(good.output).toMatch(/: OK\n$/);
    expect(good.code).toBe(0);
  });
});

describe('buildCrl', () => {
  let setup: Awaited<ReturnType<typeof caWithLeaves>>;
  beforeAll(async () => {
    setup = await caWithLeaves('ECDSA', 256);
  });

  test('an empty CRL is valid and revokes nothing', () => {
    const crlPath = files.write('crl.pem', buildCrl(crlInput(setup.ca, [], { crlNumber: 0 })));
    const caPath = files.write('ca.crt', setup.ca.certPem);
    expect(openssl(['crl', '-in', crlPath, '-CAfile', caPath, '-verify', '-noout']).code).toBe(0);
    expect(openssl(['crl', '-in', crlPath, '-noout', '-text']).stdout).toContain('No Revoked Certificates.');
    const leafPath = files.write('leaf.crt', setup.revokedLeaf.certPem);
    expect(openssl(['verify', '-crl_check', '-CRLfile', crlPath, '-CAfile', caPath, leafPath]).code).toBe(0);
  });

  test('lists each serial once, at its earliest date, sorted, with reasons', () => {
    const early = new Date('2026-01-01T00:00:00Z');
    const late = new Date('2026-02-01T00:00:00Z');
    const crl = buildCrl(
      crlInput(setup.ca, [], {
        revoked: [
          { serialHex: '7F01', revokedAt: late, reason: 'keyCompromise' },
          { serialHex: '7f:01', revokedAt: early, reason: 'keyCompromise' },
          { serialHex: '0A', revokedAt: late },
          { serialHex: '00ff', revokedAt: late, reason: 'cessationOfOperation' },
        ],
        crlNumber: 2n ** 70n,
      }),
    );
    const text = openssl(['crl', '-in', files.write('crl.pem', crl), '-noout', '-text']).stdout;
    const serials = [...text.matchAll(/Serial Number: (\S+)/g)].map((m) => m[1]);
    expect(serials).toEqual(['0A', 'FF', '7F01']);
    expect(text).toMatch(
      /Serial Number: 7F01\n\s+Revocation Date: Jan {2}1 00:00:00 2026 GMT\n\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code:\s*\n\s+Key Compromise/,
    );
    expect(text).toMatch(/Serial Number: FF\n[\s\S]*Cessation Of Operation/);
    expect(text).toMatch(/CRL Number:\s*\n\s+1180591620717411303424\n/);
  });

  const field = (name: string, overrides: () => Partial<BuildCrlInput>, message: string) =>
    [name, overrides, message] as const;
  test.each([
    field(
      'nextUpdate before thisUpdate',
      () => ({ nextUpdate: new Date(Date.now() - DAY) }),
      'nextUpdate: must be later than thisUpdate',
    ),
    field('negative CRL number', () => ({ crlNumber: -1 }), 'crlNumber: must be a non-negative integer below 2^159'),
    field('fractional CRL number', () => ({ crlNumber: 1.5 }), 'crlNumber: must be a non-negative integer below 2^159'),
    field(
      'bad serial',
      () => ({ revoked: [{ serialHex: 'g1', revokedAt: new Date() }] }),
      'revoked[0].serialHex: must be a hexadecimal serial number',
    ),
    field(
      'bad date',
      () => ({ revoked: [{ serialHex: '01', revokedAt: new Date('x') }] }),
      'revoked[0].revokedAt: must be a valid date',
    ),
    field(
      'bad reason',
      () => ({ revoked: [{ serialHex: '01', revokedAt: new Date(), reason: 'lost' as never }] }),
      'revoked[0].reason: "lost" is not supported',
    ),
  ])('rejects %s', (_, overrides, message) => {
    expect(() => buildCrl(crlInput(setup.ca, [], overrides()))).toThrow(message);
  });

  test('rejects a CA whose keyUsage forbids signing CRLs', () => {
    const ca = opensslCA(files, {
      newKey: ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      subject: '/CN=No CRLs',
      keyUsage: 'critical,keyCertSign',
    });
    // What validation sees (canSignCrls) agrees with what signing a CRL would find.
    expect(canSignCrls(parseCA(ca.certPem, ca.keyPem))).toBe(false);
    expect(canSignCrls(parseCA(setup.ca.certPem, setup.ca.keyPem))).toBe(true);
    const certManagerShape = opensslCA(files, {
      newKey: ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      subject: '/CN=cert-manager isCA',
      keyUsage: 'critical,digitalSignature,keyEncipherment,keyCertSign',
    });
    expect(canSignCrls(parseCA(certManagerShape.certPem, certManagerShape.keyPem))).toBe(false);
    expect(() => buildCrl(crlInput({ ...ca, label: 'Secret demo/ca' } as CAKeyPair, []))).toThrow(
      "Secret demo/ca: tls.crt's keyUsage does not allow signing CRLs (cRLSign)",
    );
  });
});

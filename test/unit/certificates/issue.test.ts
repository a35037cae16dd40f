import { createHash, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createSelfSignedCA, type CAKeyPair } from '../../../lib/certificates/ca.js';
import { readCertificateParts } from '../../../lib/certificates/certificate-reader.js';
import { issueCertificate, type IssueCertificateInput } from '../../../lib/certificates/issue.js';
import { generatePrivateKey, type GeneratedKey, type KeyAlgorithm } from '../../../lib/certificates/keys.js';
import { serverCertificateNames } from '../../../lib/certificates/sans.js';
import { DAY, extensionsText, HOUR, openssl, opensslCA, tempFiles } from './openssl.js';

const files = tempFiles();
afterAll(() => files.cleanup());

const KEY_TYPES = [
  { algorithm: 'RSA', size: 2048 },
  { algorithm: 'RSA', size: 3072 },
  { algorithm: 'RSA', size: 4096 },
  { algorithm: 'ECDSA', size: 256 },
  { algorithm: 'ECDSA', size: 384 },
] as const;
const SIGNATURE: Record<string, string> = {
  'RSA-2048': 'sha256WithRSAEncryption',
  'RSA-3072': 'sha256WithRSAEncryption',
  'RSA-4096': 'sha256WithRSAEncryption',
  'ECDSA-256': 'ecdsa-with-SHA256',
  'ECDSA-384': 'ecdsa-with-SHA384',
};
const id = (t: { algorithm: KeyAlgorithm; size: number }) => `${t.algorithm}-${t.size}`;

const cas = new Map<string, CAKeyPair>();
const leafKeys = new Map<string, GeneratedKey>();

beforeAll(async () => {
  await Promise.all(
    KEY_TYPES.map(async (t) => {
      cas.set(
        id(t),
        await createSelfSignedCA({ commonName: `CA ${id(t)}`, ...t, notAfter: new Date(Date.now() + 365 * DAY) }),
      );
      leafKeys.set(id(t), await generatePrivateKey(t));
    }),
  );
}, 120_000);

const names = serverCertificateNames({ name: 'pb', namespace: 'demo', replicas: 3, extraDnsNames: ['db.example.com'] });

function serverInput(
  ca: CAKeyPair,
  key: GeneratedKey,
  overrides: Partial<IssueCertificateInput> = {},
): IssueCertificateInput {
  return {
    ca,
    publicKeyPem: key.publicKeyPem,
    subject: { commonName: 'pb', organizations: ['demo'] },
    ...names,
    uris: [],
    emailAddresses: [],
    usage: 'server',
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 90 * DAY),
    ...overrides,
  };
}

function verify(caPem: string, leafPem: string, ...options: string[]) {
  return openssl([
    'verify',
    '-x509_strict',
    ...options,
    '-CAfile',
    files.write('ca.crt', caPem),
    files.write('leaf.crt', leafPem),
  ]);
}

describe('every CA algorithm signs every leaf algorithm', () => {
  const matrix = KEY_TYPES.flatMap((ca) =>
    KEY_TYPES.map((leaf) => ({ ca: id(ca), leaf: id(leaf), leafAlgorithm: leaf.algorithm })),
  );

  test.each(matrix)('CA $ca → leaf $leaf', ({ ca, leaf, leafAlgorithm }) => {
    const caPair = cas.get(ca)!;
    const key = leafKeys.get(leaf)!;
    const issued = issueCertificate(serverInput(caPair, key));

    // openssl accepts the chain under strict X.509 rules, for TLS server use, for a Service name.
    const result = verify(
      caPair.certPem,
      issued.certPem,
      '-purpose',
      'sslserver',
      '-verify_hostname',
      'pb.demo.svc.cluster.local',
    );
    expect(result.output).toMatch(/: OK\n$/);
    expect(result.code).toBe(0);

    const leafPath = files.write('leaf.crt', issued.certPem);
    const text = openssl(['x509', '-in', leafPath, '-noout', '-text']).stdout;
    expect(text).toContain(`Signature Algorithm: ${SIGNATURE[ca]}`);
    expect(text).toContain(`Issuer: CN = CA ${ca}`);
    // The certified key is exactly the one we were given.
    expect(openssl(['x509', '-in', leafPath, '-noout', '-pubkey']).stdout).toBe(key.publicKeyPem);

    const ext = extensionsText(files, issued.certPem, 'basicConstraints,keyUsage,extendedKeyUsage');
    expect(ext).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(ext).toMatch(
      leafAlgorithm === 'RSA'
        ? /Key Usage: critical\s+Digital Signature, Key Encipherment\n/
        : /Key Usage: critical\s+Digital Signature\n/,
    );
    expect(ext).toMatch(/Extended Key Usage:\s*\n\s+TLS Web Server Authentication\n/);
  });
});

describe('issued certificates', () => {
  let ca: CAKeyPair;
  let key: GeneratedKey;
  beforeAll(() => {
    ca = cas.get('ECDSA-256')!;
    key = leafKeys.get('ECDSA-256')!;
  });

  test('carry every name from sans.ts, and openssl matches each of them', () => {
    const issued = issueCertificate(
      serverInput(ca, key, { uris: ['spiffe://cluster.local/ns/demo/sa/pb'], emailAddresses: ['dba@example.com'] }),
    );
    const ext = extensionsText(files, issued.certPem, 'subjectAltName');
    const listed = ext.split('\n')[1]!.trim().split(', ');
    expect(listed).toEqual([
      ...names.dnsNames.map((n) => `DNS:${n}`),
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'URI:spiffe://cluster.local/ns/demo/sa/pb',
      'email:dba@example.com',
    ]);
    expect(names.dnsNames).toEqual(
      expect.arrayContaining(['pb-2.pb-pods.demo.svc.cluster.local', 'db.example.com', 'localhost']),
    );
    for (const host of [
      'pb',
      'pb.demo',
      'pb-pods.demo.svc',
      'pb-0.pb-pods.demo.svc',
      'pb-2.pb-pods.demo.svc.cluster.local',
      'localhost',
    ]) {
      expect(verify(ca.certPem, issued.certPem, '-verify_hostname', host).code).toBe(0);
    }
    expect(verify(ca.certPem, issued.certPem, '-verify_ip', '::1').code).toBe(0);
    expect(verify(ca.certPem, issued.certPem, '-verify_ip', '127.0.0.1').code).toBe(0);
    const wrong = verify(ca.certPem, issued.certPem, '-verify_hostname', 'pb-3.pb-pods.demo.svc');
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toContain('hostname mismatch');
  });

  test('server certificates are for TLS servers only, client certificates for TLS clients only', () => {
    const server = issueCertificate(serverInput(ca, key));
    const client = issueCertificate(
      serverInput(ca, key, { usage: 'client', subject: { commonName: 'pgbouncer' }, dnsNames: [], ipAddresses: [] }),
    );
    expect(extensionsText(files, client.certPem, 'extendedKeyUsage')).toMatch(/TLS Web Client Authentication\n$/);
    expect(extensionsText(files, client.certPem, 'subjectAltName')).not.toContain('Subject Alternative Name');
    expect(verify(ca.certPem, client.certPem, '-purpose', 'sslclient').code).toBe(0);
    expect(verify(ca.certPem, client.certPem, '-purpose', 'sslserver').output).toContain(
      'unsuitable certificate purpose',
    );
    expect(verify(ca.certPem, server.certPem, '-purpose', 'sslclient').output).toContain(
      'unsuitable certificate purpose',
    );
    expect(openssl(['x509', '-in', files.write('c.crt', client.certPem), '-noout', '-subject']).stdout).toBe(
      'subject=CN = pgbouncer\n',
    );
  });

  test('a TLS handshake with hostname check and client certificate succeeds (RSA and ECDSA)', async () => {
    for (const kind of ['RSA-2048', 'ECDSA-384']) {
      const kindCA = cas.get(kind)!;
      const serverKey = leafKeys.get(kind)!;
      const clientKey = leafKeys.get(kind === 'RSA-2048' ? 'ECDSA-256' : 'RSA-3072')!;
      const serverCert = issueCertificate(serverInput(kindCA, serverKey));
      const clientCert = issueCertificate(
        serverInput(kindCA, clientKey, { usage: 'client', subject: { commonName: 'pgbouncer' } }),
      );
      const server = createServer(
        {
          key: serverKey.keyPem,
          cert: serverCert.certPem,
          ca: kindCA.certPem,
          requestCert: true,
          rejectUnauthorized: true,
        },
        (socket) => socket.end(`hello ${(socket.getPeerCertificate() as { subject: { CN: string } }).subject.CN}`),
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const socket: TLSSocket = connect({
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          servername: 'pb-1.pb-pods.demo.svc',
          ca: kindCA.certPem,
          key: clientKey.keyPem,
          cert: clientCert.certPem,
        });
        let received = '';
        socket.on('data', (chunk) => (received += chunk));
        await once(socket, 'end');
        expect(socket.authorized).toBe(true);
        expect(received).toBe('hello pgbouncer');
        socket.destroy();
      } finally {
        server.close();
      }
    }
  });

  test('return serial, fingerprint and dates as openssl reads them', () => {
    const notBefore = new Date('2026-01-02T03:04:05.678Z');
    const issued = issueCertificate(
      serverInput(ca, key, { notBefore, notAfter: new Date(notBefore.getTime() + 2 * HOUR) }),
    );
    expect(issued.notBefore).toBe('2026-01-02T03:04:05.000Z');
    expect(issued.notAfter).toBe('2026-01-02T05:04:05.000Z');
    expect(issued.serialHex).toMatch(/^[4-7][0-9A-F]{31}$/);
    const path = files.write('leaf.crt', issued.certPem);
    const shown = openssl([
      'x509',
      '-in',
      path,
      '-noout',
      '-serial',
      '-fingerprint',
      '-sha256',
      '-startdate',
      '-enddate',
    ]).stdout;
    expect(shown).toContain(`serial=${issued.serialHex}\n`);
    expect(shown).toContain(`sha256 Fingerprint=${issued.fingerprintSha256}\n`);
    expect(shown).toContain('notBefore=Jan  2 03:04:05 2026 GMT');
    expect(shown).toContain('notAfter=Jan  2 05:04:05 2026 GMT');
    const der = Buffer.from(issued.certPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    expect(createHash('sha256').update(der).digest('hex').toUpperCase()).toBe(
      issued.fingerprintSha256.replace(/:/g, ''),
    );
  });

  test('random serials differ; a given serial is used as is', () => {
    const serials = new Set(Array.from({ length: 20 }, () => issueCertificate(serverInput(ca, key)).serialHex));
    expect(serials.size).toBe(20);
    const fixed = issueCertificate(serverInput(ca, key, { serialNumber: '0a:bc:de' }));
    expect(fixed.serialHex).toBe('0ABCDE');
    expect(new X509Certificate(fixed.certPem).serialNumber).toBe('0ABCDE');
  });

  test('a leaf never outlives its CA: notAfter is cut to the CA notAfter', () => {
    const issued = issueCertificate(serverInput(ca, key, { notAfter: new Date(Date.now() + 3 * 365 * DAY) }));
    expect(issued.notAfter).toBe(new Date(new X509Certificate(ca.certPem).validTo).toISOString());
    expect(verify(ca.certPem, issued.certPem).code).toBe(0);
  });

  test('dates from 2050 on are written as GeneralizedTime, earlier ones as UTCTime (RFC 5280)', async () => {
    const longCA = await createSelfSignedCA({
      commonName: 'Long CA',
      algorithm: 'ECDSA',
      notAfter: new Date('2060-01-01T00:00:00Z'),
    });
    const issued = issueCertificate(serverInput(longCA, key, { notAfter: new Date('2051-06-01T12:00:00Z') }));
    expect(issued.notAfter).toBe('2051-06-01T12:00:00.000Z');
    const parsed = openssl(['asn1parse', '-in', files.write('leaf.crt', issued.certPem)]).stdout;
    expect(parsed).toMatch(/UTCTIME\s+:\d{12}Z\n.*GENERALIZEDTIME\s+:20510601120000Z/);
    expect(verify(longCA.certPem, issued.certPem).code).toBe(0);
  });

  test('the whole subject is written, country as PrintableString', () => {
    const issued = issueCertificate(
      serverInput(ca, key, {
        subject: {
          commonName: 'pb',
          organizations: ['Acme', 'Ümlaut GmbH'],
          organizationalUnits: ['DBA'],
          countries: ['de'],
          localities: ['Berlin'],
          provinces: ['BE'],
          streetAddresses: ['Unter den Linden 1'],
          postalCodes: ['10117'],
          serialNumber: 'X-42',
        },
      }),
    );
    const path = files.write('leaf.crt', issued.certPem);
    expect(openssl(['x509', '-in', path, '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus_space']).stdout).toBe(
      'subject=C=DE, ST=BE, L=Berlin, street=Unter den Linden 1, postalCode=10117, O=Acme, O=Ümlaut GmbH, OU=DBA, CN=pb, serialNumber=X-42\n',
    );
    expect(openssl(['asn1parse', '-in', path]).stdout).toMatch(/:countryName\n.*PRINTABLESTRING\s+:DE/);
  });

  test("the issuer Name is the CA's subject byte for byte, even in encodings we never write (BMPString)", () => {
    const userCA = opensslCA(files, {
      newKey: ['ec', '-pkeyopt', 'ec_paramgen_curve:P-521'],
      subject: '/C=DE/O=Ümlaut GmbH/OU=Platform/CN=Legacy Root',
      stringMask: 'pkix',
    });
    const issued = issueCertificate(serverInput(userCA, key));
    const caParts = readCertificateParts(new X509Certificate(userCA.certPem).raw);
    expect(caParts.subjectDer.includes(Buffer.from([0x1e]))).toBe(true); // BMPString tag present
    expect(readCertificateParts(new X509Certificate(issued.certPem).raw).issuerDer.equals(caParts.subjectDer)).toBe(
      true,
    );
    expect(verify(userCA.certPem, issued.certPem, '-purpose', 'sslserver').code).toBe(0);
    expect(openssl(['x509', '-in', files.write('l.crt', issued.certPem), '-noout', '-text']).stdout).toContain(
      'Signature Algorithm: ecdsa-with-SHA512',
    );
  });

  test('the authorityKeyIdentifier is the CA subjectKeyIdentifier', () => {
    const issued = issueCertificate(serverInput(ca, key));
    const caSki = /Identifier:\s*\n\s*(\S+)/.exec(extensionsText(files, ca.certPem, 'subjectKeyIdentifier'))![1];
    expect(extensionsText(files, issued.certPem, 'authorityKeyIdentifier')).toContain(caSki);
    expect(extensionsText(files, issued.certPem, 'subjectKeyIdentifier')).not.toContain(caSki);
  });
});

describe('bad input is rejected naming the field', () => {
  const field = 'spec.tls.certificates[alias=server]';
  let ca: CAKeyPair;
  let key: GeneratedKey;
  beforeAll(() => {
    ca = { ...cas.get('ECDSA-256')!, label: 'Secret demo/ca' } as CAKeyPair;
    key = leafKeys.get('RSA-2048')!;
  });

  const cases: [string, () => Partial<IssueCertificateInput>, string][] = [
    [
      'wrong key for the CA',
      () => ({ ca: { ...ca, keyPem: cas.get('ECDSA-384')!.keyPem } }),
      'Secret demo/ca: tls.key does not match tls.crt',
    ],
    [
      'bad DNS name',
      () => ({ dnsNames: ['ok.example', 'bad_name.example'] }),
      `${field}.dnsNames[1]: "bad_name.example" is not a valid DNS name`,
    ],
    [
      'non-ASCII DNS name',
      () => ({ dnsNames: ['bücher.example'] }),
      `${field}.dnsNames[0]: "bücher.example" is not ASCII; write internationalised names in punycode`,
    ],
    [
      'bad IP',
      () => ({ ipAddresses: ['10.0.0.300'] }),
      `${field}.ipAddresses[0]: "10.0.0.300" is not an IPv4 or IPv6 address`,
    ],
    ['bad URI', () => ({ uris: ['not a uri'] }), `${field}.uris[0]: "not a uri" is not an absolute ASCII URI`],
    [
      'bad e-mail',
      () => ({ emailAddresses: ['nobody'] }),
      `${field}.emailAddresses[0]: "nobody" is not an ASCII e-mail address`,
    ],
    [
      'bad country',
      () => ({ subject: { commonName: 'pb', countries: ['Germany'] } }),
      `${field}.subject.countries[0]: "Germany" is not a two-letter ISO 3166 country code`,
    ],
    [
      'empty common name',
      () => ({ subject: { commonName: '' } }),
      `${field}.subject.commonName: must be a non-empty string`,
    ],
    [
      'long common name',
      () => ({ subject: { commonName: 'x'.repeat(65) } }),
      `${field}.subject.commonName: is longer than 64 characters`,
    ],
    [
      'notAfter before notBefore',
      () => ({ notAfter: new Date(Date.now() - HOUR) }),
      `${field}.notAfter: must be later than notBefore`,
    ],
    ['invalid date', () => ({ notBefore: new Date('nope') }), `${field}.notBefore: must be a valid date`],
    ['bad serial', () => ({ serialNumber: 'xyz' }), `${field}.serialNumber: must be a hexadecimal serial number`],
    ['zero serial', () => ({ serialNumber: '00' }), `${field}.serialNumber: a serial number must not be zero`],
    [
      'long serial',
      () => ({ serialNumber: 'ff'.repeat(20) }),
      `${field}.serialNumber: a serial number may have at most 20 octets`,
    ],
    [
      'unknown usage',
      () => ({ usage: 'both' as never }),
      `${field}.usage: "both" is not supported; use server or client`,
    ],
    [
      'private key instead of public key',
      () => ({ publicKeyPem: key.keyPem }),
      `${field}: public key must be a public key, but a private key was passed`,
    ],
    ['garbage public key', () => ({ publicKeyPem: 'hello' }), `${field}: public key is not a valid PEM public key`],
  ];
  test.each(cases)('%s', (_, overrides, message) => {
    expect(() => issueCertificate({ ...serverInput(ca, key), field, ...overrides() })).toThrow(message);
  });

  test('a 1024-bit RSA public key', () => {
    const small = openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']).stdout;
    const pub = openssl(['pkey', '-pubout'], small).stdout;
    expect(() => issueCertificate({ ...serverInput(ca, key), field, publicKeyPem: pub })).toThrow(
      `${field}: public key is a 1024-bit RSA key; at least 2048 bits are required`,
    );
  });

  test('an expired CA', async () => {
    const expired = await createSelfSignedCA({
      commonName: 'old',
      algorithm: 'ECDSA',
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    expect(() => issueCertificate(serverInput({ ...expired, label: 'Secret demo/old-ca' } as CAKeyPair, key))).toThrow(
      /^Secret demo\/old-ca: the CA certificate expired at .*; renew the CA$/,
    );
  });

  test('a leaf certificate passed as the CA', () => {
    const leaf = issueCertificate(serverInput(ca, leafKeys.get('ECDSA-256')!));
    expect(() =>
      issueCertificate(
        serverInput(
          { certPem: leaf.certPem, keyPem: leafKeys.get('ECDSA-256')!.keyPem, label: 'Secret demo/ca' } as CAKeyPair,
          key,
        ),
      ),
    ).toThrow('Secret demo/ca: tls.crt is not a CA certificate');
  });
});

// The signing policy: the pooler's own names always; anything else only where the issuer allows it;
// a ClusterIssuer only from the namespaces it lists.
import { parseSigningPolicy, type SigningPolicy } from '../../../lib/planner/signing-policy.js';
import type { CertificateSpec } from '../../../lib/api/types.js';
import { errorsOf, issuer, planOf, ref, withTls } from './live-state-builder.js';

const NONE: SigningPolicy = parseSigningPolicy({});
const strict = [issuer('ca-one', { policy: NONE }), issuer('ca-two', { policy: NONE })];
const server = (extra: Partial<CertificateSpec>): CertificateSpec => ({ alias: 'server', ...extra });

test('annotations become a policy', () => {
  expect(
    parseSigningPolicy({
      'pgbtls.dev/allowed-namespaces': 'demo, prod',
      'pgbtls.dev/allowed-dns-suffixes': '.Example.com,db.internal.',
      'pgbtls.dev/allow-wildcards': 'true',
      'pgbtls.dev/allowed-ip-ranges': '10.0.0.0/8',
      'pgbtls.dev/allowed-uri-prefixes': 'spiffe://cluster.local/ns/demo/',
      'pgbtls.dev/allowed-email-domains': '@example.com',
    }),
  ).toEqual({
    namespaces: ['demo', 'prod'],
    dnsSuffixes: ['example.com', 'db.internal'],
    wildcards: true,
    ipRanges: ['10.0.0.0/8'],
    uriPrefixes: ['spiffe://cluster.local/ns/demo/'],
    emailDomains: ['example.com'],
  });
  expect(NONE).toEqual({
    namespaces: [],
    dnsSuffixes: [],
    wildcards: false,
    ipRanges: [],
    uriPrefixes: [],
    emailDomains: [],
  });
});

test("KubeDB's guide flow: a namespace Issuer, the pooler's own names (listed or not), no annotations needed", () => {
  const plan = planOf({
    issuers: strict,
    tls: {
      issuerRef: ref('ca-one'),
      certificates: [server({ dnsNames: ['localhost', 'pb.demo.svc'], ipAddresses: ['127.0.0.1'] })],
    },
  });
  expect(plan.certificates.find((c) => c.alias === 'server')!.dnsNames).toContain('pb-0.pb-pods.demo.svc');
  expect(planOf({ issuers: strict, tls: { rotateCertificates: true }, ...withTls() }).intent).toBe('rotate');
});

test.each([
  [
    'an extra DNS name',
    server({ dnsNames: ['pb.example.com'] }),
    'dnsNames[0]',
    /not under a DNS suffix.*allowed-dns-suffixes/,
  ],
  ['*.com', server({ dnsNames: ['*.com'] }), 'dnsNames[0]', /"\*\.com" is not under a DNS suffix/],
  ['*.svc.cluster.local', server({ dnsNames: ['*.svc.cluster.local'] }), 'dnsNames[0]', /not under a DNS suffix/],
  [
    'an IP address',
    server({ ipAddresses: ['10.1.2.3'] }),
    'ipAddresses[0]',
    /outside the IP ranges.*allowed-ip-ranges/,
  ],
  ['a URI', { alias: 'client', uris: ['spiffe://x/y'] } as CertificateSpec, 'uris[0]', /allowed-uri-prefixes/],
  [
    'an email address',
    { alias: 'client', emailAddresses: ['dba@example.com'] } as CertificateSpec,
    'emailAddresses[0]',
    /allowed-email-domains/,
  ],
])('with no annotations, %s is refused naming the field and the annotation', (_what, entry, path, message) => {
  const errors = errorsOf({ issuers: strict, tls: { issuerRef: ref('ca-one'), certificates: [entry] } });
  expect(errors.map((e) => e.field)).toEqual([`spec.tls.certificates[0].${path}`]);
  expect(errors[0].message).toMatch(message);
  expect(errors[0].message).toMatch(/Issuer "ca-one" in namespace "demo" does not allow it/);
});

describe('an issuer that allows example.com and 10.0.0.0/8', () => {
  const allowing = (extra: Partial<SigningPolicy> = {}) => [
    issuer('ca-one', {
      policy: { ...NONE, dnsSuffixes: ['example.com'], ipRanges: ['10.0.0.0/8'], ...extra },
    }),
  ];
  test.each([
    ['pb.example.com', true],
    ['example.com', true],
    ['pb.notexample.com', false],
    ['example.com.evil.org', false],
  ])('DNS name %s allowed: %s', (name, ok) => {
    const s = { issuers: allowing(), tls: { issuerRef: ref('ca-one'), certificates: [server({ dnsNames: [name] })] } };
    if (ok) expect(planOf(s).certificates[0].dnsNames).toContain(name);
    else expect(errorsOf(s)[0].field).toBe('spec.tls.certificates[0].dnsNames[0]');
  });
  test('a wildcard under the suffix needs allow-wildcards', () => {
    const tls = { issuerRef: ref('ca-one'), certificates: [server({ dnsNames: ['*.pb.example.com'] })] };
    expect(errorsOf({ issuers: allowing(), tls })[0].message).toMatch(
      /is a wildcard.*allow-wildcards \(e\.g\. "true"\)/,
    );
    expect(planOf({ issuers: allowing({ wildcards: true }), tls }).certificates[0].dnsNames).toContain(
      '*.pb.example.com',
    );
  });
  test('IP ranges', () => {
    const tls = (ip: string) => ({ issuerRef: ref('ca-one'), certificates: [server({ ipAddresses: [ip] })] });
    expect(planOf({ issuers: allowing(), tls: tls('10.9.8.7') }).certificates[0].ipAddresses).toContain('10.9.8.7');
    expect(errorsOf({ issuers: allowing(), tls: tls('11.0.0.1') })[0].field).toBe(
      'spec.tls.certificates[0].ipAddresses[0]',
    );
  });
  test('10,000 names: refused with a short message', () => {
    const dnsNames = Array.from({ length: 10_000 }, (_, i) => `n${i}.elsewhere.org`);
    const errors = errorsOf({
      issuers: allowing(),
      tls: { issuerRef: ref('ca-one'), certificates: [server({ dnsNames })] },
    });
    expect(errors).toHaveLength(6);
    expect(errors[5].message).toMatch(/and 9995 more names/);
  });
});

describe('a ClusterIssuer', () => {
  const cluster = (namespaces: string[]) => [
    issuer('global', { policy: { ...NONE, namespaces } }, 'ClusterIssuer'),
    issuer('ca-one'),
  ];
  test('without allowed-namespaces: refused, saying how to allow it', () => {
    const errors = errorsOf({ issuers: cluster([]), tls: { issuerRef: ref('global', 'ClusterIssuer') } });
    expect(errors.map((e) => e.field)).toEqual(['spec.tls.issuerRef']);
    expect(errors[0].message).toMatch(/ClusterIssuer "global" does not allow namespace "demo"/);
    expect(errors[0].message).toMatch(/kubectl annotate clusterissuer global pgbtls\.dev\/allowed-namespaces=demo/);
  });
  test('another namespace listed: refused', () => {
    expect(errorsOf({ issuers: cluster(['prod']), tls: { issuerRef: ref('global', 'ClusterIssuer') } })).toHaveLength(
      1,
    );
  });
  test.each([[['demo']], [['prod', 'demo']], [['*']]])('allowed-namespaces %j: allowed', (namespaces) => {
    expect(planOf({ issuers: cluster(namespaces), tls: { issuerRef: ref('global', 'ClusterIssuer') } }).intent).toBe(
      'add',
    );
  });
  test("the PgBouncer's own ClusterIssuer is held to the same rule on rotation", () => {
    const errors = errorsOf({
      issuers: cluster([]),
      pb: { tls: { issuerRef: ref('global', 'ClusterIssuer') } },
      tls: { rotateCertificates: true },
    });
    expect(errors[0].message).toMatch(/PgBouncer "pb" uses ClusterIssuer "global".*does not allow namespace "demo"/);
  });
});

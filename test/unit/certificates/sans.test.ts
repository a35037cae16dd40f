import { serverCertificateNames } from '../../../lib/certificates/sans.js';

describe('serverCertificateNames', () => {
  test('covers the Service, the governing Service, every pod, and loopback', () => {
    expect(serverCertificateNames({ name: 'pb', namespace: 'demo', replicas: 2 })).toEqual({
      dnsNames: [
        'localhost',
        'pb',
        'pb-0.pb-pods.demo',
        'pb-0.pb-pods.demo.svc',
        'pb-0.pb-pods.demo.svc.cluster.local',
        'pb-1.pb-pods.demo',
        'pb-1.pb-pods.demo.svc',
        'pb-1.pb-pods.demo.svc.cluster.local',
        'pb-pods',
        'pb-pods.demo',
        'pb-pods.demo.svc',
        'pb-pods.demo.svc.cluster.local',
        'pb.demo',
        'pb.demo.svc',
        'pb.demo.svc.cluster.local',
      ],
      ipAddresses: ['127.0.0.1', '::1'],
    });
  });

  test('uses the cluster domain and adds the user names, normalised and de-duplicated', () => {
    const names = serverCertificateNames({
      name: 'pool',
      namespace: 'prod',
      replicas: 1,
      clusterDomain: 'corp.internal.',
      extraDnsNames: ['DB.Example.com', 'db.example.com.', 'pool.prod.svc', '*.pool.example.com'],
      extraIpAddresses: ['0:0::1', '10.1.2.3', '2001:DB8:0:0:0:0:0:5'],
    });
    expect(names.dnsNames).toContain('pool.prod.svc.corp.internal');
    expect(names.dnsNames).toContain('pool-0.pool-pods.prod.svc.corp.internal');
    expect(names.dnsNames.filter((n) => n.endsWith('cluster.local'))).toEqual([]);
    expect(names.dnsNames.filter((n) => n === 'db.example.com')).toHaveLength(1);
    expect(names.dnsNames.filter((n) => n === 'pool.prod.svc')).toHaveLength(1);
    expect(names.dnsNames).toContain('*.pool.example.com');
    expect(names.ipAddresses).toEqual(['10.1.2.3', '127.0.0.1', '2001:db8::5', '::1']);
  });

  test('is stable: the same input gives the same order whatever the order of the extras', () => {
    const a = serverCertificateNames({
      name: 'pb',
      namespace: 'demo',
      replicas: 12,
      extraDnsNames: ['b.example', 'a.example'],
    });
    const b = serverCertificateNames({
      name: 'pb',
      namespace: 'demo',
      replicas: 12,
      extraDnsNames: ['a.example', 'b.example'],
    });
    expect(a).toEqual(b);
    expect([...a.dnsNames].sort()).toEqual(a.dnsNames);
    expect(a.dnsNames).toHaveLength(8 + 12 * 3 + 1 + 2);
  });

  test('no replicas, no pod names', () => {
    expect(serverCertificateNames({ name: 'pb', namespace: 'demo', replicas: 0 }).dnsNames).toHaveLength(9);
  });

  test.each([
    [
      { extraDnsNames: ['ok.example', 'not ok'] },
      'spec.tls.certificates[alias=server].dnsNames[1]: "not ok" is not a valid DNS name',
    ],
    [
      { extraIpAddresses: ['localhost'] },
      'spec.tls.certificates[alias=server].ipAddresses[0]: "localhost" is not an IPv4 or IPv6 address',
    ],
    [{ replicas: -1 }, 'spec.replicas: -1 is not a non-negative whole number'],
    [{ name: 'PB' }, 'metadata.name: "PB" is not a DNS label'],
  ])('rejects %j', (overrides, message) => {
    expect(() =>
      serverCertificateNames({
        name: 'pb',
        namespace: 'demo',
        replicas: 1,
        field: 'spec.tls.certificates[alias=server]',
        ...overrides,
      }),
    ).toThrow(message);
  });
});

// The CRDs in crds/ as the real API server enforces them: valid KubeDB-style objects load with
// their defaults, bad input is refused with HTTP 422 and a message naming the field, an ops
// request's spec cannot change after creation, and kubectl shows the printer columns.
import { execFileSync } from 'node:child_process';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { loadCrds } from '../../lib/api/crds.js';
import type { AppBinding, Issuer, PgBouncer, PgBouncerOpsRequest } from '../../lib/api/types.js';
import { mergePatch } from '../../lib/kube/kube.js';
import { createTestNamespace, stackInfo, testKube } from '../support/cluster.js';

const kube = testKube();
let namespace: string;
let clusterIssuerName: string;

const PGBOUNCERS = { group: 'kubedb.com', version: 'v1', plural: 'pgbouncers' };
const OPS_REQUESTS = { group: 'ops.kubedb.com', version: 'v1alpha1', plural: 'pgbounceropsrequests' };
const ISSUERS = { group: 'cert-manager.io', version: 'v1', plural: 'issuers' };
const CLUSTER_ISSUERS = { group: 'cert-manager.io', version: 'v1', plural: 'clusterissuers' };
const APP_BINDINGS = { group: 'appcatalog.appscode.com', version: 'v1', plural: 'appbindings' };

type Resource = typeof PGBOUNCERS;

beforeAll(async () => {
  namespace = await createTestNamespace('crds');
  clusterIssuerName = `${namespace}-ca`;
});

afterAll(async () => {
  await kube.custom.deleteClusterCustomObject({ ...CLUSTER_ISSUERS, name: clusterIssuerName }).catch(() => undefined);
});

function create<T>(resource: Resource, body: T): Promise<T> {
  return kube.custom.createNamespacedCustomObject({ ...resource, namespace, body });
}

function kubectl(...args: string[]): string {
  const { kubectl, kubeconfig } = stackInfo();
  return execFileSync(kubectl, ['--kubeconfig', kubeconfig, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface StatusCause {
  field?: string;
  message?: string;
}

/** Awaits a call the API server must refuse as invalid, and returns the Status it answered with. */
async function rejection(call: Promise<unknown>): Promise<{ message: string; causes: StatusCause[] }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: 422 });
  const status = JSON.parse((err as { body: string }).body);
  expect(status).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
  return { message: status.message, causes: status.details?.causes ?? [] };
}

async function expectInvalid(call: Promise<unknown>, field: string, says: RegExp): Promise<void> {
  const { message, causes } = await rejection(call);
  expect(message).toContain(`${field}:`);
  expect(message).toMatch(says);
  expect(causes.map((c) => c.field)).toContain(field);
}

function pgBouncer(name: string, spec: Partial<PgBouncer['spec']> = {}): PgBouncer {
  return {
    apiVersion: 'kubedb.com/v1',
    kind: 'PgBouncer',
    metadata: { name },
    spec: {
      version: '1.24.0',
      database: { syncUsers: true, databaseName: 'postgres', databaseRef: { name: 'pg', namespace } },
      ...spec,
    },
  };
}

function opsRequest(name: string, spec: Partial<PgBouncerOpsRequest['spec']>): PgBouncerOpsRequest {
  return {
    apiVersion: 'ops.kubedb.com/v1alpha1',
    kind: 'PgBouncerOpsRequest',
    metadata: { name },
    spec: { type: 'ReconfigureTLS', databaseRef: { name: 'pb' }, ...spec },
  };
}

describe('the CRD files', () => {
  test('are served by the API server as structural schemas with a status subresource and printer columns', async () => {
    const crds = loadCrds();
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual([
      'appbindings.appcatalog.appscode.com',
      'clusterissuers.cert-manager.io',
      'issuers.cert-manager.io',
      'pgbounceropsrequests.ops.kubedb.com',
      'pgbouncers.kubedb.com',
    ]);
    const ext = kube.kc.makeApiClient(ApiextensionsV1Api);
    for (const crd of crds) {
      const live = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
      const conditions = Object.fromEntries((live.status?.conditions ?? []).map((c) => [c.type, c.status]));
      expect({ name: crd.metadata?.name, ...conditions }).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
      expect(conditions.NonStructuralSchema).toBeUndefined();
      for (const version of live.spec.versions) {
        expect(version.subresources?.status).toBeDefined();
        expect(version.additionalPrinterColumns?.map((c) => c.name)).toContain('Age');
      }
    }
  });
});

describe('the API server accepts', () => {
  test('a PgBouncer with TLS, and fills in the defaults', async () => {
    const created = await create(
      PGBOUNCERS,
      pgBouncer('pb', {
        replicas: 3,
        connectionPool: { poolMode: 'transaction', maxClientConnections: 200, authType: 'scram-sha-256' },
        sslMode: 'verify-full',
        tls: {
          issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'pb-ca' },
          certificates: [
            { alias: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'], duration: '2160h' },
            { alias: 'client', subject: { organizations: ['kubedb'] }, privateKey: { encoding: 'PKCS8' } },
          ],
        },
      }),
    );
    expect(created.metadata.uid).toBeTruthy();
    expect(created.spec.connectionPool).toMatchObject({ port: 5432, poolMode: 'transaction' });
    expect(created.spec.deletionPolicy).toBe('Delete');
  });

  test('a PgBouncer without TLS, with one replica by default, and KubeDB fields it does not use', async () => {
    const podTemplate = { spec: { containers: [{ name: 'pgbouncer', resources: { limits: { memory: '256Mi' } } }] } };
    const created = await create(
      PGBOUNCERS,
      pgBouncer('plain', { sslMode: 'disable', deletionPolicy: 'WipeOut', podTemplate }),
    );
    expect(created.spec.replicas).toBe(1);
    expect(created.spec.podTemplate).toEqual(podTemplate);
  });

  test('ReconfigureTLS ops requests of each intent, with apply IfReady and maxRetries 1 by default', async () => {
    const add = await create(
      OPS_REQUESTS,
      opsRequest('add-tls', {
        tls: {
          issuerRef: { apiGroup: 'cert-manager.io', kind: 'ClusterIssuer', name: 'pb-cluster-ca' },
          certificates: [{ alias: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }],
          sslMode: 'verify-full',
          clientAuthMode: 'md5',
        },
        timeout: '1h30m',
      }),
    );
    expect(add.spec).toMatchObject({ apply: 'IfReady', maxRetries: 1, timeout: '1h30m' });
    await create(
      OPS_REQUESTS,
      opsRequest('rotate', { tls: { rotateCertificates: true }, timeout: '5m', maxRetries: 0 }),
    );
    await create(OPS_REQUESTS, opsRequest('remove', { tls: { remove: true, sslMode: 'disable' }, apply: 'Always' }));
    await create(
      OPS_REQUESTS,
      opsRequest('reissue', { tls: { certificates: [{ alias: 'client', duration: '720h' }] }, timeout: '90s' }),
    );
  });

  test('ops requests of the other KubeDB types (the workflow refuses them later, not the API server)', async () => {
    await create(OPS_REQUESTS, opsRequest('restart', { type: 'Restart', restart: {} }));
    const scale = await create(
      OPS_REQUESTS,
      opsRequest('scale', { type: 'HorizontalScaling', horizontalScaling: { replicas: 5 } }),
    );
    expect(scale.spec.horizontalScaling).toEqual({ replicas: 5 });
  });

  test('a CA Issuer, a CA ClusterIssuer, and an ACME Issuer', async () => {
    const issuer: Issuer = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'pb-ca' },
      spec: { ca: { secretName: 'pb-ca', crlDistributionPoints: ['http://crl.example.test/pb-ca.crl'] } },
    };
    await create(ISSUERS, issuer);
    const clusterIssuer: Issuer = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: clusterIssuerName },
      spec: { ca: { secretName: 'pb-cluster-ca' } },
    };
    const created = await kube.custom.createClusterCustomObject({ ...CLUSTER_ISSUERS, body: clusterIssuer });
    expect(created.metadata.namespace).toBeUndefined();
    await create(ISSUERS, {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'acme' },
      spec: { acme: { server: 'https://acme.example.test/directory', privateKeySecretRef: { name: 'acme-key' } } },
    } satisfies Issuer);
  });

  test('an AppBinding pointing at a Service, with a CA bundle', async () => {
    const binding: AppBinding = {
      apiVersion: 'appcatalog.appscode.com/v1',
      kind: 'AppBinding',
      metadata: { name: 'pg' },
      spec: {
        type: 'kubedb.com/postgres',
        version: '16.4',
        appRef: { apiGroup: 'kubedb.com', kind: 'Postgres', name: 'pg', namespace },
        clientConfig: {
          service: { name: 'pg', port: 5432, scheme: 'postgresql', query: 'sslmode=verify-full' },
          caBundle: Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64'),
        },
        secret: { name: 'pg-auth' },
        tlsSecret: { name: 'pg-client-cert' },
      },
    };
    const created = await create(APP_BINDINGS, binding);
    expect(created.spec.clientConfig.service).toMatchObject({ name: 'pg', port: 5432 });
  });
});

describe('the API server refuses, naming the field', () => {
  test('a ReconfigureTLS ops request without spec.tls', async () => {
    await expectInvalid(
      create(OPS_REQUESTS, opsRequest('no-tls', {})),
      'spec.tls',
      /required when spec.type is ReconfigureTLS/,
    );
  });

  test('a PgBouncer with sslMode verify-everything', async () => {
    const bad = pgBouncer('bad-sslmode', { tls: { issuerRef: { kind: 'Issuer', name: 'pb-ca' } } });
    (bad.spec as { sslMode: string }).sslMode = 'verify-everything';
    await expectInvalid(
      create(PGBOUNCERS, bad),
      'spec.sslMode',
      /Unsupported value: "verify-everything".*"verify-full"/,
    );
  });

  test('an ops request that both rotates and removes the certificates', async () => {
    const bad = opsRequest('rotate-and-remove', { tls: { rotateCertificates: true, remove: true } });
    await expectInvalid(
      create(OPS_REQUESTS, bad),
      'spec.tls',
      /rotateCertificates and spec.tls.remove are mutually exclusive/,
    );
  });

  test('an ops request that removes TLS and names an issuer', async () => {
    const bad = opsRequest('remove-with-issuer', {
      tls: { remove: true, issuerRef: { kind: 'Issuer', name: 'pb-ca' } },
    });
    await expectInvalid(create(OPS_REQUESTS, bad), 'spec.tls', /remove cannot be combined with spec.tls.issuerRef/);
  });

  test('an ops request whose spec.tls asks for nothing', async () => {
    const bad = opsRequest('empty-tls', { tls: { remove: false } });
    await expectInvalid(create(OPS_REQUESTS, bad), 'spec.tls', /asks for no change/);
  });

  test('an ops request with a timeout that is not a Go duration', async () => {
    const bad = opsRequest('bad-timeout', { tls: { rotateCertificates: true }, timeout: '5 minutes' });
    await expectInvalid(create(OPS_REQUESTS, bad), 'spec.timeout', /should match/);
  });

  test('an ops request with maxRetries beyond 10', async () => {
    const bad = opsRequest('many-retries', { tls: { rotateCertificates: true }, maxRetries: 2147483647 });
    await expectInvalid(create(OPS_REQUESTS, bad), 'spec.maxRetries', /should be less than or equal to 10/);
  });

  test('an ops request of a type KubeDB does not have', async () => {
    const bad = opsRequest('bad-type', { tls: { rotateCertificates: true } });
    (bad.spec as { type: string }).type = 'RotateTLS';
    await expectInvalid(create(OPS_REQUESTS, bad), 'spec.type', /Unsupported value: "RotateTLS"/);
  });

  test('a PgBouncer with replicas 0', async () => {
    await expectInvalid(
      create(PGBOUNCERS, pgBouncer('no-replicas', { replicas: 0 })),
      'spec.replicas',
      /greater than or equal to 1/,
    );
  });

  test('a PgBouncer whose sslMode needs TLS it does not have', async () => {
    await expectInvalid(
      create(PGBOUNCERS, pgBouncer('require-no-tls', { sslMode: 'require' })),
      'spec.sslMode',
      /needs spec.tls/,
    );
  });

  test('a certificate with an IP address SAN that is not an IP address', async () => {
    const bad = pgBouncer('bad-ip', {
      tls: {
        issuerRef: { kind: 'Issuer', name: 'pb-ca' },
        certificates: [{ alias: 'server', ipAddresses: ['pb.example'] }],
      },
    });
    await expectInvalid(
      create(PGBOUNCERS, bad),
      'spec.tls.certificates[0].ipAddresses[0]',
      /must be an IPv4 or IPv6 address/,
    );
  });

  test('an Issuer of two kinds at once', async () => {
    const bad: Issuer = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'two-kinds' },
      spec: { ca: { secretName: 'pb-ca' }, selfSigned: {} },
    };
    await expectInvalid(create(ISSUERS, bad), 'spec', /exactly one of spec.ca, spec.acme/);
  });

  test('an AppBinding with both a URL and a Service', async () => {
    const bad: AppBinding = {
      apiVersion: 'appcatalog.appscode.com/v1',
      kind: 'AppBinding',
      metadata: { name: 'url-and-service' },
      spec: { clientConfig: { url: 'postgres://pg.example.test:5432', service: { name: 'pg', port: 5432 } } },
    };
    await expectInvalid(create(APP_BINDINGS, bad), 'spec.clientConfig', /exactly one of url and service/);
  });

  test('an edit of an ops request spec after creation, while labels and status still change', async () => {
    await create(OPS_REQUESTS, opsRequest('immutable', { tls: { rotateCertificates: true }, timeout: '5m' }));
    const target = { ...OPS_REQUESTS, namespace, name: 'immutable' };
    await expectInvalid(
      kube.custom.patchNamespacedCustomObject({ ...target, body: { spec: { timeout: '10m' } } }, mergePatch),
      'spec',
      /spec is immutable: create a new PgBouncerOpsRequest instead/,
    );
    await kube.custom.patchNamespacedCustomObject(
      { ...target, body: { metadata: { labels: { team: 'db' } } } },
      mergePatch,
    );
    const status = {
      phase: 'Progressing',
      observedGeneration: 1,
      conditions: [{ type: 'ReconfigureTLS', status: 'True' }],
    };
    const updated = await kube.custom.patchNamespacedCustomObjectStatus({ ...target, body: { status } }, mergePatch);
    expect(updated).toMatchObject({ spec: { timeout: '5m' }, status: { phase: 'Progressing' } });
  });

  test('a status phase or condition outside the schema', async () => {
    await create(OPS_REQUESTS, opsRequest('bad-status', { tls: { rotateCertificates: true } }));
    const target = { ...OPS_REQUESTS, namespace, name: 'bad-status' };
    const { causes } = await rejection(
      kube.custom.patchNamespacedCustomObjectStatus(
        { ...target, body: { status: { phase: 'Done', conditions: [{ type: 'Ready', status: 'yes' }] } } },
        mergePatch,
      ),
    );
    expect(causes.map((c) => c.field)).toEqual(expect.arrayContaining(['status.phase', 'status.conditions[0].status']));
  });
});

describe('kubectl', () => {
  test('prints the Type/Status, Version/Status and Ready columns and finds objects by short name', async () => {
    const target = { ...OPS_REQUESTS, namespace, name: 'rotate' };
    await kube.custom.patchNamespacedCustomObjectStatus(
      { ...target, body: { status: { phase: 'Successful' } } },
      mergePatch,
    );
    await kube.custom.patchNamespacedCustomObjectStatus(
      { ...PGBOUNCERS, namespace, name: 'pb', body: { status: { phase: 'Ready' } } },
      mergePatch,
    );
    await kube.custom.patchNamespacedCustomObjectStatus(
      { ...ISSUERS, namespace, name: 'pb-ca', body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } },
      mergePatch,
    );

    const ops = kubectl('get', 'pbops', '-n', namespace, 'rotate');
    expect(ops).toMatch(/^NAME\s+TYPE\s+STATUS\s+AGE\n/);
    expect(ops).toMatch(/\nrotate\s+ReconfigureTLS\s+Successful\s+\S+\n/);

    const pb = kubectl('get', 'pb', '-n', namespace, 'pb');
    expect(pb).toMatch(/^NAME\s+VERSION\s+STATUS\s+AGE\n/);
    expect(pb).toMatch(/\npb\s+1\.24\.0\s+Ready\s+\S+\n/);

    expect(kubectl('get', 'issuer', '-n', namespace, 'pb-ca')).toMatch(/^NAME\s+READY\s+AGE\npb-ca\s+True\s+\S+\n/);
    expect(kubectl('get', 'clusterissuer', clusterIssuerName)).toMatch(/^NAME\s+READY\s+AGE\n/);
    expect(kubectl('get', 'app', '-n', namespace, 'pg')).toMatch(
      /^NAME\s+TYPE\s+VERSION\s+AGE\npg\s+kubedb\.com\/postgres\s+16\.4\s+/,
    );
  });
});

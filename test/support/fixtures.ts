// Objects tests create often: a backend AppBinding and a PgBouncer in front of it.
import { APPCATALOG_GROUP, KUBEDB_GROUP, type PgBouncer, type PgBouncerSpec } from '../../lib/api/types.js';
import { testKube } from './cluster.js';

export async function createAppBinding(
  namespace: string,
  name = 'backend',
  annotations: Record<string, string> = {},
  /** A Secret with the backend user's username/password, as KubeDB's AppBinding spec.secret names it. */
  secretName?: string,
  /** Where the database is; by default a Service named like the AppBinding (never resolved in tests). */
  clientConfig: Record<string, unknown> = { service: { name, port: 5432, scheme: 'postgresql' } },
): Promise<void> {
  await testKube().custom.createNamespacedCustomObject({
    group: APPCATALOG_GROUP,
    version: 'v1',
    namespace,
    plural: 'appbindings',
    body: {
      apiVersion: 'appcatalog.appscode.com/v1',
      kind: 'AppBinding',
      metadata: { name, annotations },
      spec: {
        type: 'kubedb.com/postgres',
        version: '15',
        clientConfig,
        ...(secretName ? { secret: { name: secretName } } : {}),
      },
    },
  });
}

export async function createPgBouncer(
  namespace: string,
  name: string,
  spec: Partial<PgBouncerSpec> = {},
): Promise<PgBouncer> {
  return (await testKube().custom.createNamespacedCustomObject({
    group: KUBEDB_GROUP,
    version: 'v1',
    namespace,
    plural: 'pgbouncers',
    body: {
      apiVersion: 'kubedb.com/v1',
      kind: 'PgBouncer',
      metadata: { name },
      spec: { replicas: 1, database: { databaseName: 'postgres', databaseRef: { name: 'backend' } }, ...spec },
    },
  })) as PgBouncer;
}

export async function readPgBouncer(namespace: string, name: string): Promise<PgBouncer> {
  return (await testKube().custom.getNamespacedCustomObject({
    group: KUBEDB_GROUP,
    version: 'v1',
    namespace,
    plural: 'pgbouncers',
    name,
  })) as PgBouncer;
}

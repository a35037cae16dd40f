// PgBouncer objects for the provisioner's unit tests.
import type { PgBouncer, TLSConfig } from '../../../lib/api/types.js';

export function pgbouncer(spec: Partial<PgBouncer['spec']> = {}, name = 'pb'): PgBouncer {
  return {
    apiVersion: 'kubedb.com/v1',
    kind: 'PgBouncer',
    metadata: { name, namespace: 'demo', uid: 'uid-1', generation: 1 },
    spec: { replicas: 3, database: { databaseName: 'app', databaseRef: { name: 'pg' } }, ...spec },
  };
}

export const tls: TLSConfig = { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca' } };

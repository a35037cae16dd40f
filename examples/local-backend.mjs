// Prints the AppBinding `pg` (and its Secret `pg-auth`) for the PostgreSQL that `npm start` runs,
// read from .stack/stack.json: on the local stack the database is 127.0.0.1 on a port chosen at
// start, not a Service. Usage: node examples/local-backend.mjs | .stack/kubectl apply -f -
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const stateDir = process.env.PGBTLS_STATE_DIR || join(import.meta.dirname, '..', '.stack');
const { postgres } = JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8'));
const namespace = process.argv[2] || 'demo';
const list = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pg-auth', namespace },
      stringData: { username: postgres.user, password: postgres.password },
    },
    {
      apiVersion: 'appcatalog.appscode.com/v1',
      kind: 'AppBinding',
      metadata: { name: 'pg', namespace },
      spec: {
        type: 'kubedb.com/postgres',
        clientConfig: { url: `postgres://${postgres.host}:${postgres.port}` },
        secret: { name: 'pg-auth' },
      },
    },
  ],
};
process.stdout.write(JSON.stringify(list, null, 2) + '\n');

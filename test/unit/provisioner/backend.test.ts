import type { AppBinding } from '../../../lib/api/types.js';
import { BACKEND_HOST_ANNOTATION, backendAddress } from '../../../lib/pgbouncer/backend.js';

function binding(clientConfig: AppBinding['spec']['clientConfig'], annotations?: Record<string, string>): AppBinding {
  return {
    apiVersion: 'appcatalog.appscode.com/v1',
    kind: 'AppBinding',
    metadata: { name: 'pg', namespace: 'demo', annotations },
    spec: { clientConfig },
  };
}

test.each<[string, AppBinding['spec']['clientConfig'], { host: string; port: number }]>([
  ['a Service in the binding namespace', { service: { name: 'pg', port: 5432 } }, { host: 'pg.demo.svc', port: 5432 }],
  [
    'a Service in another namespace',
    { service: { name: 'pg', port: 6000, namespace: 'db' } },
    { host: 'pg.db.svc', port: 6000 },
  ],
  ['a URL with a port', { url: 'postgres://db.example.com:15432/app' }, { host: 'db.example.com', port: 15432 }],
  ['a URL without a port', { url: 'postgresql://db.example.com' }, { host: 'db.example.com', port: 5432 }],
  ['an IPv6 URL', { url: 'postgres://[::1]:5433' }, { host: '::1', port: 5433 }],
])('address from %s', (_name, clientConfig, expected) => {
  expect(backendAddress(binding(clientConfig))).toEqual(expected);
});

test('the host annotation overrides the host verbatim and keeps the port', () => {
  expect(
    backendAddress(binding({ service: { name: 'pg', port: 5544 } }, { [BACKEND_HOST_ANNOTATION]: '127.0.0.1' })),
  ).toEqual({
    host: '127.0.0.1',
    port: 5544,
  });
});

test('a URL that is not one is refused with the field to fix', () => {
  expect(() => backendAddress(binding({ url: 'not a url' }))).toThrow(
    /AppBinding demo\/pg: spec.clientConfig.url "not a url" is not a URL/,
  );
});

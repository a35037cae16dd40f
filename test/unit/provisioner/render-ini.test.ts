import type { PgBouncer } from '../../../lib/api/types.js';
import { effectiveSslMode, isTlsEnabled, renderPgBouncerIni } from '../../../lib/pgbouncer/render-ini.js';
import { pgbouncer, tls } from './fixtures.js';

const backend = { host: 'pg.demo.svc', port: 5432 };
const ini = (p: PgBouncer) => renderPgBouncerIni(p, backend);
const line = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key} =`));
const keys = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.includes(' = '))
    .map((l) => l.split(' = ')[0]);

test('the whole file without TLS, in KubeDB layout', () => {
  expect(ini(pgbouncer())).toBe(
    [
      '[databases]',
      'app = host=pg.demo.svc port=5432 dbname=app',
      '',
      '[pgbouncer]',
      'listen_addr = *',
      'listen_port = 5432',
      'auth_type = md5',
      'auth_file = /var/run/pgbouncer/secret/userlist',
      'admin_users = pgbouncer',
      'pool_mode = session',
      'ignore_startup_parameters = extra_float_digits',
      'logfile = /tmp/pgbouncer.log',
      'pidfile = /tmp/pgbouncer.pid',
      '',
    ].join('\n'),
  );
});

test.each([
  ['no tls, no sslMode', {}, 'disable'],
  ['no tls, sslMode disable', { sslMode: 'disable' as const }, 'disable'],
  ['no tls, sslMode set (the CRD refuses it; ignored)', { sslMode: 'require' as const }, 'disable'],
  ['tls, sslMode empty', { tls }, 'verify-full'],
  ['tls, sslMode require', { tls, sslMode: 'require' as const }, 'require'],
  ['tls, sslMode prefer', { tls, sslMode: 'prefer' as const }, 'prefer'],
  ['tls, sslMode verify-ca', { tls, sslMode: 'verify-ca' as const }, 'verify-ca'],
  ['tls, sslMode disable', { tls, sslMode: 'disable' as const }, 'disable'],
])('effective sslMode: %s', (_name, spec, expected) => {
  const p = pgbouncer(spec);
  expect(effectiveSslMode(p)).toBe(expected);
  if (isTlsEnabled(p)) expect(line(ini(p), 'client_tls_sslmode')).toBe(`client_tls_sslmode = ${expected}`);
});

test.each([
  ['no tls', {}],
  ['sslMode without tls', { sslMode: 'disable' as const }],
  ['tls without an issuer', { tls: { certificates: [{ alias: 'server' as const }] } }],
])('without an issuer there are no TLS lines: %s', (_name, spec) => {
  const text = ini(pgbouncer(spec));
  expect(text).not.toMatch(/tls/);
  expect(text.endsWith('\n')).toBe(true);
});

test('with TLS: client_tls lines from the server Secret, server_tls lines from the client Secret', () => {
  const text = ini(pgbouncer({ tls, sslMode: 'verify-ca' }));
  const tlsLines = text.split('\n').filter((l) => l.includes('_tls_'));
  expect(tlsLines).toEqual([
    'client_tls_sslmode = verify-ca',
    'client_tls_ca_file = /var/run/pgbouncer/tls/serving/server/ca.crt',
    'client_tls_key_file = /var/run/pgbouncer/tls/serving/server/tls.key',
    'client_tls_cert_file = /var/run/pgbouncer/tls/serving/server/tls.crt',
    'server_tls_sslmode = prefer',
    'server_tls_ca_file = /var/run/pgbouncer/tls/serving/client/ca.crt',
    'server_tls_key_file = /var/run/pgbouncer/tls/serving/client/tls.key',
    'server_tls_cert_file = /var/run/pgbouncer/tls/serving/client/tls.crt',
  ]);
  // The TLS lines come after the fixed settings, and the file still ends with a newline.
  expect(keys(text).slice(0, 3)).toEqual(['app', 'listen_addr', 'listen_port']);
  expect(text.endsWith('tls.crt\n')).toBe(true);
});

test.each([
  ['port', { port: 6432 }, 'listen_port = 6432'],
  ['poolMode', { poolMode: 'transaction' as const }, 'pool_mode = transaction'],
  ['authType', { authType: 'scram-sha-256' as const }, 'auth_type = scram-sha-256'],
  ['maxClientConnections', { maxClientConnections: 300 }, 'max_client_conn = 300'],
  ['defaultPoolSize', { defaultPoolSize: 7 }, 'default_pool_size = 7'],
  ['minPoolSize', { minPoolSize: 0 }, 'min_pool_size = 0'],
  ['reservePoolSize', { reservePoolSize: 2 }, 'reserve_pool_size = 2'],
  ['reservePoolTimeoutSeconds', { reservePoolTimeoutSeconds: 5 }, 'reserve_pool_timeout = 5'],
  ['maxDBConnections', { maxDBConnections: 50 }, 'max_db_connections = 50'],
  ['maxUserConnections', { maxUserConnections: 40 }, 'max_user_connections = 40'],
  ['statsPeriodSeconds', { statsPeriodSeconds: 60 }, 'stats_period = 60'],
  [
    'ignoreStartupParameters',
    { ignoreStartupParameters: 'extra_float_digits,options' },
    'ignore_startup_parameters = extra_float_digits,options',
  ],
])('spec.connectionPool.%s', (_field, connectionPool, expected) => {
  const text = ini(pgbouncer({ connectionPool }));
  expect(text.split('\n')).toContain(expected);
});

test('pool settings keep one fixed order whatever order the spec has', () => {
  const a = ini(pgbouncer({ connectionPool: { maxClientConnections: 1, defaultPoolSize: 2, statsPeriodSeconds: 3 } }));
  const b = ini(pgbouncer({ connectionPool: { statsPeriodSeconds: 3, defaultPoolSize: 2, maxClientConnections: 1 } }));
  expect(a).toBe(b);
  expect(keys(a).filter((k) => ['max_client_conn', 'default_pool_size', 'stats_period'].includes(k))).toEqual([
    'max_client_conn',
    'default_pool_size',
    'stats_period',
  ]);
});

test('unset pool settings are left to pgbouncer (no line)', () => {
  expect(keys(ini(pgbouncer()))).not.toContain('default_pool_size');
});

test('the [databases] line routes the database to the backend address', () => {
  const text = renderPgBouncerIni(pgbouncer({ database: { databaseName: 'orders', databaseRef: { name: 'x' } } }), {
    host: '127.0.0.1',
    port: 15432,
  });
  expect(line(text, 'orders')).toBe('orders = host=127.0.0.1 port=15432 dbname=orders');
});

test('database names pgbouncer cannot read bare are quoted', () => {
  const text = ini(pgbouncer({ database: { databaseName: `my-db's "x"`, databaseRef: { name: 'x' } } }));
  expect(text.split('\n')[1]).toBe(`"my-db's ""x""" = host=pg.demo.svc port=5432 dbname='my-db''s "x"'`);
});

test('rendering is deterministic', () => {
  expect(ini(pgbouncer({ tls }))).toBe(ini(pgbouncer({ tls })));
});

// Hostile values from every input of pgbouncer.ini: the renderer either refuses the value, naming
// its field, or renders a file that still has exactly one line per setting and no setting of the
// author's choosing.
import type { AppBinding } from '../../../lib/api/types.js';
import { backendAddress, BACKEND_HOST_ANNOTATION } from '../../../lib/pgbouncer/backend.js';
import { renderPgBouncerIni, UnsafeIniValueError } from '../../../lib/pgbouncer/render-ini.js';
import { pgbouncer, tls } from '../provisioner/fixtures.js';

const HOSTILE: unknown[] = [
  'extra_float_digits\nauth_type = trust',
  'x\r\nauth_type = trust',
  'x\rauth_type = trust',
  'x\u2028auth_type = trust',
  'x\u0085auth_type = trust',
  'x\u0000y',
  'x\tauth_type = trust',
  '\n%include /etc/passwd',
  "x' auth_type=trust '",
  'x" = host=evil\n',
  'x auth_type = trust',
  '[pgbouncer]',
  ' ',
  'ünïcødé-数据库',
  'a'.repeat(10_000),
  Number.NaN,
  Number.POSITIVE_INFINITY,
];

const backend = { host: 'pg.demo.svc', port: 5432 };

/** Every field a PgBouncer or its AppBinding feeds into pgbouncer.ini, and how to set it. */
const FIELDS: [field: string, render: (value: unknown) => string][] = [
  [
    'spec.database.databaseName',
    (v) =>
      renderPgBouncerIni(pgbouncer({ database: { databaseName: v as string, databaseRef: { name: 'pg' } } }), backend),
  ],
  ...(
    [
      'port',
      'poolMode',
      'authType',
      'maxClientConnections',
      'defaultPoolSize',
      'minPoolSize',
      'reservePoolSize',
      'reservePoolTimeoutSeconds',
      'maxDBConnections',
      'maxUserConnections',
      'statsPeriodSeconds',
      'ignoreStartupParameters',
    ] as const
  ).map((key): [string, (v: unknown) => string] => [
    `spec.connectionPool.${key}`,
    (v) => renderPgBouncerIni(pgbouncer({ connectionPool: { [key]: v } }), backend),
  ]),
  ['spec.sslMode', (v) => renderPgBouncerIni(pgbouncer({ tls, sslMode: v as 'require' }), backend)],
  ["the AppBinding's host", (v) => renderPgBouncerIni(pgbouncer(), { host: v as string, port: 5432 })],
  ["the AppBinding's port", (v) => renderPgBouncerIni(pgbouncer(), { host: 'pg', port: v as number })],
  [
    BACKEND_HOST_ANNOTATION,
    (v) => renderPgBouncerIni(pgbouncer(), backendAddress(appBinding({ [BACKEND_HOST_ANNOTATION]: String(v) }))),
  ],
  [
    'spec.clientConfig.url',
    (v) => renderPgBouncerIni(pgbouncer(), backendAddress(appBinding({}, { url: `postgres://${String(v)}:5432` }))),
  ],
];

function appBinding(
  annotations: Record<string, string>,
  clientConfig: AppBinding['spec']['clientConfig'] = { url: 'postgres://pg:5432' },
): AppBinding {
  return {
    apiVersion: 'appcatalog.appscode.com/v1',
    kind: 'AppBinding',
    metadata: { name: 'pg', namespace: 'demo', annotations },
    spec: { clientConfig },
  };
}

/** The settings a file has, by section; throws when a line is neither a header, blank, nor `key = value`. */
function settings(text: string): string[] {
  expect(text.endsWith('\n')).toBe(true);
  const keys: string[] = [];
  let section = '';
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (/^\[(databases|pgbouncer)\]$/.test(line)) {
      section = line;
      continue;
    }
    const m = /^("(?:[^"]|"")*"|[_0-9A-Za-z]+) = (.*)$/.exec(line);
    if (!m) throw new Error(`not a setting line: ${JSON.stringify(line)}`);
    keys.push(`${section}${section === '[databases]' ? 'DB' : m[1]}`);
  }
  return keys;
}

/** Every setting the renderer can write: all optional ones set, and TLS on. */
const ALL_KEYS = settings(
  renderPgBouncerIni(
    pgbouncer({
      tls,
      connectionPool: {
        maxClientConnections: 1,
        defaultPoolSize: 1,
        minPoolSize: 1,
        reservePoolSize: 1,
        reservePoolTimeoutSeconds: 1,
        maxDBConnections: 1,
        maxUserConnections: 1,
        statsPeriodSeconds: 1,
      },
    }),
    backend,
  ),
);
const REQUIRED_KEYS = settings(renderPgBouncerIni(pgbouncer(), backend));

describe.each(FIELDS)('%s', (field, render) => {
  test.each(HOSTILE.map((v) => [JSON.stringify(String(v)).slice(0, 40), v]))(
    'hostile value %s: refused naming the field, or one line per setting',
    (_label, value) => {
      let text: string;
      try {
        text = render(value);
      } catch (err) {
        // Refused: the message names the field the value came from.
        const message = (err as Error).message;
        if (err instanceof UnsafeIniValueError) expect(err.field).toContain(field.replace(/^the AppBinding's /, ''));
        expect(message).toContain(field === BACKEND_HOST_ANNOTATION ? BACKEND_HOST_ANNOTATION : field.split(' (')[0]);
        return;
      }
      const keys = settings(text);
      expect(new Set(keys).size).toBe(keys.length); // no setting twice
      expect(ALL_KEYS).toEqual(expect.arrayContaining(keys)); // no setting of the author's choosing
      expect(keys).toEqual(expect.arrayContaining(REQUIRED_KEYS));
      expect(text).not.toMatch(/^auth_type = trust$/m);
      expect(text).not.toMatch(/^%include/m);
    },
  );
});

test('a value with a line break is refused, not escaped', () => {
  expect(() =>
    renderPgBouncerIni(
      pgbouncer({ connectionPool: { ignoreStartupParameters: 'extra_float_digits\nauth_type = trust' } }),
      backend,
    ),
  ).toThrow(/spec\.connectionPool\.ignoreStartupParameters: .* control character/);
});

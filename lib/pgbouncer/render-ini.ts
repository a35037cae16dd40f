// Renders pgbouncer.ini from a PgBouncer. This is the ONE renderer: the provisioner writes its output
// into the config Secret, and the ops workflow renders the same text for the spec it is about to
// write, so that after resume the provisioner finds nothing to change. Pure and deterministic:
// the same inputs give the same bytes (keys in a fixed order, no timestamps).
import type { PgBouncer } from '../api/types.js';
import type { BackendAddress } from './backend.js';
import {
  AUTH_FILE,
  CLIENT_TLS_DIR,
  LOG_FILE,
  PID_FILE,
  SERVER_TLS_DIR,
  TLS_CA_KEY,
  TLS_CERT_KEY,
  TLS_KEY_KEY,
} from './paths.js';
import { effectiveSslMode, isTlsEnabled } from './tls-settings.js';

export { effectiveSslMode, isTlsEnabled };

export const DEFAULT_LISTEN_PORT = 5432;
export const ADMIN_USER = 'pgbouncer';

/**
 * sslmode towards PostgreSQL when the pooler has TLS. `prefer` encrypts whenever the backend offers
 * TLS and still connects to a backend without it, and it does not verify the backend's certificate,
 * whose CA we do not hold (AppBinding.caBundle is not rendered). A stricter mode would turn a TLS
 * change on the pooler into an outage of the backend connections.
 */
export const SERVER_TLS_SSLMODE = 'prefer';

type Line = [key: string, value: string | number | undefined];

/** Refused anywhere in pgbouncer.ini: a line break would start a setting of the author's choosing. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A value in pgbouncer.ini that came from the PgBouncer or its AppBinding and cannot be one safe line. */
export class UnsafeIniValueError extends Error {
  constructor(
    readonly field: string,
    value: unknown,
    why: string,
  ) {
    super(`${field}: ${JSON.stringify(String(value)).slice(0, 80)} cannot be written to pgbouncer.ini: ${why}`);
    this.name = 'UnsafeIniValueError';
  }
}

/** A string for pgbouncer.ini: refused when it has a control character (a line break or similar). */
function safe<T extends string | undefined>(field: string, value: T): T {
  if (value === undefined) return value;
  if (typeof value !== 'string' || CONTROL_CHARACTERS.test(value)) {
    throw new UnsafeIniValueError(field, value, 'it contains a control character (a line break or similar); remove it');
  }
  return value;
}

/** A whole number for pgbouncer.ini (the CRD says so; the renderer does not trust that it ran). */
function safeNumber<T extends number | undefined>(field: string, value: T): T {
  if (value === undefined || Number.isSafeInteger(value)) return value;
  throw new UnsafeIniValueError(field, value, 'it is not a whole number; write a number such as 100');
}

/** One of the words pgbouncer knows for this setting. */
function safeChoice<T extends string>(field: string, value: T, choices: readonly string[]): T {
  if (choices.includes(value)) return value;
  throw new UnsafeIniValueError(field, value, `use one of ${choices.join(', ')}`);
}

/** A [databases] key: bare when pgbouncer allows it, else SQL-identifier quoting. */
function databaseKey(name: string): string {
  return /^[_0-9A-Za-z]+$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** A connection-string value: bare when it has no space or quote, else single-quoted with '' escapes. */
function connValue(value: string | number): string {
  const text = String(value);
  return /^[^\s']+$/.test(text) ? text : `'${text.replaceAll("'", "''")}'`;
}

function section(name: string, lines: Line[]): string[] {
  return [`[${name}]`, ...lines.filter(([, v]) => v !== undefined).map(([k, v]) => `${k} = ${v}`)];
}

/**
 * Throws UnsafeIniValueError (naming the field) for a value that could break out of its line, so
 * no spec or AppBinding can add a setting of its own (auth_type = trust, %include, ...).
 */
export function renderPgBouncerIni(pb: PgBouncer, backend: BackendAddress): string {
  const pool = pb.spec.connectionPool ?? {};
  const dbName = safe('spec.database.databaseName', pb.spec.database.databaseName);
  const host = safe(
    "the AppBinding's host (spec.clientConfig or the pgbtls.dev/backend-host annotation)",
    backend.host,
  );
  const port = safeNumber("the AppBinding's port (spec.clientConfig)", backend.port);
  const route = `host=${connValue(host)} port=${port} dbname=${connValue(dbName)}`;

  const settings: Line[] = [
    ['listen_addr', '*'],
    ['listen_port', safeNumber('spec.connectionPool.port', pool.port ?? DEFAULT_LISTEN_PORT)],
    ['auth_type', safeChoice('spec.connectionPool.authType', pool.authType ?? 'md5', ['md5', 'scram-sha-256'])],
    ['auth_file', AUTH_FILE],
    ['admin_users', ADMIN_USER],
    [
      'pool_mode',
      safeChoice('spec.connectionPool.poolMode', pool.poolMode ?? 'session', ['session', 'transaction', 'statement']),
    ],
    ['max_client_conn', safeNumber('spec.connectionPool.maxClientConnections', pool.maxClientConnections)],
    ['default_pool_size', safeNumber('spec.connectionPool.defaultPoolSize', pool.defaultPoolSize)],
    ['min_pool_size', safeNumber('spec.connectionPool.minPoolSize', pool.minPoolSize)],
    ['reserve_pool_size', safeNumber('spec.connectionPool.reservePoolSize', pool.reservePoolSize)],
    [
      'reserve_pool_timeout',
      safeNumber('spec.connectionPool.reservePoolTimeoutSeconds', pool.reservePoolTimeoutSeconds),
    ],
    ['max_db_connections', safeNumber('spec.connectionPool.maxDBConnections', pool.maxDBConnections)],
    ['max_user_connections', safeNumber('spec.connectionPool.maxUserConnections', pool.maxUserConnections)],
    ['stats_period', safeNumber('spec.connectionPool.statsPeriodSeconds', pool.statsPeriodSeconds)],
    [
      'ignore_startup_parameters',
      safe('spec.connectionPool.ignoreStartupParameters', pool.ignoreStartupParameters || 'extra_float_digits'),
    ],
    ['logfile', LOG_FILE],
    ['pidfile', PID_FILE],
  ];
  if (isTlsEnabled(pb)) {
    // Clients: the server certificate, and its CA to check the client certificates that
    // verify-ca/verify-full demand.
    settings.push(
      [
        'client_tls_sslmode',
        safeChoice('spec.sslMode', effectiveSslMode(pb), [
          'disable',
          'allow',
          'prefer',
          'require',
          'verify-ca',
          'verify-full',
        ]),
      ],
      ['client_tls_ca_file', `${SERVER_TLS_DIR}/${TLS_CA_KEY}`],
      ['client_tls_key_file', `${SERVER_TLS_DIR}/${TLS_KEY_KEY}`],
      ['client_tls_cert_file', `${SERVER_TLS_DIR}/${TLS_CERT_KEY}`],
    );
    // Backend: the pooler's client certificate (CN pgbouncer). Note that a PostgreSQL configured
    // with ssl_ca_file checks a presented certificate and refuses one its CA did not sign.
    settings.push(
      ['server_tls_sslmode', SERVER_TLS_SSLMODE],
      ['server_tls_ca_file', `${CLIENT_TLS_DIR}/${TLS_CA_KEY}`],
      ['server_tls_key_file', `${CLIENT_TLS_DIR}/${TLS_KEY_KEY}`],
      ['server_tls_cert_file', `${CLIENT_TLS_DIR}/${TLS_CERT_KEY}`],
    );
  }

  return (
    [...section('databases', [[databaseKey(dbName), route]]), '', ...section('pgbouncer', settings)].join('\n') + '\n'
  );
}

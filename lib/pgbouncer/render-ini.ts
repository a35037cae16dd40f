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

export function renderPgBouncerIni(pb: PgBouncer, backend: BackendAddress): string {
  const pool = pb.spec.connectionPool ?? {};
  const dbName = pb.spec.database.databaseName;
  const route = `host=${connValue(backend.host)} port=${backend.port} dbname=${connValue(dbName)}`;

  const settings: Line[] = [
    ['listen_addr', '*'],
    ['listen_port', pool.port ?? DEFAULT_LISTEN_PORT],
    ['auth_type', pool.authType ?? 'md5'],
    ['auth_file', AUTH_FILE],
    ['admin_users', ADMIN_USER],
    ['pool_mode', pool.poolMode ?? 'session'],
    ['max_client_conn', pool.maxClientConnections],
    ['default_pool_size', pool.defaultPoolSize],
    ['min_pool_size', pool.minPoolSize],
    ['reserve_pool_size', pool.reservePoolSize],
    ['reserve_pool_timeout', pool.reservePoolTimeoutSeconds],
    ['max_db_connections', pool.maxDBConnections],
    ['max_user_connections', pool.maxUserConnections],
    ['stats_period', pool.statsPeriodSeconds],
    ['ignore_startup_parameters', pool.ignoreStartupParameters || 'extra_float_digits'],
    ['logfile', LOG_FILE],
    ['pidfile', PID_FILE],
  ];
  if (isTlsEnabled(pb)) {
    // Clients: the server certificate, and its CA to check the client certificates that
    // verify-ca/verify-full demand.
    settings.push(
      ['client_tls_sslmode', effectiveSslMode(pb)],
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

// PgBouncer's admin console (the virtual `pgbouncer` database): how the workflow asks a running
// pooler to re-read its configuration and TLS files without dropping a session.
import pg from 'pg';

export interface AdminConnection {
  address: string;
  port: number;
  user: string;
  password: string;
  /**
   * When the pooler has TLS: the pooler's own client certificate (CN = the admin user), which
   * client_tls_sslmode verify-ca/verify-full and auth_type cert demand. What the pooler serves is
   * judged by the TLS probe, not here, so the server certificate is not verified on this link.
   */
  tls?: { certPem: string; keyPem: string };
  timeoutMs?: number;
}

/** Sends RELOAD; resolves once PgBouncer has acknowledged it. */
export async function reloadPgBouncer(conn: AdminConnection): Promise<void> {
  const client = new pg.Client({
    host: conn.address,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: 'pgbouncer',
    connectionTimeoutMillis: conn.timeoutMs ?? 2_000,
    // A pooler that accepts but never answers must not hold the caller past its heartbeat timeout.
    query_timeout: conn.timeoutMs ?? 2_000,
    ssl: conn.tls ? { rejectUnauthorized: false, cert: conn.tls.certPem, key: conn.tls.keyPem } : false,
  });
  // An 'error' event without a listener would crash the worker; the query's rejection reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('RELOAD');
  } finally {
    await client.end().catch(() => undefined);
  }
}

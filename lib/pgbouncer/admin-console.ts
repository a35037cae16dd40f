// PgBouncer's admin console (the virtual `pgbouncer` database): how the workflow asks a running
// pooler to re-read its configuration and TLS files without dropping a session.
//
// The admin password is sent only to a peer that proved who it is: a TLS handshake whose
// certificate chains to the CA the pod should serve and names the pod (or the pooler's Service).
// Without TLS there is no such proof, so no RELOAD is sent at all: the planner restarts pods
// instead (a reload is only ever planned for a pooler that keeps TLS), and this module refuses
// rather than send the password in plaintext.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import pg from 'pg';

export interface AdminTls {
  /** The pooler's own client certificate (CN = the admin user), which verify-ca/verify-full demand. */
  certPem?: string;
  keyPem?: string;
  /** PEM bundle the pod's certificate must chain to: ca.crt of its server certificate Secret. */
  caBundle: string;
  /** Names the served certificate may carry: the pod's DNS name first (also sent as SNI). */
  hostnames: string[];
}

export interface AdminConnection {
  address: string;
  port: number;
  user: string;
  password: string;
  /** Required: without a verified TLS peer the password is not sent. */
  tls?: AdminTls;
  /** Connection (TCP + TLS + login) timeout. */
  timeoutMs?: number;
}

export class UnverifiedAdminPeerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnverifiedAdminPeerError';
  }
}

/** The `ssl` options of a pg client that verifies the pod before any password leaves. */
export function verifiedTlsOptions(tls: AdminTls) {
  return {
    ca: tls.caBundle,
    cert: tls.certPem,
    key: tls.keyPem,
    servername: tls.hostnames[0],
    rejectUnauthorized: true,
    // The chain was verified against `ca` by then; the leaf must be for this pod or this pooler.
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      const errors = tls.hostnames.map((h) => checkServerIdentity(h, cert));
      return errors.some((e) => e === undefined) ? undefined : errors[0];
    },
  };
}

/** Sends RELOAD over verified TLS; resolves once PgBouncer has acknowledged it. */
export async function reloadPgBouncer(conn: AdminConnection): Promise<void> {
  await adminCommand(conn, 'RELOAD');
}

/** One client of the pooler as `SHOW CLIENTS` lists it. */
export interface PgBouncerClient {
  /** One connection: PgBouncer's pointer and the client's address (a freed pointer is reused). */
  id: string;
  database: string;
  user: string;
  state: string;
  /** Linked to a server connection: a transaction (or, in session mode, a session) is in flight. */
  linked: boolean;
}

/** The pooler's client connections, the admin console's own excluded. */
export async function listClients(conn: AdminConnection): Promise<PgBouncerClient[]> {
  const rows = await adminCommand(conn, 'SHOW CLIENTS');
  return rows
    .filter((r) => r.database !== 'pgbouncer')
    .map((r) => ({
      id: `${String(r.ptr)}/${String(r.addr)}:${String(r.port)}`,
      database: String(r.database),
      user: String(r.user),
      state: String(r.state),
      linked: Boolean(r.link),
    }));
}

/** Runs one admin console command over verified TLS; refuses without a CA and host names to verify. */
async function adminCommand(
  conn: AdminConnection,
  command: 'RELOAD' | 'SHOW CLIENTS',
): Promise<Record<string, unknown>[]> {
  if (!conn.tls?.caBundle || conn.tls.hostnames.length === 0) {
    throw new UnverifiedAdminPeerError(
      `not sending the admin password to ${conn.address}:${conn.port}: no CA and host name to verify the pod against (a pooler without TLS is restarted, not reloaded)`,
    );
  }
  const client = new pg.Client({
    host: conn.address,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: 'pgbouncer',
    connectionTimeoutMillis: conn.timeoutMs ?? 2_000,
    // A pooler that accepts but never answers must not hold the caller past its heartbeat timeout.
    query_timeout: conn.timeoutMs ?? 2_000,
    ssl: verifiedTlsOptions(conn.tls),
  });
  // An 'error' event without a listener would crash the worker; the query's rejection reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    // The admin console speaks only the simple query protocol.
    const result = await client.query(command);
    return (result.rows ?? []) as Record<string, unknown>[];
  } finally {
    await closeWithin(client, conn.timeoutMs ?? 2_000);
  }
}

/**
 * Ends the client, but never waits longer than `ms`: after a handshake the pooler refused (a
 * client certificate it does not trust), pg's end() may never settle, and an activity stuck
 * there would neither finish nor see its cancellation.
 */
async function closeWithin(client: pg.Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([client.end().catch(() => undefined), gaveUp]);
  clearTimeout(timer);
}

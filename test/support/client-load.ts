// TEST SUPPORT: application clients through a pooler's Service, counting what they see while a
// TLS change runs. Two kinds, as applications behave:
// - holders open one session and keep it, querying all along; when it drops they count a dropped
//   session and open a new one;
// - per-query clients connect, run one query, disconnect; on any error they try again within 1 s.
// TLS like libpq's sslmode=prefer: TLS when the pooler offers it, plain when it answers N, so the
// same clients work before, during and after adding or removing TLS. Certificates are not
// verified here (served-tls.test.ts verifies them); this counts availability.
import pg from 'pg';

export interface LoadTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface DroppedSession {
  /** How long the session had lived when it dropped. */
  livedMs: number;
  error: string;
}

export interface LoadCounts {
  /** Per-query clients: queries run, queries that failed once connected, connects that failed. */
  queries: number;
  failedQueries: number;
  failedConnects: number;
  /** Holders: queries run, queries that failed, sessions that dropped. */
  heldQueries: number;
  heldFailedQueries: number;
  droppedSessions: number;
  dropped: DroppedSession[];
  /** Connects whose TLS negotiation was repeated (see connectPreferTls): not failures. */
  renegotiated: number;
  /** The first few distinct errors, for the report. */
  errors: string[];
}

export interface ClientLoad {
  counts: LoadCounts;
  stop(): Promise<LoadCounts>;
}

const NO_SSL = /does not support SSL/i;
const RETRY_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SSL_REQUIRED = /SSL required/i;

/**
 * Connects with TLS when offered (sslmode=prefer); rejects with the connect error otherwise.
 * libpq's prefer falls back to plain on the same TCP connection; pg cannot, so its plain retry is a
 * new connection, which the Service may send to another pod — one that requires TLS while the
 * first one offered none (pods mid-change). That is an artifact of this client, not of the pooler:
 * the negotiation is tried again at once (at most 3 TCP connections) and counted in `renegotiated`.
 */
async function connectPreferTls(target: LoadTarget, counts: LoadCounts): Promise<pg.Client> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    for (const ssl of [{ rejectUnauthorized: false }, false] as const) {
      const client = new pg.Client({ ...target, ssl, connectionTimeoutMillis: 3_000, query_timeout: 10_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return client;
      } catch (err) {
        await client.end().catch(() => undefined);
        lastError = err;
        if (ssl && NO_SSL.test((err as Error).message)) continue; // offered no TLS: plain next
        if (!ssl && SSL_REQUIRED.test((err as Error).message)) break; // another pod: negotiate again
        throw err;
      }
    }
    counts.renegotiated++;
  }
  throw lastError;
}

export function startClientLoad(
  target: LoadTarget,
  opts: { holders: number; perQuery: number; intervalMs?: number },
): ClientLoad {
  const interval = opts.intervalMs ?? 25;
  const counts: LoadCounts = {
    queries: 0,
    failedQueries: 0,
    failedConnects: 0,
    heldQueries: 0,
    heldFailedQueries: 0,
    droppedSessions: 0,
    dropped: [],
    renegotiated: 0,
    errors: [],
  };
  const noteError = (what: string, err: unknown) => {
    const text = `${what}: ${(err as Error).message}`;
    if (counts.errors.length < 8 && !counts.errors.includes(text)) counts.errors.push(text);
  };
  let running = true;
  /** A connection, or undefined after a counted failed connect and the client's 1 s back-off. */
  const connectOrBackOff = async (what: string): Promise<pg.Client | undefined> => {
    try {
      return await connectPreferTls(target, counts);
    } catch (err) {
      counts.failedConnects++;
      noteError(what, err);
      await sleep(RETRY_MS);
      return undefined;
    }
  };

  const holder = async () => {
    while (running) {
      const client = await connectOrBackOff('holder connect');
      if (!client) continue;
      const opened = Date.now();
      let closedUnderUs = false;
      client.on('end', () => (closedUnderUs = running));
      while (running) {
        try {
          await client.query('select 1');
          counts.heldQueries++;
        } catch (err) {
          counts.heldFailedQueries++;
          noteError('held query', err);
          closedUnderUs = true;
        }
        if (closedUnderUs) break;
        await sleep(interval * 2);
      }
      if (closedUnderUs && running) {
        counts.droppedSessions++;
        counts.dropped.push({ livedMs: Date.now() - opened, error: counts.errors.at(-1) ?? '' });
        await sleep(RETRY_MS);
      }
      await client.end().catch(() => undefined);
    }
  };

  const perQuery = async () => {
    while (running) {
      const client = await connectOrBackOff('connect');
      if (!client) continue;
      try {
        await client.query('select 1');
        counts.queries++;
      } catch (err) {
        counts.failedQueries++;
        noteError('query', err);
        await sleep(RETRY_MS);
      } finally {
        await client.end().catch(() => undefined);
      }
      await sleep(interval);
    }
  };

  const loops = [...Array.from({ length: opts.holders }, holder), ...Array.from({ length: opts.perQuery }, perQuery)];
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

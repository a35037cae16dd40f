// The PostgreSQL (Debian's) behind the stack's PgBouncers: one cluster, on 127.0.0.1 only, so that
// clients connecting through a pooler pod reach a real database. Its superuser password is made
// once and kept with the data, so `npm start` finds the same cluster again.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, isAccepting } from './ports.js';
import { startProcess, tailOfLog, unprivilegedUser, type ManagedProcess } from './process.js';

export interface PostgresInfo {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface RunningPostgres {
  info: PostgresInfo;
  process: ManagedProcess;
}

const SUPERUSER = 'postgres';

export async function startPostgres(opts: {
  postgres: string;
  initdb: string;
  /** Owned by the user PostgreSQL runs as; data and socket go below it. */
  dir: string;
  logFile: string;
}): Promise<RunningPostgres> {
  const user = unprivilegedUser();
  const data = join(opts.dir, 'data');
  const passwordFile = join(opts.dir, 'superuser-password');
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  if (user) chownSync(opts.dir, user.uid, user.gid);
  if (!existsSync(join(data, 'PG_VERSION'))) {
    writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    if (user) chownSync(passwordFile, user.uid, user.gid);
    const init = spawnSync(
      opts.initdb,
      [
        '-D',
        data,
        '-U',
        SUPERUSER,
        `--pwfile=${passwordFile}`,
        '--auth-local=peer',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--no-sync',
      ],
      { encoding: 'utf8', ...(user ?? {}) },
    );
    if (init.status !== 0)
      throw new Error(`initdb failed (exit ${init.status}): ${(init.stderr || init.stdout).trim().slice(-800)}`);
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = await freePort();
  const proc = startProcess(
    'postgres',
    opts.postgres,
    [
      '-D',
      data,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `port=${port}`,
      '-c',
      `unix_socket_directories=${opts.dir}`,
      '-c',
      'fsync=off',
    ],
    { logFile: opts.logFile, user },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const accepting = await isAccepting('127.0.0.1', port);
    if (accepting) break;
    const exited = await Promise.race([
      proc.exited.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 100)),
    ]);
    if (exited || Date.now() > deadline) {
      await proc.stop();
      throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}:\n${tailOfLog(opts.logFile)}`);
    }
  }
  return { info: { host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' }, process: proc };
}

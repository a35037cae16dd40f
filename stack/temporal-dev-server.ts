// Runs the Temporal dev server natively from the settings in temporal-dev.yml (Docker Compose
// form), so the same file serves `docker compose` and machines without Docker.
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { Connection } from '@temporalio/client';
import { startProcess, waitUntilReady, type ManagedProcess } from './process.js';

export interface TemporalDevServerSettings {
  args: string[];
  grpcPort: number;
  uiPort: number;
  namespace: string;
  searchAttributes: Record<string, string>;
}

interface ComposeFile {
  services?: { temporal?: { command?: string[]; volumes?: string[] } };
}

function flagValue(args: string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(flag + '=')) return args[i].slice(flag.length + 1);
  }
  return undefined;
}

/** Sets `--flag=value`, replacing any earlier form of the flag. */
function setFlag(args: string[], flag: string, value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) {
      i++;
      continue;
    }
    if (args[i].startsWith(flag + '=')) continue;
    out.push(args[i]);
  }
  return [...out, `${flag}=${value}`];
}

export interface NativeOverrides {
  /** Directory the compose volume maps to; the SQLite file lives there. */
  dataDir: string;
  /** Ports to use instead of the file's (tests use free ports so they never clash with `npm start`). */
  ports?: { grpc: number; ui: number; http: number; metrics: number };
}

/** Turns the compose service's command into native `temporal` arguments. */
export function nativeSettings(composeText: string, overrides: NativeOverrides): TemporalDevServerSettings {
  const compose = loadYaml<ComposeFile>(composeText);
  const service = compose.services?.temporal;
  if (!service?.command?.length) throw new Error('temporal-dev.yml: services.temporal.command is missing');
  const volume = (service.volumes ?? []).map((v) => v.split(':')).find((parts) => parts.length >= 2);
  let args = service.command.map((a) => {
    // The container path of the volume becomes the native data directory.
    return volume ? a.replace(volume[1], overrides.dataDir) : a;
  });
  args = setFlag(args, '--ip', '127.0.0.1');
  if (overrides.ports) {
    args = setFlag(args, '--port', String(overrides.ports.grpc));
    args = setFlag(args, '--ui-port', String(overrides.ports.ui));
    args = setFlag(args, '--http-port', String(overrides.ports.http));
    args = setFlag(args, '--metrics-port', String(overrides.ports.metrics));
  }
  const searchAttributes: Record<string, string> = {};
  args.forEach((a, i) => {
    const value = a.startsWith('--search-attribute=')
      ? a.split('=').slice(1).join('=')
      : a === '--search-attribute'
        ? args[i + 1]
        : undefined;
    if (value) {
      const [key, type] = value.split('=');
      searchAttributes[key] = type;
    }
  });
  return {
    args,
    grpcPort: Number(flagValue(args, '--port') ?? 7233),
    uiPort: Number(flagValue(args, '--ui-port') ?? Number(flagValue(args, '--port') ?? 7233) + 1000),
    namespace: flagValue(args, '--namespace') ?? 'default',
    searchAttributes,
  };
}

export interface RunningTemporal {
  process: ManagedProcess;
  address: string;
  uiUrl: string;
  namespace: string;
}

export async function startTemporalDevServer(opts: {
  binary: string;
  composeFile: string;
  stateDir: string;
  ports?: NativeOverrides['ports'];
  /** Keep workflow state in memory, not in the SQLite file (tests whose state need not survive). */
  inMemory?: boolean;
}): Promise<RunningTemporal> {
  const dataDir = join(opts.stateDir, 'temporal');
  mkdirSync(dataDir, { recursive: true });
  const settings = nativeSettings(readFileSync(opts.composeFile, 'utf8'), { dataDir, ports: opts.ports });
  const args = opts.inMemory ? settings.args.filter((a) => !a.startsWith('--db-filename')) : settings.args;
  const proc = startProcess('temporal', opts.binary, args, {
    logFile: join(opts.stateDir, 'logs', 'temporal.log'),
  });
  const address = `127.0.0.1:${settings.grpcPort}`;
  await waitUntilReady(proc, () => temporalIsServing(address), { timeoutMs: 60_000 });
  return { process: proc, address, uiUrl: `http://127.0.0.1:${settings.uiPort}`, namespace: settings.namespace };
}

/** True when the frontend answers a health check (the port alone opens before the server is usable). */
export async function temporalIsServing(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    const res = await connection.healthService.check({});
    return res.status === 1; // SERVING
  } finally {
    await connection.close();
  }
}

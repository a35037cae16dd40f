// What runs "inside" a pod on the stand-in node: one Debian pgbouncer process per pod, on its own
// loopback address (the pod IP), reading the pod's Secret volumes from files the way a kubelet
// projects them — including the delay before a changed Secret shows up in a running pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { startResilientInformer, type ResilientInformer } from '../../../lib/kube/informer.js';
import { classifyKubeError, getOrUndefined, type Kube } from '../../../lib/kube/kube.js';
import type { Logger } from '../../../lib/log.js';
import { CONFIG_FILE } from '../../../lib/pgbouncer/paths.js';
import { isAccepting } from '../../../stack/ports.js';
import { unprivilegedUser } from '../../../stack/process.js';
import type { PodFault } from './faults.js';

export interface StartedPod {
  podIP: string;
}

export interface PodRuntime {
  /** Starts the pod's workload; resolves when it should be reported Ready. */
  start(pod: V1Pod, fault?: PodFault): Promise<StartedPod>;
  /** Stops the pod's workload; must be safe to call for a pod that never started. */
  stop(pod: V1Pod): Promise<void>;
  /** Stops every workload (the node goes away). */
  stopAll(): Promise<void>;
}

export interface PgBouncerRuntimeOptions {
  kube: Kube;
  logger: Logger;
  /** Path of Debian's pgbouncer binary. */
  pgbouncer: string;
  /** Where pods' files live: <rootDir>/<namespace>_<pod>_<uid>/root/<mount path>. */
  rootDir: string;
  /** Container start-up time on top of pgbouncer's own, before the pod reports Ready. */
  readyDelayMs: number;
  /** How long a changed Secret takes to reach a running pod's files (the kubelet's sync delay). */
  projectionDelayMs: number;
  /** How often running pods' Secrets are compared with their files. */
  syncPeriodMs?: number;
  /** The first two octets of this node's pod addresses, e.g. `127.42` (see podNetworkFor). */
  podNetwork: string;
}

interface SecretVolume {
  secretName: string;
  mountPath: string;
  mode: number;
}

interface RunningPod {
  key: string;
  namespace: string;
  ip: string;
  dir: string;
  volumes: SecretVolume[];
  /** Secret name → hash of the data last written to the pod's files. */
  projected: Map<string, string>;
  /** Secret name → the changed data first seen, not yet written (the projection delay runs). */
  pending: Map<string, { hash: string; since: number }>;
  /** Fault: files keep what the pod started with, whatever happens to the Secrets. */
  frozen: boolean;
  process: ChildProcess;
  exited: Promise<void>;
  stopping: boolean;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const CONTAINER_START_ATTEMPTS = 5;
// Third octets 0..254; 255 is reserved for the Service proxy's addresses (service-proxy.ts).
const POD_ADDRESSES = 254 * 255;

const hashData = (data: Record<string, string> | undefined) =>
  createHash('sha256')
    .update(JSON.stringify(Object.entries(data ?? {}).sort()))
    .digest('hex');

/**
 * The pod's pgbouncer.ini as the host process needs it: absolute paths moved under the pod's
 * root, listening on the pod IP only, and no Unix socket (pods share the host's /tmp namespace).
 */
export function hostIni(podIni: string, podRoot: string, podIP: string): string {
  const lines = podIni.split('\n').map((line) => {
    const m = /^(\s*)([a-z_]+)(\s*=\s*)(.*)$/.exec(line);
    if (!m) return line;
    const [, indent, key, eq, value] = m;
    if (key === 'listen_addr') return `${indent}${key}${eq}${podIP}`;
    if (key === 'unix_socket_dir') return '';
    return value.startsWith('/') ? `${indent}${key}${eq}${podRoot}${value}` : line;
  });
  const at = lines.findIndex((l) => l.trim() === '[pgbouncer]');
  if (at >= 0) lines.splice(at + 1, 0, 'unix_socket_dir =');
  return lines.join('\n');
}

export class PgBouncerRuntime implements PodRuntime {
  private readonly pods = new Map<string, RunningPod>(); // by uid
  private readonly addressOnly = new Map<string, string>(); // uid → IP of pods with nothing to run
  private readonly user = unprivilegedUser();
  private nextHost = 1;
  private syncTimer?: NodeJS.Timeout;
  private syncing = false;
  private syncFailing = false;
  private secretCache?: ResilientInformer<V1Secret>;

  constructor(private readonly opts: PgBouncerRuntimeOptions) {
    mkdirSync(opts.rootDir, { recursive: true });
    this.syncTimer = setInterval(() => void this.syncFiles(), opts.syncPeriodMs ?? 250);
  }

  async start(pod: V1Pod, fault?: PodFault): Promise<StartedPod> {
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    const container = pod.spec!.containers[0];
    const mounts = new Map((container.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
    const volumes: SecretVolume[] = (pod.spec!.volumes ?? []).flatMap((v) =>
      v.secret?.secretName && mounts.has(v.name)
        ? [{ secretName: v.secret.secretName, mountPath: mounts.get(v.name)!, mode: v.secret.defaultMode ?? 0o644 }]
        : [],
    );
    const port = container.ports?.[0]?.containerPort ?? 5432;
    const ip = this.allocateIp();
    if (!volumes.some((v) => `${v.mountPath}/pgbouncer.ini` === CONFIG_FILE)) {
      // Not a PgBouncer (the control-plane tests' plain StatefulSets): nothing to run, only an address.
      this.addressOnly.set(uid, ip);
      await new Promise((r) => setTimeout(r, this.opts.readyDelayMs));
      return { podIP: ip };
    }
    const dir = join(this.opts.rootDir, `${namespace}_${name}_${uid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'root', 'tmp'), { recursive: true });
    const running: Omit<RunningPod, 'process' | 'exited'> = {
      key: `${namespace}/${name}`,
      namespace,
      ip,
      dir,
      volumes,
      projected: new Map(),
      pending: new Map(),
      frozen: fault?.frozenFiles === true,
      stopping: false,
    };
    // Like a kubelet with restartPolicy Always: a container that exits while starting is started
    // again, its volumes refreshed first, with a growing back-off.
    for (let attempt = 1; ; attempt++) {
      // A kubelet does not start the container before its volumes are there.
      const secrets = await this.readSecrets(namespace);
      for (const v of volumes) {
        const secret = await this.volumeSecret(secrets, namespace, v.secretName);
        if (!secret) throw new Error(`pod ${running.key}: Secret ${v.secretName} is not there yet (volume not ready)`);
        this.project(running, v, secret);
      }
      this.chownTree(dir);
      const entry = this.spawnPgBouncer(running, uid);
      try {
        await this.waitAccepting(entry, port);
        break;
      } catch (err) {
        if (attempt >= CONTAINER_START_ATTEMPTS || entry.stopping) throw err;
        this.opts.logger.warn('pgbouncer did not start; restarting the container', {
          pod: running.key,
          attempt,
          error: (err as Error).message,
          files: this.listFiles(dir),
        });
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    await new Promise((r) => setTimeout(r, this.opts.readyDelayMs));
    this.opts.logger.debug('pgbouncer accepting', {
      pod: running.key,
      address: `${ip}:${port}`,
      frozen: running.frozen,
    });
    return { podIP: ip };
  }

  private spawnPgBouncer(running: Omit<RunningPod, 'process' | 'exited'>, uid: string): RunningPod {
    const child = spawn(this.opts.pgbouncer, [join(running.dir, 'pgbouncer.ini')], {
      cwd: running.dir,
      stdio: 'ignore',
      ...(this.user ?? {}),
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const entry: RunningPod = { ...running, process: child, exited };
    this.pods.set(uid, entry);
    void exited.then(() => {
      if (!entry.stopping)
        this.opts.logger.warn('pgbouncer exited on its own', { pod: entry.key, log: this.logTail(entry) });
    });
    return entry;
  }

  /** The pod's files with their sizes, for the log when pgbouncer will not start. */
  private listFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (path: string) => {
      const st = statSync(path);
      if (st.isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
      else out.push(`${path.slice(dir.length)} ${st.size}B ${(st.mode & 0o777).toString(8)}`);
    };
    walk(dir);
    return out;
  }

  async stop(pod: V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!;
    this.addressOnly.delete(uid);
    const entry = this.pods.get(uid);
    if (!entry) return;
    entry.stopping = true;
    // The kubelet's part of a graceful deletion: SIGTERM (pgbouncer's immediate shutdown), then SIGKILL.
    entry.process.kill('SIGTERM');
    const killed = setTimeout(() => entry.process.kill('SIGKILL'), STOP_GRACE_MS);
    await entry.exited;
    clearTimeout(killed);
    this.pods.delete(uid);
    rmSync(entry.dir, { recursive: true, force: true });
  }

  async stopAll(): Promise<void> {
    clearInterval(this.syncTimer);
    await this.secretCache?.stop();
    await Promise.all([...this.pods.keys()].map((uid) => this.stop({ metadata: { uid } } as V1Pod)));
  }

  /**
   * Pod addresses come from this stack's own /16 of the loopback range (`<podNetwork>.H.L`), so
   * stacks running side by side never hand out the same pod IP, and a node holds ~65,000 pods.
   */
  private allocateIp(): string {
    const inUse = new Set([...[...this.pods.values()].map((p) => p.ip), ...this.addressOnly.values()]);
    for (let i = 0; i < POD_ADDRESSES; i++) {
      const n = this.nextHost;
      this.nextHost = (this.nextHost % POD_ADDRESSES) + 1;
      const ip = `${this.opts.podNetwork}.${Math.floor((n - 1) / 254)}.${((n - 1) % 254) + 1}`;
      if (!inUse.has(ip)) return ip;
    }
    throw new Error(`no free pod address left on the stand-in node (${POD_ADDRESSES} pods running)`);
  }

  /**
   * Follows every Secret with one watch, as a kubelet does for its pods' volumes: syncing files
   * and starting pods then read the cache, not a LIST of the namespace each time (that made the
   * stand-in the API server's biggest client in a fleet, and the bench measured it, not us).
   */
  async watchSecrets(): Promise<void> {
    const { kube, logger } = this.opts;
    this.secretCache = await startResilientInformer<V1Secret>({
      kube,
      path: '/api/v1/secrets',
      list: () => kube.core.listSecretForAllNamespaces(),
      what: 'Secrets (kubelet stand-in)',
      logger,
      onChange: () => {},
    });
  }

  private async readSecrets(namespace: string): Promise<Map<string, V1Secret>> {
    if (this.secretCache?.synced())
      return new Map(this.secretCache.cache.list(namespace).map((s) => [s.metadata!.name!, s]));
    const list = await this.opts.kube.core.listNamespacedSecret({ namespace });
    return new Map(list.items.map((s) => [s.metadata!.name!, s]));
  }

  /** A volume's Secret: from the cache, or, when the cache has not seen it yet, from the API. */
  private async volumeSecret(
    secrets: Map<string, V1Secret>,
    namespace: string,
    name: string,
  ): Promise<V1Secret | undefined> {
    return secrets.get(name) ?? getOrUndefined(() => this.opts.kube.core.readNamespacedSecret({ name, namespace }));
  }

  /** Writes one Secret volume's files, each by rename so pgbouncer never reads half a file. */
  private project(pod: Omit<RunningPod, 'process' | 'exited'>, v: SecretVolume, secret: V1Secret): void {
    const hostDir = join(pod.dir, 'root', v.mountPath);
    mkdirSync(hostDir, { recursive: true });
    for (const [key, b64] of Object.entries(secret.data ?? {})) {
      const tmp = join(hostDir, `..${key}.tmp`);
      writeFileSync(tmp, Buffer.from(b64, 'base64'), { mode: v.mode });
      if (this.user) chownSync(tmp, this.user.uid, this.user.gid);
      renameSync(tmp, join(hostDir, key));
    }
    if (`${v.mountPath}/pgbouncer.ini` === CONFIG_FILE && secret.data?.['pgbouncer.ini']) {
      const ini = Buffer.from(secret.data['pgbouncer.ini'], 'base64').toString('utf8');
      const tmp = join(pod.dir, '..pgbouncer.ini.tmp');
      writeFileSync(tmp, hostIni(ini, join(pod.dir, 'root'), pod.ip));
      if (this.user) chownSync(tmp, this.user.uid, this.user.gid);
      renameSync(tmp, join(pod.dir, 'pgbouncer.ini'));
    }
    pod.projected.set(v.secretName, hashData(secret.data));
    pod.pending.delete(v.secretName);
  }

  /** Brings running pods' files up to date with their Secrets, each change after the projection delay. */
  private async syncFiles(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const namespaces = new Set(
        [...this.pods.values()].filter((p) => !p.frozen && !p.stopping).map((p) => p.namespace),
      );
      for (const namespace of namespaces) {
        const secrets = await this.readSecrets(namespace);
        const now = Date.now();
        for (const pod of this.pods.values()) {
          if (pod.namespace !== namespace || pod.frozen || pod.stopping) continue;
          for (const v of pod.volumes) {
            const secret = secrets.get(v.secretName);
            if (!secret) continue; // a kubelet keeps the last files of a deleted Secret
            const hash = hashData(secret.data);
            if (hash === pod.projected.get(v.secretName)) {
              pod.pending.delete(v.secretName);
              continue;
            }
            const pending = pod.pending.get(v.secretName);
            if (!pending || pending.hash !== hash) pod.pending.set(v.secretName, { hash, since: now });
            else if (now - pending.since >= this.opts.projectionDelayMs) {
              this.project(pod, v, secret);
              this.opts.logger.debug('projected changed Secret', { pod: pod.key, secret: v.secretName });
            }
          }
        }
      }
      if (this.syncFailing) this.opts.logger.info('Secret sync restored');
      this.syncFailing = false;
    } catch (err) {
      // Once per outage, not every tick.
      if (!this.syncFailing)
        this.opts.logger.warn('Secret sync failed; retrying', { error: classifyKubeError(err).message });
      this.syncFailing = true;
    } finally {
      this.syncing = false;
    }
  }

  private chownTree(dir: string): void {
    if (!this.user) return;
    const walk = (path: string) => {
      chownSync(path, this.user!.uid, this.user!.gid);
      if (statSync(path).isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
    };
    walk(dir);
  }

  private async waitAccepting(pod: RunningPod, port: number): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exited = false;
    void pod.exited.then(() => (exited = true));
    while (Date.now() < deadline && !exited) {
      const ok = await isAccepting(pod.ip, port);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `pgbouncer of pod ${pod.key} does not accept connections on ${pod.ip}:${port}: ${this.logTail(pod)}`,
    );
  }

  private logTail(pod: RunningPod): string {
    try {
      return readFileSync(join(pod.dir, 'root', 'tmp', 'pgbouncer.log'), 'utf8')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ');
    } catch {
      return '(no log)';
    }
  }
}

// The whole local stack: Temporal dev server, Kubernetes control plane with our CRDs, the kubelet
// stand-in, and the product's processes (provisioner, and for `npm start` the worker and the trigger watcher).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKube } from '../lib/kube/kube.js';
import type { Logger } from '../lib/log.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { applyCrds } from './crds.js';
import { freePort } from './ports.js';
import { startPostgres, type RunningPostgres } from './postgres.js';
import { startProcess, waitUntilReady, type ManagedProcess } from './process.js';
import type { StackInfo } from './stack-info.js';
import { startTemporalDevServer, type RunningTemporal } from './temporal-dev-server.js';
import { loadTools, repoRoot } from './tools.js';

export interface StackOptions {
  stateDir: string;
  /** Start from an empty state directory (tests); otherwise state survives restarts (`npm start`). */
  fresh?: boolean;
  /** Free ports for Temporal instead of temporal-dev.yml's (so tests never clash with `npm start`). */
  ephemeralTemporalPorts?: boolean;
  /** Run the Temporal worker and the trigger watcher too (`npm start`); tests start their own. */
  withWorker?: boolean;
  /** Run the provisioner (default true); the RBAC test runs its own, as the chart's ServiceAccount. */
  withProvisioner?: boolean;
  logger: Logger;
}

/**
 * Where PostgreSQL's data and the stand-in's pods' files live. Under /tmp rather than the state
 * directory: both run as the postgres user, which cannot always traverse the checkout (a clone
 * under /root). Named after the state directory so two stacks never share it (scripts/test.sh
 * derives it too, to find leftover processes).
 */
export function runtimeDirFor(stateDir: string): string {
  return join(tmpdir(), `pgbtls-${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 10)}`);
}

/**
 * The loopback /16 the stand-in gives this stack's pods (`127.B`, B in 16..254), derived from the
 * state directory like runtimeDirFor, so stacks side by side (a test's own stack, a second checkout)
 * do not hand out the same pod addresses.
 */
export function podNetworkFor(stateDir: string): string {
  const h = createHash('sha256').update(resolve(stateDir)).digest();
  return `127.${16 + (h.readUInt16BE(0) % 239)}`;
}

export interface RunningStack {
  info: StackInfo;
  timings: Record<string, number>;
  /** Stops kube-apiserver (etcd keeps the data), runs `whileDown`, starts it again on the same port. */
  restartApiServer(whileDown?: () => Promise<void>): Promise<void>;
  /** Stops the Temporal dev server, runs `whileDown`, starts it again on the same ports and SQLite file. */
  restartTemporal(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

async function timed<T>(timings: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await fn();
  timings[name] = Math.round(performance.now() - t0);
  return result;
}

export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const root = repoRoot();
  const tools = loadTools(root);
  const { stateDir, logger } = opts;
  if (opts.fresh) {
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(runtimeDirFor(stateDir), { recursive: true, force: true });
  }
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const timings: Record<string, number> = {};
  const processes: ManagedProcess[] = [];
  let controlPlane: ControlPlane | undefined;
  let temporal: RunningTemporal | undefined;
  let postgres: RunningPostgres | undefined;
  let stopping = false;

  const stop = async () => {
    stopping = true;
    for (const p of [...processes].reverse()) await p.stop();
    await Promise.all([controlPlane?.stop(), temporal?.process.stop(), postgres?.process.stop()]);
  };

  try {
    const ports = opts.ephemeralTemporalPorts
      ? { grpc: await freePort(), ui: await freePort(), http: await freePort(), metrics: await freePort() }
      : undefined;
    const startTemporal = () =>
      startTemporalDevServer({ binary: tools.temporal, composeFile: join(root, 'temporal-dev.yml'), stateDir, ports });
    // The servers are independent: start them side by side.
    const runtimeDir = runtimeDirFor(stateDir);
    mkdirSync(runtimeDir, { recursive: true, mode: 0o755 });
    [temporal, controlPlane, postgres] = await Promise.all([
      timed(timings, 'temporal', startTemporal),
      timed(timings, 'controlPlane', () => startControlPlane({ tools, stateDir })),
      timed(timings, 'postgres', () =>
        startPostgres({
          postgres: tools.postgres,
          initdb: tools.initdb,
          dir: join(runtimeDir, 'postgres'),
          logFile: join(stateDir, 'logs', 'postgres.log'),
        }),
      ),
    ]);
    const cp = controlPlane;
    await timed(timings, 'crds', () => applyCrds(createKube(cp.kubeconfig)));

    const env = {
      ...process.env,
      PGBTLS_EXIT_WITH_PARENT: '1',
      KUBECONFIG: cp.kubeconfig,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      PGBTLS_KUBELET_PODS_DIR: join(runtimeDirFor(stateDir), 'pods'),
      PGBTLS_KUBELET_POD_NETWORK: podNetworkFor(stateDir),
    };
    const node = process.execPath;
    await timed(timings, 'processes', async () => {
      for (const [name, script] of [
        ['kubelet-stand-in', 'dist/test/support/kubelet/main.js'],
        ...(opts.withProvisioner === false ? [] : ([['provisioner', 'dist/provisioner/main.js']] as const)),
        ...(opts.withWorker
          ? ([
              ['worker', 'dist/worker/main.js'],
              ['watcher', 'dist/client/watcher-main.js'],
            ] as const)
          : []),
      ] as const) {
        // PGBTLS_CPU_PROFILE_DIR: the product's processes write V8 CPU profiles there when they
        // exit (`npm run bench` finds where their CPU goes with it).
        const profile = process.env.PGBTLS_CPU_PROFILE_DIR
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PGBTLS_CPU_PROFILE_DIR}`]
          : [];
        const proc = startProcess(name, node, [...profile, join(root, script)], {
          logFile: join(stateDir, 'logs', `${name}.log`),
          env,
        });
        processes.push(proc);
        // A product process that dies takes the stack with it: a half-running stack misleads.
        void proc.exited.then((code) => {
          if (!stopping) logger.error(`${name} exited unexpectedly (${code}); see ${proc.logFile}`);
        });
      }
      // The stand-in registers its node first thing; once it exists, pods can be bound.
      const kube = createKube(cp.kubeconfig);
      await waitUntilReady(processes[0], async () => Boolean(await kube.core.readNode({ name: 'pgbtls-node-0' })), {
        timeoutMs: 30_000,
      });
    });

    const info: StackInfo = {
      stateDir,
      kubeconfig: cp.kubeconfig,
      kubectl: tools.kubectl,
      apiServer: cp.apiServerUrl,
      temporal: { address: temporal.address, namespace: temporal.namespace, uiUrl: temporal.uiUrl },
      postgres: postgres.info,
      pid: process.pid,
      pids: Object.fromEntries(
        [...cp.processes, temporal.process, postgres.process, ...processes].map((p) => [p.name, p.child.pid ?? 0]),
      ),
    };
    // A kubectl of the matching version, already pointed at this stack.
    writeFileSync(
      join(stateDir, 'kubectl'),
      `#!/bin/sh\nexec '${tools.kubectl}' --kubeconfig '${cp.kubeconfig}' "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(stateDir, 'stack.json'), JSON.stringify(info, null, 2) + '\n');
    const restartTemporal = async (whileDown: () => Promise<void> = async () => {}) => {
      await temporal?.process.stop();
      try {
        await whileDown();
      } finally {
        temporal = await startTemporal();
      }
    };
    return { info, timings, restartApiServer: (whileDown) => cp.restartApiServer(whileDown), restartTemporal, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// The one config loader: every setting the processes read from their environment, in one place,
// with defaults that point at the local dev stack.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';

export interface Config {
  /** Path to a kubeconfig; empty means in-cluster or ~/.kube/config (client-node's default order). */
  kubeconfig: string;
  /** Namespaces to watch; empty means all. */
  watchNamespaces: string[];
  /** Where ClusterIssuers keep their CA Secrets (cert-manager's --cluster-resource-namespace). */
  clusterResourceNamespace: string;
  /**
   * How to reach Temporal, from @temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
   * TEMPORAL_API_KEY, TEMPORAL_TLS_* (mTLS) or a TOML profile (TEMPORAL_CONFIG_FILE /
   * TEMPORAL_PROFILE) — the same settings the temporal CLI reads. Defaults to the local dev server.
   */
  temporal: { connectionOptions: ClientConnectConfig['connectionOptions']; namespace: string };
  /** Where the worker serves Prometheus metrics and its health check (host:port; empty: off). */
  metricsAddress: string;
  healthAddress: string;
  /**
   * The watcher's and the provisioner's /healthz (host:port). Off unless PGBTLS_HEALTH_ADDRESS is
   * set: under `npm start` all three run on one machine and the worker holds the default port.
   */
  serviceHealthAddress: string;
  /** Temporal task queue the worker polls and the watcher starts workflows on. */
  taskQueue: string;
  /** The cluster's DNS domain, for the pods' fully qualified names in server certificates. */
  clusterDomain: string;
  /** Interval of the provisioner's periodic resync, in ms. */
  resyncIntervalMs: number;
  /**
   * Reload PgBouncer (admin console RELOAD) instead of restarting the pod wherever the planner's
   * table allows it (lib/planner/pods.ts). PGBTLS_HOT_RELOAD=false restarts every pod.
   */
  hotReload: boolean;
  /**
   * How long a pod may take to serve the intended certificate after its restart or reload (the
   * kubelet projects a changed Secret into a running pod only after its sync delay), in ms.
   */
  servedCertificateTimeoutMs: number;
  /**
   * How long a pod without a TLS admin path (so no way to watch its sessions) stays out of its
   * Service before its eviction, at most (and never past the drain bound), in ms: long enough for
   * the Service to stop routing to it and connect-per-query clients to finish.
   */
  blindDrainMs: number;
  /** How often the worker re-signs CRLs whose nextUpdate is near (PGBTLS_CRL_REFRESH_INTERVAL_MS). */
  crlRefreshIntervalMs: number;
  /**
   * How long a request's turn (its coordination Lease) outlives its holder's last renewal. The
   * holder renews it on each status write and while it waits on pods; a run that was terminated
   * stops renewing, and the next request may take the turn after this long.
   */
  leaseDurationSeconds: number;
  /**
   * The total time compensation may spend retrying transient faults before it reports what is
   * left undone (PGBTLS_COMPENSATION_TIMEOUT_MS); resume, release and the Failed status still run.
   */
  compensationTimeoutMs: number;
  /** Turn polls (5 s apart) before a waiting run continues as new (PGBTLS_TURN_POLLS_PER_RUN). */
  turnPollsPerRun: number;
  /**
   * How many poolers may restart pods at the same time, fleet-wide, across all workers
   * (PGBTLS_MAX_CONCURRENT_RESTARTS; 0, the default: no cap beyond each pooler's PDB). Hot
   * reloads restart nothing and need no slot.
   */
  maxConcurrentRestarts: number;
  /** Where the restart slots' Lease lives (PGBTLS_RESTART_SLOTS_NAMESPACE; default: the worker's own namespace). */
  restartSlotsNamespace: string;
  /** Activities one worker runs at once (PGBTLS_MAX_CONCURRENT_ACTIVITIES). */
  maxConcurrentActivities: number;
  /** Workflow tasks one worker runs at once (PGBTLS_MAX_CONCURRENT_WORKFLOW_TASKS). */
  maxConcurrentWorkflowTasks: number;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new Error(`${name}: "${env[name]}" is not a boolean; set it to true or false, or unset it`);
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`${name}: "${raw}" is not a positive whole number; set it to e.g. ${fallback} or unset it`);
  }
  return n;
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name}: "${raw}" is not a whole number; set it to e.g. ${fallback} (0: no cap) or unset it`);
  }
  return n;
}

function temporalConnection(env: NodeJS.ProcessEnv): Config['temporal'] {
  const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: vars });
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? 'localhost:7233' },
    namespace: namespace ?? 'default',
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    kubeconfig: env.KUBECONFIG ?? '',
    watchNamespaces: list(env.PGBTLS_WATCH_NAMESPACES),
    clusterResourceNamespace: env.PGBTLS_CLUSTER_RESOURCE_NAMESPACE || 'cert-manager',
    temporal: temporalConnection(env),
    metricsAddress: env.PGBTLS_METRICS_ADDRESS ?? '127.0.0.1:9464',
    healthAddress: env.PGBTLS_HEALTH_ADDRESS ?? '127.0.0.1:9465',
    serviceHealthAddress: env.PGBTLS_HEALTH_ADDRESS ?? '',
    taskQueue: env.PGBTLS_TASK_QUEUE || 'pgbouncer-tls',
    clusterDomain: env.PGBTLS_CLUSTER_DOMAIN || 'cluster.local',
    resyncIntervalMs: positiveInt(env, 'PGBTLS_RESYNC_INTERVAL_MS', 30_000),
    hotReload: flag(env, 'PGBTLS_HOT_RELOAD', true),
    servedCertificateTimeoutMs: positiveInt(env, 'PGBTLS_SERVED_CERTIFICATE_TIMEOUT_MS', 120_000),
    blindDrainMs: positiveInt(env, 'PGBTLS_BLIND_DRAIN_MS', 5_000),
    crlRefreshIntervalMs: positiveInt(env, 'PGBTLS_CRL_REFRESH_INTERVAL_MS', 3_600_000),
    leaseDurationSeconds: positiveInt(env, 'PGBTLS_LEASE_DURATION_SECONDS', 300),
    compensationTimeoutMs: positiveInt(env, 'PGBTLS_COMPENSATION_TIMEOUT_MS', 300_000),
    turnPollsPerRun: positiveInt(env, 'PGBTLS_TURN_POLLS_PER_RUN', 150),
    maxConcurrentRestarts: wholeNumber(env, 'PGBTLS_MAX_CONCURRENT_RESTARTS', 0),
    restartSlotsNamespace: env.PGBTLS_RESTART_SLOTS_NAMESPACE || env.POD_NAMESPACE || 'default',
    maxConcurrentActivities: positiveInt(env, 'PGBTLS_MAX_CONCURRENT_ACTIVITIES', 100),
    maxConcurrentWorkflowTasks: positiveInt(env, 'PGBTLS_MAX_CONCURRENT_WORKFLOW_TASKS', 40),
  };
}

/** Where the dev stack keeps its state (SQLite file, etcd data, kubeconfig) by default. */
export function defaultStateDir(repoRoot: string): string {
  return process.env.PGBTLS_STATE_DIR || join(repoRoot, '.stack');
}

export function cacheDir(): string {
  return (
    process.env.PGBTLS_CACHE_DIR ||
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pgbouncer-tls-orchestrator')
  );
}

/** This checkout's root: the nearest directory above this module with a package.json (sources or dist/). */
function checkoutRoot(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The kubeconfig of this checkout's `npm start` stack, when that stack is running (its stack.json
 * names a live process). Lets the CLI find the local cluster the way kubectl finds ~/.kube/config.
 */
export function runningDevStackKubeconfig(root = checkoutRoot()): string | undefined {
  if (!root) return undefined;
  try {
    const info = JSON.parse(readFileSync(join(defaultStateDir(root), 'stack.json'), 'utf8')) as {
      kubeconfig?: string;
      pid?: number;
    };
    if (!info.kubeconfig || !info.pid || !existsSync(info.kubeconfig)) return undefined;
    process.kill(info.pid, 0); // throws when the stack's process is gone
    return info.kubeconfig;
  } catch {
    return undefined;
  }
}

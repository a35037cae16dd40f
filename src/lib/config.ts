// The one config loader: every setting the processes read from their environment, in one place,
// with defaults that point at the local dev stack.
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Config {
  /** Path to a kubeconfig; empty means in-cluster or ~/.kube/config (client-node's default order). */
  kubeconfig: string;
  /** Namespaces to watch; empty means all. */
  watchNamespaces: string[];
  /** Where ClusterIssuers keep their CA Secrets (cert-manager's --cluster-resource-namespace). */
  clusterResourceNamespace: string;
  /** Temporal frontend address and namespace (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, as the CLI reads them). */
  temporalAddress: string;
  temporalNamespace: string;
  /** Temporal task queue the worker polls and the watcher starts workflows on. */
  taskQueue: string;
  /** The cluster's DNS domain, for the pods' fully qualified names in server certificates. */
  clusterDomain: string;
  /** Reload pods instead of restarting them when only certificate contents change. */
  hotReload: boolean;
  /** Interval of the provisioner's periodic resync, in ms. */
  resyncIntervalMs: number;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    kubeconfig: env.KUBECONFIG ?? '',
    watchNamespaces: list(env.PGBTLS_WATCH_NAMESPACES),
    clusterResourceNamespace: env.PGBTLS_CLUSTER_RESOURCE_NAMESPACE || 'cert-manager',
    temporalAddress: env.TEMPORAL_ADDRESS || 'localhost:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.PGBTLS_TASK_QUEUE || 'pgbouncer-tls',
    clusterDomain: env.PGBTLS_CLUSTER_DOMAIN || 'cluster.local',
    hotReload: env.PGBTLS_HOT_RELOAD === 'true',
    resyncIntervalMs: positiveInt(env, 'PGBTLS_RESYNC_INTERVAL_MS', 30_000),
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

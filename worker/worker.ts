// The Temporal worker: the ReconfigureTLS and certificate-renewal workflows and their activities on one task queue.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { startWatchCaches } from '../activities/kubernetes/caches.js';
import { refreshCrls } from '../activities/certificates/revocation.js';
import { TEST_FAULTS_ENV, withTestFaults } from './test-faults.js';
import type { Config } from '../lib/config.js';
import type { Kube } from '../lib/kube/kube.js';
import type { Logger } from '../lib/log.js';

/** The workflows' entry module: compiled JS in dist/, the TypeScript source when run from sources (tests). */
export const WORKFLOWS_PATH = [
  fileURLToPath(new URL('../workflows/index.js', import.meta.url)),
  fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
].find((p) => existsSync(p))!;

export async function createWorker(deps: {
  kube: Kube;
  config: Config;
  logger: Logger;
  connection?: NativeConnection;
}) {
  const { config } = deps;
  const connection = deps.connection ?? (await NativeConnection.connect(config.temporal.connectionOptions));
  // Watch caches of ops requests and pods: turn polls and pod waits read them instead of the API.
  const caches = await startWatchCaches(deps.kube, { namespaces: config.watchNamespaces, logger: deps.logger });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    // The runtime's meter reaches the Prometheus exporter without the per-activity tags. The fault
    // sweep's hook is inert unless PGBTLS_TEST_FAULTS names a rules file.
    activities: withTestFaults(
      createActivities({ ...deps, caches, meter: Runtime.instance().metricMeter }),
      process.env[TEST_FAULTS_ENV],
    ),
    // On SIGTERM in-flight activities get this long to finish before they are cancelled (and
    // then retried elsewhere); keep it below the pod's terminationGracePeriodSeconds.
    shutdownGraceTime: '20s',
    // A heartbeat's reply is how a cancellation (spec.timeout, a deleted request) reaches a running
    // activity. The SDK sends at most one every 80% of the heartbeat timeout (12 s here), so a pod
    // wait could finish long after its step's deadline and be taken as success. Once a second
    // bounds that delay.
    maxHeartbeatThrottleInterval: '1s',
    // Tuned with `npm run bench` (README, "Fleet benchmark").
    maxConcurrentActivityTaskExecutions: config.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTasks,
  });
  return { worker, connection, caches };
}

/** Re-signs CRLs near their nextUpdate now and every `intervalMs`; failures are logged, never fatal. */
export function startCrlRefresh(
  kube: Kube,
  config: Pick<Config, 'crlRefreshIntervalMs' | 'watchNamespaces' | 'clusterResourceNamespace'>,
  logger: Logger,
): NodeJS.Timeout {
  const log = logger.child({ component: 'crl-refresh' });
  // CRLs sit next to CA Secrets: in the managed namespaces (Issuers) and the cluster-resource one (ClusterIssuers).
  const namespaces = config.watchNamespaces.length ? [...config.watchNamespaces, config.clusterResourceNamespace] : [];
  const run = () =>
    refreshCrls(kube, namespaces).then(
      ({ refreshed, failed }) => {
        if (refreshed.length) log.info('re-signed CRLs', { refreshed });
        for (const f of failed) log.warn('could not re-sign a CRL', f);
      },
      (error: unknown) => log.warn('CRL refresh failed', { error }),
    );
  void run();
  const timer = setInterval(() => void run(), config.crlRefreshIntervalMs);
  timer.unref();
  return timer;
}

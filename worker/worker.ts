// The Temporal worker: the ReconfigureTLS and certificate-renewal workflows and their activities on one task queue.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
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
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    // The runtime's meter reaches the Prometheus exporter without the per-activity tags.
    activities: createActivities({ ...deps, meter: Runtime.instance().metricMeter }),
    // On SIGTERM in-flight activities get this long to finish before they are cancelled (and
    // then retried elsewhere); keep it below the pod's terminationGracePeriodSeconds.
    shutdownGraceTime: '20s',
  });
  return { worker, connection };
}

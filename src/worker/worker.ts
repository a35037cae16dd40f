// The Temporal worker: the ReconfigureTLS workflow and its activities on one task queue.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import type { Config } from '../lib/config.js';
import type { Kube } from '../lib/kube.js';
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
  const connection = deps.connection ?? (await NativeConnection.connect({ address: config.temporalAddress }));
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(deps),
    // In-flight activities get this long to finish on SIGTERM before they are cancelled.
    shutdownGraceTime: '10s',
  });
  return { worker, connection };
}

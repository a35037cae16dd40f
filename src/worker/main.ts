// Entry point of the worker process.
import { loadConfig } from '../lib/config.js';
import { createKube } from '../lib/kube.js';
import { createLogger } from '../lib/log.js';
import { createWorker } from './worker.js';

const logger = createLogger({ component: 'worker' });
const config = loadConfig();
const { worker, connection } = await createWorker({ kube: createKube(config.kubeconfig), config, logger });
logger.info('worker running', {
  taskQueue: config.taskQueue,
  namespace: config.temporalNamespace,
  address: config.temporalAddress,
});
// The SDK's Runtime shuts the worker down on SIGINT/SIGTERM; run() resolves once drained.
await worker.run();
await connection.close();
logger.info('worker stopped');

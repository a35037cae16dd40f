// Entry point of the trigger watcher process: watches PgBouncerOpsRequests (all namespaces, or
// PGBTLS_WATCH_NAMESPACES) and starts their workflows on PGBTLS_TASK_QUEUE, and keeps one
// certificate renewal per PgBouncer with TLS (the renewal controller).
import { loadConfig } from '../lib/config.js';
import { serveHealth } from '../lib/health.js';
import { createKube } from '../lib/kube/kube.js';
import { stopOnSignals } from '../lib/lifecycle.js';
import { createLogger } from '../lib/log.js';
import { createTemporalClient } from './temporal.js';
import { startRenewalController } from './renewal-controller.js';
import { startWatcher } from './watcher.js';

const logger = createLogger({ component: 'watcher' });
const config = loadConfig();
const client = createTemporalClient(config);
const kube = createKube(config.kubeconfig, { userAgent: 'pgbtls-watcher' });
const watcher = await startWatcher({ kube, config, logger, client });
const renewals = await startRenewalController({ kube, config, logger, client });
let state = 'RUNNING';
const health = config.serviceHealthAddress ? await serveHealth(config.serviceHealthAddress, () => state) : undefined;
logger.info('watcher running', {
  taskQueue: config.taskQueue,
  namespace: config.temporal.namespace,
  address: config.temporal.connectionOptions.address,
  health: config.serviceHealthAddress ? `http://${config.serviceHealthAddress}/healthz` : 'off',
});
stopOnSignals(async () => {
  state = 'STOPPING';
  health?.close();
  await Promise.all([watcher.stop(), renewals.stop()]);
  await client.connection.close();
}, logger);

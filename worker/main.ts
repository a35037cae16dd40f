// Entry point of the worker process: Prometheus metrics (the SDK's and ours) and a health
// endpoint next to the worker; SIGTERM/SIGINT drain it (the SDK's Runtime handles the signals).
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../lib/config.js';
import { serveHealth } from '../lib/health.js';
import { createKube } from '../lib/kube/kube.js';
import { createLogger } from '../lib/log.js';
import { createWorker, startCrlRefresh } from './worker.js';

const logger = createLogger({ component: 'worker' });
const config = loadConfig();
Runtime.install({
  logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as 'WARN') ?? 'WARN'),
  telemetryOptions: config.metricsAddress
    ? { metrics: { prometheus: { bindAddress: config.metricsAddress } } }
    : undefined,
});
const kube = createKube(config.kubeconfig, { userAgent: 'pgbtls-worker' });
const { worker, connection, caches } = await createWorker({ kube, config, logger });
const health = config.healthAddress ? await serveHealth(config.healthAddress, () => worker.getState()) : undefined;
logger.info('worker running', {
  taskQueue: config.taskQueue,
  namespace: config.temporal.namespace,
  address: config.temporal.connectionOptions.address,
  metrics: config.metricsAddress ? `http://${config.metricsAddress}/metrics` : 'off',
  health: config.healthAddress ? `http://${config.healthAddress}/healthz` : 'off',
});
// CRLs are valid for 7 days; the worker (which may read CA keys) re-signs them well before.
const crlRefresh = startCrlRefresh(kube, config, logger);
await worker.run();
clearInterval(crlRefresh);
await caches.stop();
health?.close();
await connection.close();
logger.info('worker stopped');

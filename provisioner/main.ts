// Entry point of the provisioner process: reconciles PgBouncers until SIGTERM/SIGINT.
import { loadConfig } from '../lib/config.js';
import { serveHealth } from '../lib/health.js';
import { createKube } from '../lib/kube/kube.js';
import { createLogger } from '../lib/log.js';
import { stopOnSignals } from '../lib/lifecycle.js';
import { startProvisioner } from './provisioner.js';

const logger = createLogger({ component: 'provisioner' });
const config = loadConfig();
const provisioner = await startProvisioner({
  kube: createKube(config.kubeconfig, { userAgent: 'pgbtls-provisioner' }),
  logger,
  config,
});
let state = 'RUNNING';
const health = config.serviceHealthAddress ? await serveHealth(config.serviceHealthAddress, () => state) : undefined;
logger.info('provisioner running', {
  namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
  health: config.serviceHealthAddress ? `http://${config.serviceHealthAddress}/healthz` : 'off',
});
stopOnSignals(async () => {
  state = 'STOPPING';
  health?.close();
  await provisioner.stop();
}, logger);

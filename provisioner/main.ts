// Entry point of the provisioner process: reconciles PgBouncers until SIGTERM/SIGINT.
import { loadConfig } from '../lib/config.js';
import { createKube } from '../lib/kube/kube.js';
import { createLogger } from '../lib/log.js';
import { stopOnSignals } from '../lib/lifecycle.js';
import { startProvisioner } from './provisioner.js';

const logger = createLogger({ component: 'provisioner' });
const config = loadConfig();
const provisioner = await startProvisioner({ kube: createKube(config.kubeconfig), logger, config });
logger.info('provisioner running', { namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all' });
stopOnSignals(() => provisioner.stop(), logger);

// Entry point of the kubelet stand-in process that the dev stack starts next to the control plane.
import { loadConfig } from '../../../src/lib/config.js';
import { createKube } from '../../../src/lib/kube.js';
import { stopOnSignals } from '../../../src/lib/lifecycle.js';
import { createLogger } from '../../../src/lib/log.js';
import { KubeletStandIn } from './kubelet-stand-in.js';
import { SimulatedRuntime } from './runtime.js';

const logger = createLogger({ component: 'kubelet-stand-in' });
const config = loadConfig();
const readyDelayMs = Number(process.env.PGBTLS_KUBELET_READY_DELAY_MS ?? 500);
const kubelet = new KubeletStandIn({
  kube: createKube(config.kubeconfig),
  runtime: new SimulatedRuntime(readyDelayMs),
  logger,
});

await kubelet.start();
logger.info('kubelet stand-in running', { node: kubelet.nodeName, readyDelayMs });
stopOnSignals(() => kubelet.stop(), logger);

// Entry point of the kubelet stand-in process that the dev stack starts next to the control plane.
import { loadConfig } from '../../../lib/config.js';
import { createKube } from '../../../lib/kube/kube.js';
import { stopOnSignals } from '../../../lib/lifecycle.js';
import { createLogger } from '../../../lib/log.js';
import { loadTools } from '../../../stack/tools.js';
import { KubeletStandIn } from './kubelet-stand-in.js';
import { PgBouncerRuntime } from './runtime.js';
import { ServiceProxy } from './service-proxy.js';

const logger = createLogger({ component: 'kubelet-stand-in' });
const config = loadConfig();
const kube = createKube(config.kubeconfig, { userAgent: 'pgbtls-kubelet-stand-in' });
// Container start-up time on top of pgbouncer's, and the kubelet's delay in projecting a changed Secret.
const readyDelayMs = Number(process.env.PGBTLS_KUBELET_READY_DELAY_MS ?? 500);
const projectionDelayMs = Number(process.env.PGBTLS_KUBELET_PROJECTION_DELAY_MS ?? 1_500);
const podsDir = process.env.PGBTLS_KUBELET_PODS_DIR;
if (!podsDir) throw new Error('PGBTLS_KUBELET_PODS_DIR is not set: the stack sets it to <state dir>/pods');
const podNetwork = process.env.PGBTLS_KUBELET_POD_NETWORK;
if (!podNetwork || !/^127\.\d{1,3}$/.test(podNetwork))
  throw new Error(
    'PGBTLS_KUBELET_POD_NETWORK must be the first two octets of a loopback /16 (e.g. 127.42): the stack sets it',
  );
const runtime = new PgBouncerRuntime({
  kube,
  logger,
  pgbouncer: loadTools().pgbouncer,
  rootDir: podsDir,
  readyDelayMs,
  projectionDelayMs,
  podNetwork,
});
await runtime.watchSecrets();
const kubelet = new KubeletStandIn({ kube, runtime, logger });
await kubelet.start();
// kube-proxy's part: the local stack's Services route to their Ready pods.
const proxy = new ServiceProxy({ kube, logger, podNetwork });
await proxy.start();
logger.info('kubelet stand-in running', {
  node: kubelet.nodeName,
  readyDelayMs,
  projectionDelayMs,
  podsDir,
  podNetwork,
});
stopOnSignals(async () => {
  await proxy.stop();
  await kubelet.stop();
}, logger);

// `npm start`: brings up the local stack, prints where everything is, and stops it all on Ctrl-C.
// Tests run the same entry with --fresh --ephemeral-ports (see test/support/global-setup.ts).
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { defaultStateDir } from '../lib/config.js';
import { stopOnSignals } from '../lib/lifecycle.js';
import { createLogger } from '../lib/log.js';
import { startStack } from './stack.js';
import { repoRoot } from './tools.js';

const { values } = parseArgs({
  options: {
    'state-dir': { type: 'string' },
    fresh: { type: 'boolean', default: false },
    'ephemeral-ports': { type: 'boolean', default: false },
    'no-worker': { type: 'boolean', default: false },
  },
});

const logger = createLogger({ component: 'stack' });
const stateDir = resolve(values['state-dir'] ?? defaultStateDir(repoRoot()));
const t0 = performance.now();
const stack = await startStack({
  stateDir,
  fresh: values.fresh,
  ephemeralTemporalPorts: values['ephemeral-ports'],
  withWorker: !values['no-worker'],
  logger,
}).catch((err) => {
  process.stderr.write(`stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
const { info } = stack;
const seconds = ((performance.now() - t0) / 1000).toFixed(1);
process.stdout.write(
  [
    `Stack ready in ${seconds}s (${Object.entries(stack.timings)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`)
      .join(', ')})`,
    `  Temporal UI:  ${info.temporal.uiUrl}`,
    `  Temporal:     ${info.temporal.address} (namespace ${info.temporal.namespace})`,
    `  Kubernetes:   ${info.apiServer}`,
    `  PostgreSQL:   ${info.postgres.host}:${info.postgres.port} (user ${info.postgres.user}; password in ${stateDir}/stack.json)`,
    `  kubeconfig:   ${info.kubeconfig}`,
    `  kubectl:      ${stateDir}/kubectl get pgbouncers,pgbounceropsrequests -A`,
    `  logs:         ${stateDir}/logs/`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
);

stopOnSignals(() => stack.stop(), logger);
setInterval(() => {}, 1 << 30); // keep running until a signal

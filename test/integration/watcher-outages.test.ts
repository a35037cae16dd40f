// The trigger watcher through outages (issue #4): kube-apiserver, then the Temporal server, stops
// and comes back while the watcher runs; requests still run to Successful, each once, and each
// outage is logged once, not once per retry. Restarting a server of the shared stack would disturb
// its provisioner, kubelet stand-in and controller manager for the files that follow, so this
// file starts a short-lived stack of its own. The support helpers find the stack through
// PGBTLS_STACK_FILE, which this file points at its own (jest gives each file its own process.env).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import { startWatcher, type Watcher } from '../../client/watcher.js';
import { createLogger } from '../../lib/log.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { repoRoot } from '../../stack/tools.js';
import { workflowIdFor } from '../../workflows/ids.js';
import { eventually, stackConfig, stackInfo, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { captureLogs } from '../support/log-capture.js';
import { closeTestClient, startWorkerProcess, testClient, type WorkerProcess } from '../support/temporal.js';
import { createCaIssuer, createOpsRequest, readOpsRequest } from '../support/tls-fixtures.js';

// Under test-output/stack*, so the test command's leftover check covers its processes too.
const stateDir = join(repoRoot(), 'test-output', 'stack-outages');
const namespace = 'outages';
const taskQueue = `outages-${randomBytes(3).toString('hex')}`;
const logs = captureLogs({ test: 'watcher-outages' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stack: RunningStack | undefined;
let worker: WorkerProcess | undefined;
let watcherClient: Client | undefined;
let watcher: Watcher | undefined;
const watchFailed = /^watch of PgBouncerOpsRequests in outages failed; retrying with backoff$/;
const watchRestored = /^watch of PgBouncerOpsRequests in outages restored$/;

beforeAll(async () => {
  stack = await startStack({
    stateDir,
    fresh: true,
    ephemeralTemporalPorts: true,
    withWorker: false,
    logger: createLogger({ stack: 'outages' }, 'warn'),
  });
  process.env.PGBTLS_STACK_FILE = join(stateDir, 'stack.json');
  const info = stackInfo();
  await testKube().core.createNamespace({ body: { metadata: { name: namespace } } });
  await createAppBinding(namespace);
  await createCaIssuer(namespace, 'ca-one');
  // One replica: no PodDisruptionBudget. After an API server restart the controller manager's
  // disruption controller can hold a stale budget (evictions refused) for minutes, which would
  // only slow this file down; the watcher is what it tests.
  await createPgBouncer(namespace, 'pb', { replicas: 1 });
  worker = await startWorkerProcess(taskQueue);
  // The SDK retries an unavailable call for about 20 s before its caller sees the error; with two
  // attempts per call, the watcher's own backoff and outage logging, which this file tests, take over.
  const connection = await Connection.connect({
    address: info.temporal.address,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 2 }))],
  });
  watcherClient = new Client({ connection, namespace: info.temporal.namespace });
  const config = stackConfig({ taskQueue, watchNamespaces: [namespace] });
  await waitReady();
  watcher = await startWatcher({
    kube: testKube(),
    config,
    logger: logs.logger,
    client: watcherClient,
    maxBackoffMs: 2_000,
  });
  // A fresh API server can refuse the first list of a new resource ("storage is (re)initializing");
  // the outages under test must not merge with that one.
  await eventually(async () => logs.count(watchFailed) === logs.count(watchRestored), {
    what: 'the watch to be established',
  });
}, 240_000);

afterAll(async () => {
  await watcher?.stop();
  await worker?.stop();
  await watcherClient?.connection.close();
  await closeTestClient();
  await stack?.stop();
});

async function waitReady() {
  await eventually(async () => (await readPgBouncer(namespace, 'pb')).status?.phase === 'Ready', {
    what: 'pb Ready',
    timeoutMs: 90_000,
  });
}

async function waitPhase(ref: OpsRequestRef, phases: string[]): Promise<PgBouncerOpsRequest> {
  return eventually(
    async () => {
      const r = await readOpsRequest(ref);
      return phases.includes(r.status?.phase ?? '') ? r : undefined;
    },
    { what: `${ref.name} to reach ${phases.join('/')}`, timeoutMs: 150_000, intervalMs: 200 },
  );
}

/** Runs of the request's workflow id, once visibility (eventually consistent) shows `expected` or 15 s pass. */
async function executionCount(ref: OpsRequestRef, expected: number): Promise<number> {
  const client = await testClient();
  let count = -1;
  await eventually(
    async () => {
      const runs: string[] = [];
      for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowIdFor(ref)}"` })) {
        runs.push(run.runId);
      }
      count = runs.length;
      return count === expected;
    },
    { what: `${expected} execution(s) of ${ref.name}`, timeoutMs: 15_000 },
  ).catch(() => undefined);
  return count;
}

test('the watch recovers from an API server restart', async () => {
  logs.clear();
  await stack!.restartApiServer(async () => {
    await eventually(async () => logs.count(watchFailed) > 0, { what: 'the watcher to see the outage' });
    // Down long enough for several retries (backoff 0.5, 1, 2, 2 s): one log line, not one each.
    await sleep(5_000);
  });
  const ref = await createOpsRequest(namespace, 'add-tls', {
    databaseRef: { name: 'pb' },
    tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca-one' } },
  });
  const done = await waitPhase(ref, ['Successful', 'Failed']);
  expect(done.status?.phase).toBe('Successful');
  expect(await executionCount(ref, 1)).toBe(1);
  expect(logs.count(watchFailed)).toBe(1);
  expect(logs.count(watchRestored)).toBe(1);
  const restored = logs.records().find((r) => watchRestored.test(String(r.msg)));
  process.stdout.write(`[watcher-outages] API server outage: watch restored after ${restored?.outageMs} ms\n`);
  await waitReady();
});

test('the watcher survives a Temporal server restart: a request created during the outage starts once, after it', async () => {
  logs.clear();
  let ref: OpsRequestRef | undefined;
  await stack!.restartTemporal(async () => {
    ref = await createOpsRequest(namespace, 'rotate', {
      databaseRef: { name: 'pb' },
      tls: { rotateCertificates: true },
    });
    await eventually(async () => logs.count('Temporal unreachable; retrying with backoff') > 0, {
      what: 'the watcher to find Temporal unreachable',
    });
    await sleep(5_000); // several more start attempts, still one log line
  });
  const done = await waitPhase(ref!, ['Successful', 'Failed']);
  expect(done.status?.phase).toBe('Successful');
  expect(await executionCount(ref!, 1)).toBe(1);
  expect(logs.count('Temporal unreachable; retrying with backoff')).toBe(1);
  expect(logs.count('Temporal reachable again')).toBe(1);
  const back = logs.records().find((r) => r.msg === 'Temporal reachable again');
  process.stdout.write(
    `[watcher-outages] Temporal outage: watcher reached Temporal again after ${back?.outageMs} ms\n`,
  );
  await waitReady();
});

// The worker's production face: metrics and health endpoints, and a graceful SIGTERM that lets
// the activity in flight finish, so nothing is lost and no pod is restarted twice.
import { randomBytes } from 'node:crypto';
import { createTestNamespace, eventually, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { PodRecorder } from '../support/pod-recorder.js';
import { closeTestClient, startReconfigureTLS, startWorkerProcess, type WorkerProcess } from '../support/temporal.js';
import { createCaIssuer, createOpsRequest, readOpsRequest } from '../support/tls-fixtures.js';

const taskQueue = `worker-${randomBytes(3).toString('hex')}`;
let namespace: string;
let worker: WorkerProcess;

beforeAll(async () => {
  namespace = await createTestNamespace('worker');
  await createAppBinding(namespace);
  await createCaIssuer(namespace, 'ca');
  worker = await startWorkerProcess(taskQueue);
});

afterAll(async () => {
  await worker?.stop();
  await closeTestClient();
});

const tls = { issuerRef: { apiGroup: 'cert-manager.io' as const, kind: 'Issuer' as const, name: 'ca' } };
const ready = (pb: string) =>
  eventually(async () => (await readPgBouncer(namespace, pb)).status?.phase === 'Ready', { what: `${pb} Ready` });

async function start(name: string, pb: string, spec: object) {
  const ref = await createOpsRequest(namespace, name, { databaseRef: { name: pb }, ...spec });
  return { ref, handle: await startReconfigureTLS(taskQueue, ref) };
}

test('health answers 200 while running; metrics carry the SDK’s and ours', async () => {
  const health = await fetch(worker.healthUrl);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ state: 'RUNNING' });

  await createPgBouncer(namespace, 'metered', { replicas: 1 });
  await ready('metered');
  const { handle } = await start('metered-add', 'metered', { tls });
  expect((await handle.result()).phase).toBe('Successful');
  const metrics = await eventually(
    async () => {
      const text = await (await fetch(worker.metricsUrl)).text();
      // The SDK counts a completed workflow when the server has acknowledged the completion, which
      // can be just after the client saw the result: wait for both counters.
      return text.includes('pgbtls_requests') && text.includes('temporal_workflow_completed') && text;
    },
    { what: "our counter and the SDK's on /metrics" },
  );
  expect(metrics).toMatch(/pgbtls_requests\{[^}]*outcome="Successful"[^}]*\} 1/);
  expect(metrics).toMatch(/pgbtls_activity_duration_bucket\{[^}]*activity="evictPodAndWaitReady"/);
  expect(metrics).toMatch(/temporal_workflow_completed\{/);
});

test('SIGTERM during a pod restart: the activity finishes, a new worker completes the request', async () => {
  await createPgBouncer(namespace, 'drained', { replicas: 2 });
  await ready('drained');
  await testKube().core.createNamespacedConfigMap({
    namespace,
    body: {
      metadata: { name: 'pgbtls-kubelet-faults' },
      data: { 'pods.json': JSON.stringify({ 'drained-1': { readyDelayMs: 8_000 } }) },
    },
  });
  const recorder = new PodRecorder(namespace, 'drained');
  await recorder.start();
  const { ref, handle } = await start('drained-add', 'drained', { tls });
  // The EvictPod condition is written just before the eviction activity is scheduled, so it alone
  // can be seen while no activity is in flight. A new incarnation of drained-1 means the eviction
  // ran and the activity is now waiting out the 8 s readiness delay.
  await eventually(
    async () =>
      (await readOpsRequest(ref)).status?.conditions?.some((c) => c.type === 'EvictPod--drained-1') &&
      recorder.restarts()['drained-1'] === 1,
    { what: 'the restart of drained-1 to be in flight (old pod evicted, new one not Ready)' },
  );
  const t0 = Date.now();
  await worker.stop(); // SIGTERM: drains within shutdownGraceTime
  const drainedMs = Date.now() - t0;
  // The in-flight restart was allowed to finish before the worker exited.
  expect(drainedMs).toBeGreaterThan(2_000);
  expect((await readOpsRequest(ref)).status?.phase).toBe('Progressing');
  worker = await startWorkerProcess(taskQueue);
  const result = await handle.result();
  await recorder.stop();
  expect(result.phase).toBe('Successful');
  expect(recorder.restarts()).toEqual({ 'drained-0': 1, 'drained-1': 1 });
});

// The trigger watcher's memory is bounded by the requests that are alive: 2,000 requests are
// created (a fifth ReconfigureTLS, the rest other KubeDB types it marks Failed), some end, all are deleted,
// and the watcher's maps go back to their starting size. No worker polls the task queue, so the
// started runs only wait; the test terminates them at the end.
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { OPS_GROUP, type PgBouncerOpsRequest } from '../../lib/api/types.js';
import { startWatcher, type Watcher } from '../../client/watcher.js';
import type { Config } from '../../lib/config.js';
import { mergePatch } from '../../lib/kube/kube.js';
import { createTestNamespace, eventually, stackConfig, testKube } from '../support/cluster.js';
import { captureLogs } from '../support/log-capture.js';
import { closeTestClient, testClient } from '../support/temporal.js';

const kube = testKube();
const taskQueue = `watch-mem-${randomBytes(3).toString('hex')}`;
const logs = captureLogs({ test: 'watcher-memory' });
const api = { group: OPS_GROUP, version: 'v1alpha1', plural: 'pgbounceropsrequests' };
const TOTAL = 2_000;
const TLS_EVERY = 5; // every fifth request is a ReconfigureTLS one (each starts a run)
const ENDED = 100;
let namespace: string;
let client: Client;
let config: Config;
let watcher: Watcher | undefined;

beforeAll(async () => {
  namespace = await createTestNamespace('watch-mem');
  config = stackConfig({ taskQueue, watchNamespaces: [namespace] });
  client = await testClient();
});

afterAll(async () => {
  await watcher?.stop();
  // The runs the watcher started wait on a task queue no worker polls: end them.
  const open: string[] = [];
  for await (const run of client.workflow.list({
    query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`,
  })) {
    open.push(run.workflowId);
  }
  await inBatches(open, 20, (id) =>
    client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined),
  );
  await closeTestClient();
});

async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

test(`${TOTAL} requests created and deleted leave the watcher's maps at their starting size`, async () => {
  const t0 = Date.now();
  watcher = await startWatcher({ kube, config, logger: logs.logger, client, maxBackoffMs: 2_000 });
  const start = watcher.sizes();
  expect(start).toEqual({ tracked: 0, ignoredTypes: 0 });

  const names = Array.from({ length: TOTAL }, (_, i) => `r-${String(i).padStart(4, '0')}`);
  const isTls = (i: number) => i % TLS_EVERY === 0;
  const tlsCount = TOTAL / TLS_EVERY;
  await inBatches(
    names.map((name, i) => ({ name, i })),
    25,
    ({ name, i }) =>
      kube.custom.createNamespacedCustomObject({
        ...api,
        namespace,
        body: {
          apiVersion: 'ops.kubedb.com/v1alpha1',
          kind: 'PgBouncerOpsRequest',
          metadata: { name },
          spec: isTls(i)
            ? { type: 'ReconfigureTLS', databaseRef: { name: 'pb' }, tls: { rotateCertificates: true } }
            : { type: 'Restart', databaseRef: { name: 'pb' } },
        },
      }),
  );
  // Every ReconfigureTLS request is tracked; every other type is marked Failed (UnsupportedType) by
  // the watcher, and its entry leaves ignoredTypes once that terminal phase is seen.
  const peak = { tracked: 0, ignoredTypes: 0 };
  await eventually(
    async () => {
      const s = watcher!.sizes();
      peak.tracked = Math.max(peak.tracked, s.tracked);
      peak.ignoredTypes = Math.max(peak.ignoredTypes, s.ignoredTypes);
      if (s.tracked !== tlsCount || s.ignoredTypes !== 0) return undefined;
      const { items } = (await kube.custom.listNamespacedCustomObject({ ...api, namespace })) as {
        items: PgBouncerOpsRequest[];
      };
      const others = items.filter((r) => r.spec.type !== 'ReconfigureTLS');
      return others.length === TOTAL - tlsCount && others.every((r) => r.status?.phase === 'Failed') ? s : undefined;
    },
    { what: 'every request seen, the other types marked Failed', timeoutMs: 180_000, intervalMs: 500 },
  );
  expect(peak.tracked).toBe(tlsCount);
  expect(peak.ignoredTypes).toBeGreaterThan(0);
  const createdMs = Date.now() - t0;

  // Some end (as a workflow ends them: a terminal phase in status): their entries leave.
  const ended = names.filter((_, i) => isTls(i)).slice(0, ENDED);
  await inBatches(ended, 25, (name) =>
    kube.custom.patchNamespacedCustomObjectStatus(
      { ...api, namespace, name, body: { status: { phase: 'Failed' } } },
      mergePatch,
    ),
  );
  await eventually(async () => watcher!.sizes().tracked === tlsCount - ENDED, {
    what: `${ENDED} ended requests to leave the map`,
    timeoutMs: 60_000,
    intervalMs: 200,
  });

  // Then every request is deleted: the rest leave too (the unfinished runs are cancelled).
  await kube.custom.deleteCollectionNamespacedCustomObject({ ...api, namespace });
  const end = await eventually(
    async () => {
      const s = watcher!.sizes();
      return s.tracked === start.tracked && s.ignoredTypes === start.ignoredTypes ? s : undefined;
    },
    { what: "the watcher's maps back at their starting size", timeoutMs: 120_000, intervalMs: 200 },
  );
  expect(end).toEqual(start);
  process.stdout.write(
    `[watcher-memory] peak ${JSON.stringify(peak)}, created and seen in ${createdMs} ms, total ${Date.now() - t0} ms\n`,
  );
}, 300_000);

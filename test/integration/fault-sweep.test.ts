// The fault sweep (issue #11): for each activity of the forward path, a fault injected while it
// runs — a non-retryable failure, a worker SIGKILL, deletion of the request, deletion of the
// PgBouncer — and then proof that the run ended within a bound, the pooler is not Paused, its
// Lease is gone, its Secrets and pgbouncer.ini are the before-set or the after-set (never a mix),
// each pod serves by handshake the certificate of that set, and no staging or snapshot Secret is
// left. Then the compensation-fault sweep: each compensation step fails non-retryably or
// transiently forever, and the run still ends in bounded time with CompensationIncomplete, the
// pooler resumed and the Lease released. Faults come from the worker's test-only hook
// (PGBTLS_TEST_FAULTS); the watcher runs in-process, so deleting a request cancels its run as in
// production. 1-replica poolers; scenarios on different poolers run concurrently.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startWatcher, type Watcher } from '../../client/watcher.js';
import { describeCertificate } from '../../lib/certificates/index.js';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import { FORCE_RESTART_ANNOTATION } from '../../lib/planner/pods.js';
import { probeServedTls } from '../../lib/pgbouncer/tls-probe.js';
import { repoRoot } from '../../stack/tools.js';
import type { FaultRule } from '../../worker/test-faults.js';
import { workflowIdFor } from '../../workflows/ids.js';
import { createTestNamespace, eventually, stackConfig, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { captureLogs } from '../support/log-capture.js';
import {
  closeTestClient,
  startReconfigureTLS,
  startWorkerProcess,
  testClient,
  type WorkerProcess,
} from '../support/temporal.js';
import { createCaIssuer, createOpsRequest, readOpsRequest } from '../support/tls-fixtures.js';

const kube = testKube();
const taskQueue = `sweep-${randomBytes(3).toString('hex')}`;
const logs = captureLogs({ test: 'fault-sweep' });
const faultFile = join(repoRoot(), 'test-output', `faults-${taskQueue}.json`);
/** The bound every run must end within, from the moment the fault is injected. */
const RUN_BOUND_MS = 90_000;
const COMPENSATION_BUDGET_MS = 6_000;
/**
 * From the request's creation: the forward run, a budget of retries, and resume, release and the
 * status with 10 s each at least (tried twice), on a loaded machine.
 */
const UNDO_BOUND_MS = 150_000;
const WORKER_ENV = {
  PGBTLS_TEST_FAULTS: faultFile,
  PGBTLS_COMPENSATION_TIMEOUT_MS: String(COMPENSATION_BUDGET_MS),
  PGBTLS_SERVED_CERTIFICATE_TIMEOUT_MS: '10000',
  // A waiting run continues as new after 2 polls, so the queue test sees it happen.
  PGBTLS_TURN_POLLS_PER_RUN: '2',
};
const RESTART = { [FORCE_RESTART_ANNOTATION]: 'true' };
/** Poolers the scenarios share; scenarios on different poolers run concurrently. */
const LANES = ['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7', 'l8'];

let namespace: string;
let worker: WorkerProcess;
let watcher: Watcher;
let client: Client;
const wallTimes: Record<string, number> = {};
const outcomes: Record<string, string> = {};

beforeAll(async () => {
  mkdirSync(join(repoRoot(), 'test-output'), { recursive: true });
  writeFileSync(faultFile, '[]');
  namespace = await createTestNamespace('sweep');
  await createAppBinding(namespace);
  await createCaIssuer(namespace, 'ca');
  await createCaIssuer(namespace, 'ca-new');
  worker = await startWorkerProcess(taskQueue, WORKER_ENV);
  client = await testClient();
  const config = stackConfig({ taskQueue, watchNamespaces: [namespace] });
  watcher = await startWatcher({
    kube,
    config,
    logger: logs.logger,
    client,
    maxBackoffMs: 2_000,
    sweepIntervalMs: 1_000,
  });
  await Promise.all(LANES.map(poolerWithTls));
}, 240_000);

afterAll(async () => {
  await watcher?.stop();
  await worker?.stop();
  await closeTestClient();
  rmSync(faultFile, { force: true });
  process.stdout.write(
    `[fault-sweep] ${Object.keys(wallTimes).length} scenarios; wall time per scenario (ms): ${JSON.stringify(wallTimes)}; outcomes: ${JSON.stringify(outcomes)}\n`,
  );
});

// --- the fault hook's rules file ---
/** Rewrites the rules atomically (write, then rename): the worker never reads half a file. */
function setRules(change: (rules: FaultRule[]) => FaultRule[]): void {
  const next = JSON.stringify(change(JSON.parse(readFileSync(faultFile, 'utf8')) as FaultRule[]));
  writeFileSync(`${faultFile}.tmp`, next);
  renameSync(`${faultFile}.tmp`, faultFile);
}
const addRule = (rule: FaultRule) => setRules((rules) => [...rules, rule]);
const dropRules = (request: string) => setRules((rules) => rules.filter((r) => r.request !== request));
const heldFile = (request: string) => `${faultFile}.${request}.held`;
async function waitHeld(request: string): Promise<void> {
  await eventually(async () => existsSync(heldFile(request)), {
    what: `${request} held at its step`,
    timeoutMs: 90_000,
  });
}

// --- poolers ---
/** The PgBouncer Ready and every one of its pods Ready (its phase alone may lag a pod restart). */
async function waitReady(pb: string, timeoutMs = 90_000) {
  await eventually(
    async () => {
      const live = await readPgBouncer(namespace, pb);
      if (live.status?.phase !== 'Ready') return undefined;
      const { items } = await kube.core.listNamespacedPod({
        namespace,
        labelSelector: `app.kubernetes.io/instance=${pb}`,
      });
      const ready = items.filter(
        (p) =>
          !p.metadata?.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length === (live.spec.replicas ?? 1) && ready.length === items.length ? true : undefined;
    },
    { what: `${pb} and its pods Ready`, timeoutMs },
  );
}

let requests = 0;
/** Creates a request (the watcher starts its run) and returns it with its run's handle. */
async function request(
  pb: string,
  spec: Partial<PgBouncerOpsRequest['spec']>,
  name = `${pb}-r${++requests}`,
  annotations: Record<string, string> = RESTART,
) {
  const ref = await createOpsRequest(namespace, name, { databaseRef: { name: pb }, ...spec }, annotations);
  const handle = client.workflow.getHandle(workflowIdFor(ref));
  await eventually(
    async () =>
      (await handle.describe().then(
        () => true,
        () => false,
      )) || undefined,
    {
      what: `the watcher to start ${name}`,
    },
  );
  return { ref, handle };
}

async function ended(handle: WorkflowHandle): Promise<'completed' | 'failed'> {
  return handle.result().then(
    () => 'completed',
    () => 'failed',
  );
}

/** A 1-replica PgBouncer with TLS from `ca`, ready. */
async function poolerWithTls(pb: string): Promise<void> {
  await createPgBouncer(namespace, pb, { replicas: 1 });
  await waitReady(pb);
  const { handle } = await request(pb, {
    tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca' } },
  });
  expect(await ended(handle)).toBe('completed');
  await waitReady(pb);
}

// --- what the sweep asserts ---
const TLS_SECRETS = (pb: string) => [`${pb}-server-cert`, `${pb}-client-cert`, `${pb}-config`];

interface TlsSet {
  secrets: Record<string, Record<string, string> | null>;
  spec: string;
}
async function tlsSet(pb: string): Promise<TlsSet> {
  const secrets: TlsSet['secrets'] = {};
  for (const name of TLS_SECRETS(pb)) {
    secrets[name] = (await kube.core.readNamespacedSecret({ name, namespace }).catch(() => undefined))?.data ?? null;
  }
  const live = await readPgBouncer(namespace, pb);
  return { secrets, spec: JSON.stringify({ tls: live.spec.tls ?? null, sslMode: live.spec.sslMode ?? null }) };
}
const text = (data: Record<string, string> | null, key: string) =>
  data?.[key] ? Buffer.from(data[key], 'base64').toString() : '';

/**
 * The set is the before-set byte for byte, or a whole after-set: both certificates replaced by ones
 * the CA signed, pgbouncer.ini unchanged (a rotation does not change it), never one of each.
 */
function expectBeforeOrAfter(pb: string, before: TlsSet, after: TlsSet): 'before' | 'after' {
  if (JSON.stringify(after) === JSON.stringify(before)) return 'before';
  const [server, client, config] = TLS_SECRETS(pb);
  const replaced = [server, client].map(
    (s) => text(after.secrets[s], 'tls.crt') !== text(before.secrets[s], 'tls.crt'),
  );
  expect(replaced).toEqual([true, true]);
  expect(after.secrets[config]).toEqual(before.secrets[config]);
  for (const s of [server, client])
    expect(text(after.secrets[s], 'tls.key')).not.toBe(text(before.secrets[s], 'tls.key'));
  return 'after';
}

/** Each pod answers a PostgreSQL client's handshake with the server Secret's certificate, chain verified. */
async function expectPodsServe(pb: string): Promise<void> {
  const server = (await kube.core.readNamespacedSecret({ name: `${pb}-server-cert`, namespace })).data!;
  const want = describeCertificate(text(server, 'tls.crt')).fingerprintSha256;
  const { items } = await kube.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${pb}` });
  expect(items.length).toBeGreaterThan(0);
  for (const pod of items) {
    await eventually(
      async () => {
        const served = await probeServedTls({
          address: pod.status!.podIP!,
          port: 5432,
          hostname: `${pod.metadata!.name}.${pb}-pods.${namespace}.svc`,
          caBundle: text(server, 'ca.crt'),
        }).catch(() => undefined);
        return served?.offered && served.leaf.fingerprintSha256 === want && !served.chainError ? true : undefined;
      },
      { what: `${pod.metadata!.name} to serve ${want.slice(0, 11)}…`, timeoutMs: 20_000 },
    );
  }
}

async function expectLeaseGone(pb: string) {
  await expect(kube.coordination.readNamespacedLease({ name: `pgbouncer-ops-${pb}`, namespace })).rejects.toMatchObject(
    {
      code: 404,
    },
  );
}

async function expectNoRunSecrets(ref: OpsRequestRef) {
  const { items } = await kube.core.listNamespacedSecret({
    namespace,
    labelSelector: `pgbtls.dev/ops-request-uid=${ref.uid}`,
  });
  expect(items.map((s) => s.metadata!.name)).toEqual([]);
}

async function expectNotPaused(pb: string) {
  const live = await readPgBouncer(namespace, pb);
  expect((live.status?.conditions ?? []).filter((c) => c.type === 'Paused' && c.status === 'True')).toEqual([]);
}

async function phaseOf(ref: OpsRequestRef): Promise<string | undefined> {
  const r = await readOpsRequest(ref).catch(() => undefined);
  return r?.metadata.uid === ref.uid ? r.status?.phase : undefined;
}

// --- the sweep ---

type Fault = 'fail' | 'kill' | 'delete-request' | 'delete-pgbouncer';
interface Step {
  step: string;
  activity: string;
  argsContain?: string;
  /** rotate restarting each pod (default); reload: rotate by hot reload; change-issuer: to ca-new; add: TLS on a plain pooler. */
  path?: 'reload' | 'change-issuer' | 'add';
  /** Past the point of no return: a fault completes the change (the after-set), never undoes it. */
  committed?: boolean;
}

/** Every activity of the forward path of a rotation, in order (the reload and CA-bundle steps on their paths). */
const STEPS: Step[] = [
  { step: 'validate', activity: 'planReconfiguration' },
  { step: 'claim the turn', activity: 'claimTurn' },
  { step: 'mark Progressing', activity: 'updateRequestStatus', argsContain: '"phase":"Progressing"' },
  { step: 'pause', activity: 'pausePgBouncer' },
  { step: 'snapshot', activity: 'snapshotConfiguration' },
  { step: 'mint', activity: 'mintCertificate' },
  { step: 'swap', activity: 'applyNewConfiguration' },
  { step: 'list pods', activity: 'listPodUids' },
  { step: 'replica check', activity: 'checkReplicas' },
  { step: 'restart pod', activity: 'evictPodAndWaitReady' },
  { step: 'served check', activity: 'verifyServedCertificate' },
  { step: 'reload pod', activity: 'reloadPodAndWaitServing', path: 'reload' },
  { step: 'finalize CA bundle', activity: 'finalizeCaBundle', path: 'change-issuer' },
  { step: 'revoke', activity: 'recordRevocations', committed: true },
  { step: 'cleanup', activity: 'deleteSecrets', committed: true },
  { step: 'resume', activity: 'resumePgBouncer', committed: true },
  { step: 'release', activity: 'releaseTurn', committed: true },
  { step: 'mark Successful', activity: 'updateRequestStatus', argsContain: '"phase":"Successful"', committed: true },
];
/** The steps in batches of one per lane: a batch's scenarios run at once, on different poolers. */
const batchesOf = (steps: Step[]) =>
  Array.from({ length: Math.ceil(steps.length / LANES.length) }, (_, b) =>
    steps.slice(b * LANES.length, (b + 1) * LANES.length),
  );

function specFor(step: Step) {
  const issuer = step.path === 'change-issuer' ? 'ca-new' : step.path === 'add' ? 'ca' : undefined;
  return {
    spec: issuer
      ? { tls: { issuerRef: { apiGroup: 'cert-manager.io' as const, kind: 'Issuer' as const, name: issuer } } }
      : { tls: { rotateCertificates: true } },
    annotations: step.path === 'reload' ? {} : RESTART,
  };
}

/** Runs one scenario on `pb` and checks everything the sweep promises. */
async function scenario(pb: string, step: Step, fault: Fault, hooks: { onHeld?: () => Promise<void> } = {}) {
  const id = `${fault} @ ${step.step}${step.path ? ` (${step.path})` : ''}`;
  const before = await tlsSet(pb);
  const name = `${pb}-r${++requests}`;
  const { spec, annotations } = specFor(step);
  addRule({
    activity: step.activity,
    request: name,
    argsContain: step.argsContain,
    calls: [1, 1],
    kind: fault === 'fail' ? 'fail' : 'hold',
  });
  const t0 = Date.now();
  const { ref, handle } = await request(pb, spec, name, annotations);
  if (fault !== 'fail') {
    await waitHeld(name);
    if (fault === 'delete-request') {
      await kube.custom.deleteNamespacedCustomObject({
        group: 'ops.kubedb.com',
        version: 'v1alpha1',
        plural: 'pgbounceropsrequests',
        namespace,
        name,
      });
    }
    if (fault === 'delete-pgbouncer') {
      await kube.custom.deleteNamespacedCustomObject({
        group: 'kubedb.com',
        version: 'v1',
        plural: 'pgbouncers',
        namespace,
        name: pb,
      });
    }
    await hooks.onHeld?.();
    dropRules(name);
  }
  const injected = Date.now();
  const closed = await Promise.race([
    ended(handle),
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), RUN_BOUND_MS)),
  ]);
  expect(closed).not.toBe('timeout');
  dropRules(name);
  // The request reaches a terminal phase (or is gone, when it was deleted).
  const phase = await eventually(
    async () => {
      const p = await phaseOf(ref);
      return p === 'Successful' || p === 'Failed' || (p === undefined && fault === 'delete-request')
        ? (p ?? 'deleted')
        : undefined;
    },
    { what: `${name} to reach a terminal phase`, timeoutMs: 20_000 },
  );
  wallTimes[id] = Date.now() - t0;
  outcomes[id] = `${phase} after ${Date.now() - injected} ms`;
  await expectLeaseGone(pb);
  await expectNoRunSecrets(ref);
  if (fault === 'delete-pgbouncer') return { ref, phase, set: 'gone' as const };
  await expectNotPaused(pb);
  await waitReady(pb);
  const set = expectBeforeOrAfter(pb, before, await tlsSet(pb));
  // Past the point of no return the change completes, whatever the fault; before it, a failure
  // rolls back. A deletion (a cancellation) rolls back only if it reaches the run before the
  // point of no return: released from its step, the run may get there first (finalizing the CA
  // bundle is the last step before it), and then completes. A SIGKILL only delays the run.
  if (fault === 'fail' || step.committed) expect({ id, set }).toEqual({ id, set: step.committed ? 'after' : 'before' });
  if (fault !== 'fail') outcomes[id] += `, ${set === 'after' ? 'completed' : 'rolled back'}`;
  if (set === 'after') expect(phase).not.toBe('Failed');
  await expectPodsServe(pb);
  return { ref, phase, set };
}

/** Runs `work` over lanes of poolers, each lane one pooler at a time; every lane finishes before a failure is reported. */
async function inLanes<T>(poolers: string[], items: T[], work: (pb: string, item: T) => Promise<unknown>) {
  const queue = [...items];
  const lanes = await Promise.allSettled(
    poolers.map(async (pb) => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(pb, item);
    }),
  );
  const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (failed) throw failed.reason;
}

describe('forward-path fault sweep', () => {
  test('a non-retryable failure at every step: rolled back before the point of no return, completed after', async () => {
    await inLanes(LANES, STEPS, (pb, step) => scenario(pb, step, 'fail'));
  }, 600_000);

  test('a worker SIGKILL while each step runs: each run completes', async () => {
    // One SIGKILL per batch, while every step of the batch is inside its activity.
    for (const [b, batch] of batchesOf(STEPS).entries()) {
      let killed: Promise<void> | undefined;
      const allHeld = new Set<string>();
      await Promise.all(
        batch.map((step, i) =>
          scenario(LANES[i], step, 'kill', {
            onHeld: async () => {
              allHeld.add(step.step);
              await eventually(async () => allHeld.size === batch.length || undefined, {
                what: `every step of batch ${b} held`,
              });
              killed ??= (async () => {
                await worker.kill();
                setRules(() => []);
                worker = await startWorkerProcess(taskQueue, WORKER_ENV);
              })();
              await killed;
            },
          }).then(({ phase }) => expect({ step: step.step, phase }).toEqual({ step: step.step, phase: 'Successful' })),
        ),
      );
    }
  }, 600_000);

  test('the request deleted while each step runs: each run ends', async () => {
    // Lanes in reverse: the change-issuer step lands on another pooler than in the SIGKILL batch,
    // whose run completed and so already uses the new issuer.
    for (const batch of batchesOf(STEPS)) {
      await Promise.all(batch.map((step, i) => scenario(LANES[LANES.length - 1 - i], step, 'delete-request')));
    }
  }, 600_000);

  test('the PgBouncer deleted while each step runs: each run ends, nothing of the run is left', async () => {
    // Steps every intent shares run on an add-TLS request against a fresh plain pooler (cheaper
    // to make than one with TLS); revoke, reload and the CA bundle need a pooler with TLS.
    const needsTls = (step: Step) => step.path !== undefined || step.step === 'revoke';
    const steps = STEPS.map((step) => (needsTls(step) ? step : { ...step, path: 'add' as const }));
    const poolers = steps.map((_, i) => `gone${i}x`);
    await Promise.all(
      steps.map(async (step, i) => {
        if (needsTls(step)) return poolerWithTls(poolers[i]);
        await createPgBouncer(namespace, poolers[i], { replicas: 1 });
        await waitReady(poolers[i]);
      }),
    );
    await Promise.all(steps.map((step, i) => scenario(poolers[i], step, 'delete-pgbouncer')));
  }, 600_000);
});

describe('compensation-fault sweep', () => {
  const EXTRA = ['c0', 'c1', 'c2', 'c3', 'c4'];
  beforeAll(async () => {
    await Promise.all(EXTRA.map(poolerWithTls));
  }, 180_000);

  /** The compensation steps after a failed served check, as each is called. */
  const UNDO_STEPS: { step: string; activity: string; argsContain?: string; from: number }[] = [
    { step: 'restore the snapshot', activity: 'restoreConfiguration', from: 1 },
    { step: 'roll back the pod', activity: 'evictPodAndWaitReady', from: 2 },
    { step: 'prove the rolled-back pod', activity: 'verifyServedCertificate', from: 2 },
    { step: 'delete staging and snapshot', activity: 'deleteSecrets', from: 1 },
    { step: 'resume', activity: 'resumePgBouncer', from: 1 },
    { step: 'release', activity: 'releaseTurn', from: 1 },
    { step: 'mark Failed', activity: 'updateRequestStatus', argsContain: '"phase":"Failed"', from: 1 },
  ];
  const cases = UNDO_STEPS.flatMap((u) => (['fail', 'transient'] as const).map((kind) => ({ ...u, kind })));

  test('each compensation step failing (non-retryably, or transiently forever) still ends the run in bounded time', async () => {
    await inLanes([...LANES, ...EXTRA], cases, async (pb, c) => {
      const id = `undo ${c.kind} @ ${c.step}`;
      const name = `${pb}-r${++requests}`;
      addRule({ activity: 'verifyServedCertificate', request: name, calls: [1, 1], kind: 'fail' });
      addRule({ activity: c.activity, request: name, argsContain: c.argsContain, calls: [c.from, 99], kind: c.kind });
      const t0 = Date.now();
      const { ref, handle } = await request(pb, { tls: { rotateCertificates: true } }, name);
      const closed = await Promise.race([
        ended(handle),
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), UNDO_BOUND_MS)),
      ]);
      expect(closed).toBe('failed');
      dropRules(name);
      // The request is Failed (by the workflow, or by the watcher's sweep when the status write was what failed).
      const r = await eventually(
        async () => {
          const live = await readOpsRequest(ref);
          return live.status?.phase === 'Failed' ? live : undefined;
        },
        { what: `${name} Failed`, timeoutMs: 60_000 },
      );
      wallTimes[id] = Date.now() - t0;
      const incomplete = r.status?.conditions?.find((x) => x.type === 'CompensationIncomplete');
      const failed = r.status?.conditions?.find((x) => x.type === 'Failed');
      outcomes[id] = `${failed?.reason}; ${incomplete?.message?.slice(0, 80) ?? 'complete'}`;
      if (c.step === 'mark Failed') {
        expect(failed?.reason).toBe('RunAbandoned'); // the watcher finished what the run could not write
      } else {
        expect(incomplete?.message).toMatch(/to finish: /);
      }
      if (c.step !== 'resume') await expectNotPaused(pb);
      else expect(incomplete?.message).toMatch(/resume PgBouncer .*Paused condition/);
      if (c.step !== 'release') await expectLeaseGone(pb);
      else expect(incomplete?.message).toMatch(/kubectl -n \S+ delete lease pgbouncer-ops-/);
      // Put the pooler back in shape for the next case: its pod restarted with what its Secrets hold.
      await kube.core.deleteNamespacedPod({ name: `${pb}-0`, namespace }).catch(() => undefined);
      await kube.coordination.deleteNamespacedLease({ name: `pgbouncer-ops-${pb}`, namespace }).catch(() => undefined);
      if (c.step === 'resume') {
        await kube.custom.patchNamespacedCustomObjectStatus(
          {
            group: 'kubedb.com',
            version: 'v1',
            plural: 'pgbouncers',
            namespace,
            name: pb,
            body: { status: { conditions: [] } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
      await eventually(
        async () =>
          (await kube.core.readNamespacedPod({ name: `${pb}-0`, namespace }).catch(() => undefined))?.metadata?.uid ||
          undefined,
        { what: `${pb}-0 back` },
      );
      await waitReady(pb);
      void ref;
    });
  }, 600_000);
});

describe('each item of the issue, failing before its fix', () => {
  test.concurrent(
    'item 2: restore is exact: a failed reissue that set a new secretName leaves spec.tls exactly as before',
    async () => {
      const pb = LANES[0];
      const before = await tlsSet(pb);
      const name = `${pb}-r${++requests}`;
      addRule({ activity: 'verifyServedCertificate', request: name, calls: [1, 1], kind: 'fail' });
      const { handle } = await request(
        pb,
        { tls: { certificates: [{ alias: 'server', secretName: `${pb}-custom-server` }] } },
        name,
      );
      expect(await ended(handle)).toBe('failed');
      dropRules(name);
      expect(await tlsSet(pb)).toEqual(before); // spec.tls without the certificates[] override, Secrets byte for byte
      await expect(kube.core.readNamespacedSecret({ name: `${pb}-custom-server`, namespace })).rejects.toMatchObject({
        code: 404,
      });
      await waitReady(pb);
      await expectPodsServe(pb);
    },
  );

  test.concurrent(
    'item 4: sslMode disable on a pooler with TLS: the served check expects N, and the request succeeds',
    async () => {
      const pb = LANES[1];
      const { handle, ref } = await request(pb, { tls: { sslMode: 'disable' } });
      const result = (await handle.result()) as { phase: string; servedChecks?: { served: { tls: boolean } }[] };
      expect(result.phase).toBe('Successful');
      expect(result.servedChecks?.map((c) => c.served)).toEqual([{ tls: false }]);
      expect(await phaseOf(ref)).toBe('Successful');
    },
  );

  test.concurrent(
    'item 9: a scale-up during the roll is detected and rolled back, with a message to retry after scaling',
    async () => {
      const pb = LANES[2];
      const before = await tlsSet(pb);
      const name = `${pb}-r${++requests}`;
      addRule({ activity: 'evictPodAndWaitReady', request: name, calls: [1, 1], kind: 'hold' });
      const { handle, ref } = await request(pb, { tls: { rotateCertificates: true } }, name);
      await waitHeld(name);
      // The turn it holds is a Lease with a duration (it expires if this run dies).
      const lease = await kube.coordination.readNamespacedLease({ name: `pgbouncer-ops-${pb}`, namespace });
      expect(lease.spec?.leaseDurationSeconds).toBe(300);
      expect(lease.spec?.holderIdentity).toBe(`${name}/${ref.uid}`);
      await kube.custom.patchNamespacedCustomObject(
        {
          group: 'kubedb.com',
          version: 'v1',
          plural: 'pgbouncers',
          namespace,
          name: pb,
          body: { spec: { replicas: 2 } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      dropRules(name);
      expect(await ended(handle)).toBe('failed');
      const failed = (await readOpsRequest(ref)).status?.conditions?.find((c) => c.type === 'Failed');
      expect(failed?.message).toMatch(/scaled during the operation.*retry it after scaling/);
      expect(await tlsSet(pb)).toEqual(before);
      await expectNotPaused(pb);
      await expectLeaseGone(pb);
    },
  );

  test.concurrent(
    'item 6: a Restart request is marked Failed and does not block; a terminated run is swept; a long wait continues as new',
    async () => {
      const pb = LANES[3];
      const restart = await createOpsRequest(namespace, `${pb}-restart`, {
        type: 'Restart',
        databaseRef: { name: pb },
      } as never);
      const restartFailed = await eventually(async () => ((await phaseOf(restart)) === 'Failed' ? true : undefined), {
        what: 'the Restart request marked Failed',
      });
      expect(restartFailed).toBe(true);
      const rotate = await request(pb, { tls: { rotateCertificates: true } });
      expect(await ended(rotate.handle)).toBe('completed');

      // A run terminated from the UI mid-roll: the watcher marks its request Failed, resumes the pooler, frees the turn.
      const name = `${pb}-r${++requests}`;
      addRule({ activity: 'evictPodAndWaitReady', request: name, calls: [1, 1], kind: 'hold' });
      const { handle, ref } = await request(pb, { tls: { rotateCertificates: true } }, name);
      await waitHeld(name);
      // A second request waits for the turn in runs of at most 2 polls (continueAsNew between them).
      const waiting = await createOpsRequest(
        namespace,
        `${pb}-waiting`,
        { databaseRef: { name: pb }, tls: { rotateCertificates: true } },
        RESTART,
      );
      await new Promise((r) => setTimeout(r, 12_000)); // > 2 polls of 5 s: it continues as new at least once
      await handle.terminate('test: terminated from the UI');
      dropRules(name);
      await eventually(async () => ((await phaseOf(ref)) === 'Failed' ? true : undefined), {
        what: 'the terminated run swept',
      });
      await expectNotPaused(pb);
      const waitingHandle = client.workflow.getHandle(workflowIdFor(waiting));
      expect(await ended(waitingHandle)).toBe('completed');
      // It waited across several runs of one workflow id: the first run ended ContinuedAsNew.
      const runs: string[] = [];
      for await (const r of client.workflow.list({ query: `WorkflowId = '${workflowIdFor(waiting)}'` })) {
        runs.push(r.status.name);
      }
      expect(runs).toContain('CONTINUED_AS_NEW');
      await expectLeaseGone(pb);
    },
  );
});

describe('the turn of a dead run', () => {
  test('item 6: a Lease its holder stopped renewing expires: the next request takes the turn instead of waiting forever', async () => {
    const pb = LANES[4];
    // The state a run terminated from the UI leaves while no watcher runs: its request still
    // Progressing, its Lease held, last renewed long ago. Without the watcher nothing sweeps it.
    await watcher.stop();
    try {
      const dead = await createOpsRequest(
        namespace,
        `${pb}-dead`,
        { databaseRef: { name: pb }, tls: { rotateCertificates: true } },
        RESTART,
      );
      await kube.custom.patchNamespacedCustomObjectStatus(
        {
          group: 'ops.kubedb.com',
          version: 'v1alpha1',
          plural: 'pgbounceropsrequests',
          namespace,
          name: dead.name,
          body: { status: { phase: 'Progressing' } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const longAgo = new Date(Date.now() - 600_000).toISOString().replace(/Z$/, '000Z') as unknown as Date;
      await kube.coordination.createNamespacedLease({
        namespace,
        body: {
          metadata: { name: `pgbouncer-ops-${pb}` },
          spec: {
            holderIdentity: `${dead.name}/${dead.uid}`,
            acquireTime: longAgo,
            renewTime: longAgo,
            leaseDurationSeconds: 300,
          },
        },
      });
      const next = await createOpsRequest(
        namespace,
        `${pb}-next`,
        { databaseRef: { name: pb }, tls: { rotateCertificates: true } },
        RESTART,
      );
      const handle = await startReconfigureTLS(taskQueue, next);
      const closed = await Promise.race([
        ended(handle),
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), RUN_BOUND_MS)),
      ]);
      expect(closed).toBe('completed');
      expect(await phaseOf(next)).toBe('Successful');
      await expectLeaseGone(pb);
      await kube.custom.deleteNamespacedCustomObject({
        group: 'ops.kubedb.com',
        version: 'v1alpha1',
        plural: 'pgbounceropsrequests',
        namespace,
        name: dead.name,
      });
    } finally {
      watcher = await startWatcher({
        kube,
        config: stackConfig({ taskQueue, watchNamespaces: [namespace] }),
        logger: logs.logger,
        client,
        maxBackoffMs: 2_000,
        sweepIntervalMs: 1_000,
      });
    }
  });
});

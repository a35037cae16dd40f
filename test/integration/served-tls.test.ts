// TLS as clients see it: real pgbouncer pods in front of a real PostgreSQL, checked with psql
// (sslmode=verify-full) and openssl s_client after each intent, a session held open through a
// hot-reload rotation, and a pod that keeps serving the old certificate.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import pg from 'pg';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import { loadTools } from '../../stack/tools.js';
import type { ReconfigureTLSResult } from '../../workflows/reconfigure-tls.js';
import { createTestNamespace, eventually, stackInfo, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { recordHistory } from '../support/histories.js';
import { setPodFaults } from '../support/kubelet/faults.js';
import {
  closeTestClient,
  outcomeOf,
  startReconfigureTLS,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/temporal.js';
import { createCaIssuer, createOpsRequest, readOpsRequest, secretText } from '../support/tls-fixtures.js';

const kube = testKube();
const tools = loadTools();
const taskQueue = `served-${randomBytes(3).toString('hex')}`;
const pb = 'pb';
const PODS = ['pb-0', 'pb-1', 'pb-2'];
let namespace: string;
let worker: WorkerProcess;
let caOne = '';
let caTwo = '';
const scratch = mkdtempSync(join(tmpdir(), 'pgbtls-served-'));
/** Measurements printed at the end: per-pod step times and the load client's counts. */
const report: Record<string, unknown> = {};

beforeAll(async () => {
  namespace = await createTestNamespace('served');
  const backend = stackInfo().postgres;
  await kube.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'backend-auth' }, stringData: { username: backend.user, password: backend.password } },
  });
  await createAppBinding(namespace, 'backend', {}, 'backend-auth', {
    url: `postgres://${backend.host}:${backend.port}`,
  });
  caOne = await createCaIssuer(namespace, 'ca-one');
  caTwo = await createCaIssuer(namespace, 'ca-two');
  worker = await startWorkerProcess(taskQueue);
  await createPgBouncer(namespace, pb, {
    replicas: 3,
    database: { databaseName: 'postgres', databaseRef: { name: 'backend' } },
  });
  await waitReady();
});

afterAll(async () => {
  await worker?.stop();
  await closeTestClient();
  rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(`[served-tls] ${JSON.stringify(report)}\n`);
});

async function waitReady() {
  await eventually(async () => (await readPgBouncer(namespace, pb)).status?.phase === 'Ready', {
    what: `${pb} Ready`,
    timeoutMs: 90_000,
  });
}

async function pods(): Promise<Record<string, { ip: string; uid: string; dns: string }>> {
  const out: Record<string, { ip: string; uid: string; dns: string }> = {};
  for (const name of PODS) {
    const pod = await kube.core.readNamespacedPod({ name, namespace });
    out[name] = { ip: pod.status!.podIP!, uid: pod.metadata!.uid!, dns: `${name}.${pb}-pods.${namespace}.svc` };
  }
  return out;
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** psql through one pod; returns stdout, or throws with psql's own error. */
function psql(pod: { ip: string; dns: string }, options: string, sql = 'select 1'): string {
  const { password, user } = stackInfo().postgres;
  const conninfo = `host=${pod.dns} hostaddr=${pod.ip} port=5432 user=${user} dbname=postgres connect_timeout=5 ${options}`;
  const run = spawnSync(tools.psql, [conninfo, '-XAt', '-c', sql], {
    encoding: 'utf8',
    env: { ...process.env, PGPASSWORD: password },
  });
  if (run.status !== 0) throw new Error(`psql (${options}): ${run.stderr.trim()}`);
  return run.stdout.trim();
}

const verifyFull = (caPem: string) =>
  `sslmode=verify-full sslrootcert=${file(`ca-${randomBytes(3).toString('hex')}.crt`, caPem)}`;

/** The serial openssl s_client sees (PostgreSQL STARTTLS), canonical: upper-case hex, no colons or leading zeros. */
function servedSerial(pod: { ip: string }): string {
  const pem = execFileSync(
    'sh',
    [
      '-c',
      `'${tools.openssl}' s_client -starttls postgres -connect ${pod.ip}:5432 </dev/null 2>/dev/null | '${tools.openssl}' x509 -noout -serial`,
    ],
    { encoding: 'utf8' },
  );
  return canonical(pem.replace(/^serial=/, ''));
}
const canonical = (hex: string) =>
  hex
    .trim()
    .replace(/:/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');

async function run(name: string, spec: Partial<PgBouncerOpsRequest['spec']>, scenario: string) {
  const ref: OpsRequestRef = await createOpsRequest(namespace, name, { databaseRef: { name: pb }, ...spec });
  const handle = await startReconfigureTLS(taskQueue, ref);
  const { result, failure } = await outcomeOf(handle);
  await recordHistory(scenario, handle);
  return { ref, handle, result, failure, request: await readOpsRequest(ref) };
}

/** Wall time of each completed activity of one type, from the workflow history (ms). */
async function activityTimes(handle: WorkflowHandle, type: string): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Map<string, number>();
  const times: number[] = [];
  const ms = (t: unknown) => {
    const ts = t as { seconds?: { toNumber(): number } | number; nanos?: number };
    const seconds = typeof ts.seconds === 'number' ? ts.seconds : (ts.seconds?.toNumber() ?? 0);
    return seconds * 1000 + (ts.nanos ?? 0) / 1e6;
  };
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === type) scheduled.set(id, ms(e.eventTime));
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.has(String(done.scheduledEventId))) {
      times.push(Math.round(ms(e.eventTime) - scheduled.get(String(done.scheduledEventId))!));
    }
  }
  return times;
}

const serverSerial = (result: ReconfigureTLSResult) =>
  canonical(result.certificates.find((c) => c.alias === 'server')!.serialHex);

describe('real pgbouncer pods, real PostgreSQL', () => {
  test('before TLS: plain connections reach PostgreSQL through every pod', async () => {
    for (const pod of Object.values(await pods())) {
      expect(psql(pod, 'sslmode=disable', 'select current_user')).toBe(stackInfo().postgres.user);
    }
  });

  test('add TLS: every pod serves the minted certificate; psql verify-full succeeds through each', async () => {
    const add = await run(
      'add',
      { tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca-one' }, sslMode: 'require' } },
      'served-add-tls',
    );
    expect(add.failure).toBeUndefined();
    const serial = serverSerial(add.result!);
    for (const [name, pod] of Object.entries(await pods())) {
      expect({ name, serial: servedSerial(pod) }).toEqual({ name, serial });
      expect(psql(pod, verifyFull(caOne), 'select 1')).toBe('1');
      expect(() => psql(pod, 'sslmode=disable')).toThrow(/SSL required|server does not support|closed the connection/i);
    }
    report.restartPerPodMs = await Promise.all([
      activityTimes(add.handle, 'evictPodAndWaitReady'),
      activityTimes(add.handle, 'verifyServedCertificate'),
    ]).then(([evict, verify]) => evict.map((t, i) => t + (verify[i] ?? 0)));
  });

  test('rotate by hot reload under load: the open session sees no error and keeps its backend', async () => {
    const before = await pods();
    const oldSerial = servedSerial(before['pb-0']);
    const session = new pg.Client({
      host: before['pb-0'].ip,
      port: 5432,
      user: stackInfo().postgres.user,
      password: stackInfo().postgres.password,
      database: 'postgres',
      ssl: { ca: caOne, servername: before['pb-0'].dns },
    });
    session.on('error', () => undefined);
    await session.connect();
    const backendPid = (await session.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    const load = { queries: 0, failed: 0, otherBackend: 0 };
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          const { rows } = await session.query('select pg_backend_pid() as pid, now()');
          load.queries++;
          if (rows[0].pid !== backendPid) load.otherBackend++;
        } catch {
          load.failed++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const rotate = await run('rotate', { tls: { rotateCertificates: true } }, 'served-rotate-hot-reload');
    running = false;
    await loop;
    await session.end();
    report.loadDuringReload = load;
    report.reloadPerPodMs = await activityTimes(rotate.handle, 'reloadPodAndWaitServing');

    expect(rotate.failure).toBeUndefined();
    expect(load).toEqual({ queries: expect.any(Number), failed: 0, otherBackend: 0 });
    expect(load.queries).toBeGreaterThan(50);
    const after = await pods();
    const serial = serverSerial(rotate.result!);
    expect(serial).not.toBe(oldSerial);
    for (const name of PODS) {
      expect(after[name].uid).toBe(before[name].uid); // reloaded, never restarted
      expect(servedSerial(after[name])).toBe(serial);
      expect(psql(after[name], verifyFull(caOne))).toBe('1');
    }
    expect(rotate.result!.servedChecks?.map((c) => c.method)).toEqual(['reload', 'reload', 'reload']);
    const reloadCondition = rotate.request.status?.conditions?.find((c) => c.type === 'ReloadPod--pb-0');
    expect(reloadCondition?.message).toMatch(new RegExp(`serves serial`));
  });

  test('a pod whose files never update: the reload step fails, the request rolls back, every pod serves the old certificate', async () => {
    // pb-1's next incarnation keeps the files it starts with (a kubelet that stopped syncing).
    await setPodFaults(kube, namespace, { 'pb-1': { frozenFiles: true } });
    const stale = (await pods())['pb-1'];
    await kube.core.deleteNamespacedPod({ name: 'pb-1', namespace });
    // The new incarnation Ready first, then the PgBouncer Ready again: its phase lags the pods.
    await eventually(
      async () => {
        const pod = await kube.core.readNamespacedPod({ name: 'pb-1', namespace });
        return (
          pod.metadata?.uid !== stale.uid &&
          pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        );
      },
      { what: 'a new pb-1 Ready', timeoutMs: 60_000 },
    );
    await eventually(
      async () =>
        (await kube.apps.readNamespacedStatefulSet({ name: pb, namespace })).status?.readyReplicas === 3 &&
        (await readPgBouncer(namespace, pb)).status?.phase === 'Ready',
      { what: `${pb} Ready with 3 ready replicas` },
    );
    const serialBefore = canonical(
      execFileSync(tools.openssl, ['x509', '-noout', '-serial'], {
        input: await secretText(namespace, `${pb}-server-cert`, 'tls.crt'),
        encoding: 'utf8',
      }).replace(/^serial=/, ''),
    );

    const doomed = await run('rotate-stuck', { tls: { rotateCertificates: true } }, 'served-rotate-stale-pod');
    expect(doomed.failure).toBeDefined();
    expect(doomed.request.status?.phase).toBe('Failed');
    const failed = doomed.request.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.message).toMatch(/ReloadPod--pb-1 failed: .*pod pb-1 serves serial .*not the intended certificate/);
    expect(failed?.message).toMatch(/rolled back/);
    for (const [name, pod] of Object.entries(await pods())) {
      expect({ name, serial: servedSerial(pod) }).toEqual({ name, serial: serialBefore });
      expect(psql(pod, verifyFull(caOne))).toBe('1');
    }
    const paused = (await readPgBouncer(namespace, pb)).status?.conditions?.find((c) => c.type === 'Paused');
    expect(paused?.status ?? 'False').toBe('False');
    // A kubelet that stopped syncing is mended by a new incarnation (the fault was for one only);
    // the later intents reload pb-1, so it must follow its Secrets again.
    const frozen = (await pods())['pb-1'];
    await kube.core.deleteNamespacedPod({ name: 'pb-1', namespace });
    await eventually(
      async () => {
        const pod = await kube.core.readNamespacedPod({ name: 'pb-1', namespace });
        return (
          pod.metadata?.uid !== frozen.uid &&
          pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        );
      },
      { what: 'pb-1 restarted without the fault', timeoutMs: 60_000 },
    );
    await eventually(async () => (await readPgBouncer(namespace, pb)).status?.phase === 'Ready', {
      what: `${pb} Ready again`,
    });
  });

  test('change issuer: verify-full with the new CA succeeds through each pod; the old CA alone no longer verifies', async () => {
    const change = await run(
      'change-issuer',
      { tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca-two' } } },
      'served-change-issuer',
    );
    expect(change.failure).toBeUndefined();
    const serial = serverSerial(change.result!);
    for (const pod of Object.values(await pods())) {
      expect(servedSerial(pod)).toBe(serial);
      expect(psql(pod, verifyFull(caTwo))).toBe('1');
      expect(() => psql(pod, verifyFull(caOne))).toThrow(/certificate verify failed/);
    }
  });

  test('remove: plain connections work and sslmode=require is refused', async () => {
    const remove = await run('remove', { tls: { remove: true } }, 'served-remove-tls');
    expect(remove.failure).toBeUndefined();
    expect(remove.result!.servedChecks?.every((c) => !c.served.tls)).toBe(true);
    for (const pod of Object.values(await pods())) {
      expect(psql(pod, 'sslmode=disable')).toBe('1');
      expect(() => psql(pod, 'sslmode=require')).toThrow(/server does not support SSL/);
    }
  });
});

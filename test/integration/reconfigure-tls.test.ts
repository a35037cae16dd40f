// ReconfigureTLS end to end on the real stack: a worker process runs the workflow against the
// real API server and controller manager; the kubelet stand-in restarts the pods.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import type { ReconfigureTLSResult } from '../../workflows/reconfigure-tls.js';
import { createTestNamespace, eventually, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { PodRecorder } from '../support/pod-recorder.js';
import {
  closeTestClient,
  outcomeOf,
  startReconfigureTLS,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/temporal.js';
import { recordHistory } from '../support/histories.js';
import { setPodFaults, type PodFault } from '../support/kubelet/faults.js';
import { FORCE_RESTART_ANNOTATION } from '../../lib/planner/pods.js';
import { createCaIssuer, createOpsRequest, openssl, readOpsRequest, secretText } from '../support/tls-fixtures.js';

const kube = testKube();
const taskQueue = `tls-${randomBytes(3).toString('hex')}`;
let namespace: string;
let worker: WorkerProcess;
const caOne: { pem: string } = { pem: '' };
const caTwo: { pem: string } = { pem: '' };
const timings: Record<string, number> = {};

beforeAll(async () => {
  namespace = await createTestNamespace('tls');
  await createAppBinding(namespace);
  caOne.pem = await createCaIssuer(namespace, 'ca-one');
  caTwo.pem = await createCaIssuer(namespace, 'ca-two');
  worker = await startWorkerProcess(taskQueue);
});

afterAll(async () => {
  await worker?.stop();
  await closeTestClient();
  process.stdout.write(`[reconfigure-tls] wall time per scenario (ms): ${JSON.stringify(timings)}\n`);
});

const startRequest = (ref: OpsRequestRef) => startReconfigureTLS(taskQueue, ref);

/** Runs one request to its end; `scenario` names the history recorded for the replay suite. */
async function runRequest(
  name: string,
  spec: Partial<PgBouncerOpsRequest['spec']>,
  scenario?: string,
  annotations?: Record<string, string>,
) {
  const t0 = Date.now();
  const ref = await createOpsRequest(namespace, name, spec, annotations);
  const handle = await startRequest(ref);
  const { result, failure } = await outcomeOf(handle);
  timings[name] = Date.now() - t0;
  if (scenario) await recordHistory(scenario, handle);
  return { ref, handle, result, failure, request: await readOpsRequest(ref) };
}

async function waitReady(pb: string) {
  await eventually(async () => (await readPgBouncer(namespace, pb)).status?.phase === 'Ready', { what: `${pb} Ready` });
}

const tls = (name: string) => ({ issuerRef: { apiGroup: 'cert-manager.io' as const, kind: 'Issuer' as const, name } });
const conditionTypes = (r: PgBouncerOpsRequest) => (r.status?.conditions ?? []).map((c) => c.type);

async function expectNoPrivateKeyInHistory(handle: WorkflowHandle, pb: string) {
  const history = JSON.stringify(await handle.fetchHistory());
  expect(history).not.toContain('PRIVATE KEY');
  for (const secret of [`${pb}-server-cert`, `${pb}-client-cert`]) {
    const live = await kube.core.readNamespacedSecret({ name: secret, namespace }).catch(() => undefined);
    const key = live?.data?.['tls.key'];
    if (!key) continue;
    expect(history).not.toContain(key.slice(0, 64));
    // the PEM body lines as they would appear if the key text were ever logged
    const body = Buffer.from(key, 'base64').toString().split('\n')[1];
    expect(history).not.toContain(body);
  }
}

/** Every pod was seen serving `serial` (null: no TLS) after its restart or reload. */
function expectServed(result: ReconfigureTLSResult, method: 'restart' | 'reload', serial: string | null) {
  const checks = result.servedChecks ?? [];
  expect(checks.map((c) => c.pod).sort()).toEqual(
    result.restartedPods.length ? result.restartedPods.map((p) => p.pod).sort() : ['pb-0', 'pb-1', 'pb-2'],
  );
  for (const check of checks) {
    expect(check.method).toBe(method);
    expect(check.served).toEqual(
      serial === null ? { tls: false } : expect.objectContaining({ tls: true, serialHex: serial }),
    );
  }
}

async function leftoverSecrets(): Promise<string[]> {
  const { items } = await kube.core.listNamespacedSecret({ namespace, labelSelector: 'pgbtls.dev/ops-request-uid' });
  return items.map((s) => s.metadata!.name!);
}

describe('the four intents on one 3-replica PgBouncer', () => {
  const pb = 'pb';
  let serials: Record<string, string> = {};

  beforeAll(async () => {
    await createPgBouncer(namespace, pb, { replicas: 3 });
    await waitReady(pb);
  });

  async function withRecorder<T>(fn: () => Promise<T>): Promise<{ value: T; restarts: Record<string, number> }> {
    const r = new PodRecorder(namespace, pb);
    await r.start();
    try {
      return { value: await fn(), restarts: r.restarts() };
    } finally {
      await r.stop();
    }
  }

  test('add TLS: certificates that verify, TLS config, every pod restarted exactly once', async () => {
    const { value: run, restarts } = await withRecorder(() =>
      runRequest('add-tls', { databaseRef: { name: pb }, tls: tls('ca-one') }, 'add-tls'),
    );
    expect(run.failure).toBeUndefined();
    expect(run.result).toMatchObject({ phase: 'Successful', intent: 'add' });
    expect(run.request.status?.phase).toBe('Successful');
    expectServed(run.result!, 'restart', run.result!.certificates.find((c) => c.alias === 'server')!.serialHex);
    expect(conditionTypes(run.request)).toEqual(
      expect.arrayContaining([
        'ReconfigureTLS',
        'DatabasePauseSucceeded',
        'IssueCertificatesSucceeded',
        'CertificateSynced',
        'UpdatePetSets',
        'RestartPods',
        'EvictPod--pb-2',
        'CheckPodReady--pb-0',
        'Successful',
      ]),
    );
    expect(restarts).toEqual({ 'pb-0': 1, 'pb-1': 1, 'pb-2': 1 });
    expect(run.result!.restartedPods.map((p) => p.pod)).toEqual(['pb-2', 'pb-1', 'pb-0']);
    // Activity log lines say which run and which activity they come from.
    const minted = readFileSync(worker.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"minted"') && l.includes(`"request":"${namespace}/add-tls"`))
      .map((l) => JSON.parse(l));
    expect(minted).toHaveLength(2);
    for (const line of minted) {
      expect(line).toMatchObject({ workflowId: run.handle.workflowId, activityType: 'mintCertificate', attempt: 1 });
      expect(line.runId).toBe(run.handle.firstExecutionRunId);
      expect(line.activityId).toEqual(expect.any(String));
    }

    for (const alias of ['server', 'client']) {
      const crt = await secretText(namespace, `${pb}-${alias}-cert`, 'tls.crt');
      expect(await secretText(namespace, `${pb}-${alias}-cert`, 'ca.crt')).toBe(caOne.pem.trim() + '\n');
      expect(
        openssl({ 'ca.crt': caOne.pem, 'leaf.crt': crt }, [
          'verify',
          '-CAfile',
          'ca.crt',
          '-purpose',
          alias === 'server' ? 'sslserver' : 'sslclient',
          'leaf.crt',
        ]),
      ).toContain('leaf.crt: OK');
    }
    const server = await secretText(namespace, `${pb}-server-cert`, 'tls.crt');
    const sans = openssl({ 'c.crt': server }, ['x509', '-in', 'c.crt', '-noout', '-ext', 'subjectAltName']);
    for (const name of [
      pb,
      `${pb}.${namespace}`,
      `${pb}.${namespace}.svc`,
      `${pb}.${namespace}.svc.cluster.local`,
      `${pb}-2.${pb}-pods.${namespace}.svc`,
      'localhost',
      '127.0.0.1',
    ]) {
      expect(sans).toContain(name);
    }
    expect(
      openssl({ 'c.crt': await secretText(namespace, `${pb}-client-cert`, 'tls.crt') }, [
        'x509',
        '-in',
        'c.crt',
        '-noout',
        '-subject',
      ]),
    ).toMatch(/CN ?= ?pgbouncer/);

    const ini = await secretText(namespace, `${pb}-config`, 'pgbouncer.ini');
    expect(ini).toContain('client_tls_sslmode = verify-full');
    const live = await readPgBouncer(namespace, pb);
    expect(live.spec.tls?.issuerRef?.name).toBe('ca-one');
    expect((live.status?.conditions ?? []).some((c) => c.type === 'Paused')).toBe(false);
    expect(await leftoverSecrets()).toEqual([]);
    await expectNoPrivateKeyInHistory(run.handle, pb);
    serials = Object.fromEntries(run.result!.certificates.map((c) => [c.alias, c.serialHex]));
    const { items: events } = await kube.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.uid=${run.ref.uid}`,
    });
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Progressing', 'DatabasePauseSucceeded', 'EvictPod', 'CheckPodReady', 'Successful']),
    );

    // After resume the provisioner finds nothing to change: no new StatefulSet generation, same config.
    const sts = await kube.apps.readNamespacedStatefulSet({ name: pb, namespace });
    const config = await kube.core.readNamespacedSecret({ name: `${pb}-config`, namespace });
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await kube.apps.readNamespacedStatefulSet({ name: pb, namespace })).metadata?.generation).toBe(
      sts.metadata?.generation,
    );
    expect((await kube.core.readNamespacedSecret({ name: `${pb}-config`, namespace })).metadata?.resourceVersion).toBe(
      config.metadata?.resourceVersion,
    );
  });

  test('rotate by hot reload: no pod restarted, each serves the new serial; old serials on a CRL openssl accepts', async () => {
    const { value: run, restarts } = await withRecorder(() =>
      runRequest('rotate', { databaseRef: { name: pb }, tls: { rotateCertificates: true } }, 'rotate'),
    );
    expect(run.failure).toBeUndefined();
    expect(run.result).toMatchObject({ phase: 'Successful', intent: 'rotate' });
    expect(restarts).toEqual({ 'pb-0': 0, 'pb-1': 0, 'pb-2': 0 });
    const fresh = Object.fromEntries(run.result!.certificates.map((c) => [c.alias, c.serialHex]));
    expectServed(run.result!, 'reload', fresh.server);
    expect(fresh.server).not.toBe(serials.server);
    expect(fresh.client).not.toBe(serials.client);
    const crt = await secretText(namespace, `${pb}-server-cert`, 'tls.crt');
    expect(openssl({ 'ca.crt': caOne.pem, 'leaf.crt': crt }, ['verify', '-CAfile', 'ca.crt', 'leaf.crt'])).toContain(
      'OK',
    );
    const crl = await secretText(namespace, 'ca-one-ca-crl', 'ca.crl');
    expect(
      openssl({ 'ca.crt': caOne.pem, 'crl.pem': crl }, [
        'crl',
        '-in',
        'crl.pem',
        '-CAfile',
        'ca.crt',
        '-verify',
        '-noout',
      ]),
    ).toBe('');
    const listed = openssl({ 'crl.pem': crl }, ['crl', '-in', 'crl.pem', '-noout', '-text']).replace(/\s/g, '');
    expect(listed).toContain(serials.server.replace(/:/g, ''));
    expect(listed).toContain(serials.client.replace(/:/g, ''));
    expect(await leftoverSecrets()).toEqual([]);
    await expectNoPrivateKeyInHistory(run.handle, pb);
    serials = fresh;
  });

  test('change issuer: the new CA signs, and afterwards ca.crt holds only the new CA', async () => {
    const { value: run, restarts } = await withRecorder(() =>
      runRequest('change-issuer', { databaseRef: { name: pb }, tls: tls('ca-two') }, 'change-issuer'),
    );
    expect(run.failure).toBeUndefined();
    expect(run.result).toMatchObject({ phase: 'Successful', intent: 'change-issuer' });
    expect(restarts).toEqual({ 'pb-0': 1, 'pb-1': 1, 'pb-2': 1 });
    expectServed(run.result!, 'restart', run.result!.certificates.find((c) => c.alias === 'server')!.serialHex);
    const crt = await secretText(namespace, `${pb}-server-cert`, 'tls.crt');
    expect(openssl({ 'ca.crt': caTwo.pem, 'leaf.crt': crt }, ['verify', '-CAfile', 'ca.crt', 'leaf.crt'])).toContain(
      'OK',
    );
    expect(() =>
      openssl({ 'ca.crt': caOne.pem, 'leaf.crt': crt }, ['verify', '-CAfile', 'ca.crt', 'leaf.crt']),
    ).toThrow();
    expect(await secretText(namespace, `${pb}-server-cert`, 'ca.crt')).toBe(caTwo.pem.trim() + '\n');
    expect((await readPgBouncer(namespace, pb)).spec.tls?.issuerRef?.name).toBe('ca-two');
    await expectNoPrivateKeyInHistory(run.handle, pb);
    serials = Object.fromEntries(run.result!.certificates.map((c) => [c.alias, c.serialHex]));
  });

  test('remove: plain connections, certificate Secrets and keys gone, serials revoked', async () => {
    const { value: run, restarts } = await withRecorder(() =>
      runRequest('remove-tls', { databaseRef: { name: pb }, tls: { remove: true } }, 'remove-tls'),
    );
    expect(run.failure).toBeUndefined();
    expect(run.result).toMatchObject({ phase: 'Successful', intent: 'remove' });
    // PgBouncer turns TLS off on RELOAD (README "Reload or restart"): no pod restarts.
    expect(restarts).toEqual({ 'pb-0': 0, 'pb-1': 0, 'pb-2': 0 });
    expectServed(run.result!, 'reload', null);
    const live = await readPgBouncer(namespace, pb);
    expect(live.spec.tls).toBeUndefined();
    expect(await secretText(namespace, `${pb}-config`, 'pgbouncer.ini')).not.toContain('client_tls');
    for (const alias of ['server', 'client']) {
      await expect(kube.core.readNamespacedSecret({ name: `${pb}-${alias}-cert`, namespace })).rejects.toMatchObject({
        code: 404,
      });
    }
    const crl = await secretText(namespace, 'ca-two-ca-crl', 'ca.crl');
    expect(
      openssl({ 'ca.crt': caTwo.pem, 'crl.pem': crl }, [
        'crl',
        '-in',
        'crl.pem',
        '-CAfile',
        'ca.crt',
        '-verify',
        '-noout',
      ]),
    ).toBe('');
    expect(openssl({ 'crl.pem': crl }, ['crl', '-in', 'crl.pem', '-noout', '-text']).replace(/\s/g, '')).toContain(
      serials.server.replace(/:/g, ''),
    );
    const sts = await kube.apps.readNamespacedStatefulSet({ name: pb, namespace });
    expect(sts.spec?.template.spec?.volumes?.map((v) => v.name)).not.toContain('server-tls');
  });
});

describe('invalid requests change nothing', () => {
  test('rotate on a PgBouncer without TLS fails validation, naming the field', async () => {
    await createPgBouncer(namespace, 'plain', { replicas: 1 });
    await waitReady('plain');
    const before = await readPgBouncer(namespace, 'plain');
    const run = await runRequest(
      'bad-rotate',
      { databaseRef: { name: 'plain' }, tls: { rotateCertificates: true } },
      'invalid-request',
    );
    expect(run.failure).toBeInstanceOf(WorkflowFailedError);
    expect(run.request.status?.phase).toBe('Failed');
    const failed = run.request.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.message).toMatch(/spec\.tls\.rotateCertificates/);
    const after = await readPgBouncer(namespace, 'plain');
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(conditionTypes(run.request)).not.toContain('DatabasePauseSucceeded');
  });
});

/** The failure scenarios hold a restart with kubelet faults, so they ask for restarts, not reloads. */
const RESTART = { [FORCE_RESTART_ANNOTATION]: 'true' };

/** A 3-replica PgBouncer with TLS from ca-one, ready for the failure scenarios. */
async function pgbouncerWithTls(name: string): Promise<void> {
  await createPgBouncer(namespace, name, { replicas: 3 });
  await waitReady(name);
  const run = await runRequest(`${name}-add`, { databaseRef: { name }, tls: tls('ca-one') });
  expect(run.result?.phase).toBe('Successful');
  await waitReady(name);
}

/** Every byte of the Secrets a TLS change touches, and the PgBouncer's TLS fields. */
async function tlsState(pb: string) {
  const secrets: Record<string, Record<string, string> | null> = {};
  for (const name of [`${pb}-server-cert`, `${pb}-client-cert`, `${pb}-config`]) {
    const s = await kube.core.readNamespacedSecret({ name, namespace }).catch(() => undefined);
    secrets[name] = s?.data ?? null;
  }
  const live = await readPgBouncer(namespace, pb);
  const sts = await kube.apps.readNamespacedStatefulSet({ name: pb, namespace });
  return {
    secrets,
    tls: live.spec.tls ?? null,
    sslMode: live.spec.sslMode ?? null,
    template: JSON.stringify(sts.spec?.template.spec?.volumes),
  };
}

const setFaults = (faults: Record<string, PodFault>) => setPodFaults(kube, namespace, faults);

async function expectRolledBack(
  pb: string,
  before: Awaited<ReturnType<typeof tlsState>>,
  run: Awaited<ReturnType<typeof runRequest>>,
) {
  expect(run.failure).toBeInstanceOf(WorkflowFailedError);
  expect(run.request.status?.phase).toBe('Failed');
  expect(await tlsState(pb)).toEqual(before);
  const live = await readPgBouncer(namespace, pb);
  expect((live.status?.conditions ?? []).some((c) => c.type === 'Paused')).toBe(false);
  expect(await leftoverSecrets()).toEqual([]);
  await waitReady(pb);
  await expectNoPrivateKeyInHistory(run.handle, pb);
}

describe('failures roll back to the last good configuration', () => {
  test('a pod that never becomes Ready: the step times out, restarted pods are rolled back', async () => {
    await pgbouncerWithTls('stuck');
    const before = await tlsState('stuck');
    await setFaults({ 'stuck-1': { neverReady: true, times: 1 } });
    const recorder = new PodRecorder(namespace, 'stuck');
    await recorder.start();
    const run = await runRequest(
      'stuck-rotate',
      {
        databaseRef: { name: 'stuck' },
        tls: { rotateCertificates: true },
        timeout: '10s',
        maxRetries: 0,
      },
      'timeout-pod-never-ready',
      RESTART,
    );
    await recorder.stop();
    await expectRolledBack('stuck', before, run);
    expect(run.request.status?.conditions?.find((c) => c.type === 'Failed')?.message).toMatch(
      /CheckPodReady--stuck-1.*spec\.timeout/,
    );
    expect(conditionTypes(run.request)).toEqual(
      expect.arrayContaining([
        'CompensateRestoreSnapshot',
        'CompensateRollbackPod--stuck-2',
        'CompensateRollbackPod--stuck-1',
      ]),
    );
    // stuck-2: new config, then rolled back; stuck-1: the never-Ready incarnation, then rolled back; stuck-0 untouched.
    expect(recorder.restarts()).toEqual({ 'stuck-0': 0, 'stuck-1': 2, 'stuck-2': 2 });
  });

  test('the CA Secret deleted mid-way: past the point of no return the change completes, and what is left is named', async () => {
    await createCaIssuer(namespace, 'ca-doomed');
    await createPgBouncer(namespace, 'doomed', { replicas: 3 });
    await waitReady('doomed');
    const add = await runRequest('doomed-add', { databaseRef: { name: 'doomed' }, tls: tls('ca-doomed') });
    expect(add.result?.phase).toBe('Successful');
    const before = await tlsState('doomed');
    // doomed-0, the last pod of the roll, comes up slowly: time to delete the CA before revocation needs it.
    await setFaults({ 'doomed-0': { readyDelayMs: 8_000, times: 1 } });
    const ref = await createOpsRequest(
      namespace,
      'doomed-rotate',
      {
        databaseRef: { name: 'doomed' },
        tls: { rotateCertificates: true },
        maxRetries: 0,
      },
      RESTART,
    );
    const handle = await startRequest(ref);
    await eventually(async () => conditionTypes(await readOpsRequest(ref)).includes('EvictPod--doomed-0'), {
      what: 'the roll to reach doomed-0',
    });
    await kube.core.deleteNamespacedSecret({ name: 'ca-doomed-ca', namespace });
    const failure = await handle.result().then(
      () => undefined,
      (err: Error) => err,
    );
    await recordHistory('failure-ca-deleted', handle);
    // Every pod already serves the new certificate when revocation needs the CA: rolling back now
    // would undo a finished roll (and, had a CRL been written, serve revoked certificates), so the
    // change completes and the request names what is left: the serials that are not on a CRL.
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const request = await readOpsRequest(ref);
    expect(request.status?.phase).toBe('Failed');
    expect(request.status?.conditions?.find((c) => c.type === 'CompensationIncomplete')?.message).toMatch(
      /record revoked serials in the CRL failed \(.*ca-doomed-ca.*\); to finish: /,
    );
    const after = await tlsState('doomed');
    expect(after.secrets['doomed-server-cert']!['tls.crt']).not.toBe(before.secrets['doomed-server-cert']!['tls.crt']);
    expect(after.secrets['doomed-config']).toEqual(before.secrets['doomed-config']);
    expect((await readPgBouncer(namespace, 'doomed')).status?.conditions?.some((c) => c.type === 'Paused')).toBe(false);
    expect(await leftoverSecrets()).toEqual([]);
    await expectNoPrivateKeyInHistory(handle, 'doomed');
  });

  test('cancellation rolls back', async () => {
    await pgbouncerWithTls('cancelled');
    const before = await tlsState('cancelled');
    await setFaults({ 'cancelled-1': { neverReady: true, times: 1 } });
    const ref = await createOpsRequest(
      namespace,
      'cancelled-rotate',
      {
        databaseRef: { name: 'cancelled' },
        tls: { rotateCertificates: true },
      },
      RESTART,
    );
    const handle = await startRequest(ref);
    await eventually(async () => conditionTypes(await readOpsRequest(ref)).includes('EvictPod--cancelled-1'), {
      what: 'the roll to reach cancelled-1',
    });
    await handle.cancel();
    const failure = await handle.result().then(
      () => undefined,
      (err: Error) => err,
    );
    await recordHistory('cancellation', handle);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.constructor.name).toBe('CancelledFailure');
    const request = await readOpsRequest(ref);
    expect(request.status?.phase).toBe('Failed');
    expect(request.status?.conditions?.find((c) => c.type === 'Failed')?.message).toMatch(/cancelled/);
    expect(await tlsState('cancelled')).toEqual(before);
    expect(await leftoverSecrets()).toEqual([]);
    await waitReady('cancelled');
  });
});

describe('spec.maxRetries', () => {
  test('a step that runs past spec.timeout once succeeds on its retry', async () => {
    await pgbouncerWithTls('slow');
    await setFaults({ 'slow-2': { readyDelayMs: 12_000, times: 1 } });
    const run = await runRequest(
      'slow-rotate',
      {
        databaseRef: { name: 'slow' },
        tls: { rotateCertificates: true },
        timeout: '8s',
        maxRetries: 1,
      },
      undefined,
      RESTART,
    );
    expect(run.failure).toBeUndefined();
    expect(run.result?.phase).toBe('Successful');
    const retried = run.request.status?.conditions?.find((c) => c.type === 'CheckPodReady--slow-2');
    expect(retried?.status).toBe('True');
    const events = await kube.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.uid=${run.ref.uid}`,
    });
    expect(events.items.some((e) => e.reason === 'Retrying' && /spec\.timeout/.test(e.message ?? ''))).toBe(true);
  });
});

describe('durability and ordering', () => {
  test('a worker killed (SIGKILL) in the middle of the pod roll: a new worker finishes, no pod restarted twice', async () => {
    await pgbouncerWithTls('crash');
    await setFaults({ 'crash-1': { readyDelayMs: 4_000, times: 1 } });
    const recorder = new PodRecorder(namespace, 'crash');
    await recorder.start();
    const ref = await createOpsRequest(
      namespace,
      'crash-rotate',
      {
        databaseRef: { name: 'crash' },
        tls: { rotateCertificates: true },
      },
      RESTART,
    );
    const t0 = Date.now();
    const handle = await startRequest(ref);
    await eventually(async () => conditionTypes(await readOpsRequest(ref)).includes('EvictPod--crash-1'), {
      what: 'the roll to reach crash-1',
    });
    await worker.kill();
    worker = await startWorkerProcess(taskQueue);
    const result = await handle.result();
    await recordHistory('worker-crash-resume', handle);
    timings['crash-rotate'] = Date.now() - t0;
    await recorder.stop();
    expect(result.phase).toBe('Successful');
    expect(recorder.restarts()).toEqual({ 'crash-0': 1, 'crash-1': 1, 'crash-2': 1 });
    expect((await readOpsRequest(ref)).status?.phase).toBe('Successful');
  });

  test('two requests for one PgBouncer: the second waits its turn, then runs', async () => {
    await pgbouncerWithTls('queue');
    await setFaults({ 'queue-0': { readyDelayMs: 3_000, times: 1 } });
    const first = await createOpsRequest(
      namespace,
      'queue-first',
      {
        databaseRef: { name: 'queue' },
        tls: { rotateCertificates: true },
      },
      RESTART,
    );
    const firstHandle = await startRequest(first);
    await eventually(async () => (await readOpsRequest(first)).status?.phase === 'Progressing', {
      what: 'the first request Progressing',
    });
    const second = await createOpsRequest(namespace, 'queue-second', {
      databaseRef: { name: 'queue' },
      tls: tls('ca-two'),
    });
    const secondHandle = await startRequest(second);
    await eventually(async () => (await readOpsRequest(second)).status?.phase === 'Pending', {
      what: 'the second request Pending',
    });
    expect((await readOpsRequest(first)).status?.phase).toBe('Progressing');
    const firstResult = await firstHandle.result();
    const secondResult = await secondHandle.result();
    await recordHistory('queued-first', firstHandle);
    await recordHistory('queued-second', secondHandle);
    expect(firstResult.phase).toBe('Successful');
    expect(secondResult).toMatchObject({ phase: 'Successful', intent: 'change-issuer' });
    const [a, b] = [await readOpsRequest(first), await readOpsRequest(second)];
    const finished = (r: PgBouncerOpsRequest) =>
      Date.parse(r.status!.conditions!.find((c) => c.type === 'Successful')!.lastTransitionTime as string);
    const started = (r: PgBouncerOpsRequest) =>
      Date.parse(r.status!.conditions!.find((c) => c.type === 'ReconfigureTLS')!.lastTransitionTime as string);
    expect(started(b)).toBeGreaterThanOrEqual(finished(a));
  });
  test('an older Pending request of the same type is Skipped in favour of the newer one', async () => {
    await pgbouncerWithTls('skip');
    await setFaults({ 'skip-0': { readyDelayMs: 3_000, times: 1 } });
    const running = await createOpsRequest(
      namespace,
      'skip-running',
      {
        databaseRef: { name: 'skip' },
        tls: { rotateCertificates: true },
      },
      RESTART,
    );
    const runningHandle = await startRequest(running);
    await eventually(async () => (await readOpsRequest(running)).status?.phase === 'Progressing', {
      what: 'the first request Progressing',
    });
    const older = await createOpsRequest(
      namespace,
      'skip-older',
      {
        databaseRef: { name: 'skip' },
        tls: { rotateCertificates: true },
      },
      RESTART,
    );
    const olderHandle = await startRequest(older);
    await eventually(async () => (await readOpsRequest(older)).status?.phase === 'Pending', {
      what: 'the older request Pending',
    });
    await new Promise((r) => setTimeout(r, 1_100)); // creationTimestamp has one-second resolution
    const newer = await createOpsRequest(
      namespace,
      'skip-newer',
      {
        databaseRef: { name: 'skip' },
        tls: { rotateCertificates: true },
      },
      RESTART,
    );
    const newerHandle = await startRequest(newer);
    expect((await runningHandle.result()).phase).toBe('Successful');
    expect((await olderHandle.result()).phase).toBe('Skipped');
    expect((await newerHandle.result()).phase).toBe('Successful');
    const skipped = await readOpsRequest(older);
    expect(skipped.status?.phase).toBe('Skipped');
    expect(skipped.status?.conditions?.find((c) => c.type === 'Skipped')?.message).toContain('skip-newer');
    await recordHistory('skipped-older-request', olderHandle);
  });
});

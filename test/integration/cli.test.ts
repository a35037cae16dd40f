// The pgbtls CLI against the real stack, as a user runs it: a child process with KUBECONFIG and
// TEMPORAL_ADDRESS, its exit code, stdout and stderr.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORCE_RESTART_ANNOTATION } from '../../lib/planner/pods.js';
import { runPgbtls, type CliRun } from '../support/cli.js';
import { createTestNamespace, eventually, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { closeTestClient, startWorkerProcess, type WorkerProcess } from '../support/temporal.js';
import { createCaIssuer } from '../support/tls-fixtures.js';

const taskQueue = `cli-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'pgbtls-cli-'));
let namespace: string;
let worker: WorkerProcess;

const pgbtls = (...args: string[]) => runPgbtls(taskQueue, args);

function manifest(name: string, tls: string, pb = 'pb', annotations = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: ops.kubedb.com/v1alpha1
kind: PgBouncerOpsRequest
metadata:
  name: ${name}
  namespace: ${namespace}${annotations ? `\n  annotations: ${annotations}` : ''}
spec:
  type: ReconfigureTLS
  databaseRef:
    name: ${pb}
  tls: ${tls}
`,
  );
  return file;
}

/** An error is one line on stderr. */
function expectOneLineError(run: CliRun, pattern: RegExp) {
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^pgbtls: /);
  expect(lines[0]).toMatch(pattern);
}

beforeAll(async () => {
  namespace = await createTestNamespace('cli');
  await createAppBinding(namespace);
  await createCaIssuer(namespace, 'ca-one');
  worker = await startWorkerProcess(taskQueue);
  await createPgBouncer(namespace, 'pb', { replicas: 1 });
  await eventually(async () => (await readPgBouncer(namespace, 'pb')).status?.phase === 'Ready', {
    what: 'pb Ready',
    timeoutMs: 90_000,
  });
});

afterAll(async () => {
  await worker?.stop();
  await closeTestClient();
});

const addTls = () => manifest('add-tls', '{ issuerRef: { apiGroup: cert-manager.io, kind: Issuer, name: ca-one } }');

test('plan prints what would change and creates nothing', async () => {
  const run = await pgbtls('plan', '-f', addTls());
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^PgBouncer .*\/pb: add TLS/);
  expect(run.stdout).toMatch(/server \(server certificate\) → Secret pb-server-cert/);
  expect(run.stdout).toMatch(/pb-0: restart/);
  const json = await pgbtls('plan', '-f', addTls(), '-o', 'json');
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout).intent).toBe('add');
  const list = await pgbtls('list', '-n', namespace, '-o', 'json');
  expect(JSON.parse(list.stdout)).toEqual([]);
});

test('plan of a request for an unknown PgBouncer: exit 2 and one line naming the field', async () => {
  const run = await pgbtls('plan', '-f', manifest('ghost', '{ rotateCertificates: true }', 'ghost'));
  expect(run.code).toBe(2);
  expectOneLineError(run, /spec\.databaseRef\.name: PgBouncer "ghost" not found/);
});

test('invalid YAML: exit 2 and one line', async () => {
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, 'apiVersion: ops.kubedb.com/v1alpha1\nkind: [PgBouncerOpsRequest\n');
  for (const command of ['apply', 'plan']) {
    const run = await pgbtls(command, '-f', file);
    expect(run.code).toBe(2);
    expectOneLineError(run, /invalid YAML/);
  }
});

test('rotateCertificates with remove: the API server rejects it, exit 2 naming spec.tls', async () => {
  const run = await pgbtls('apply', '-f', manifest('both', '{ rotateCertificates: true, remove: true }'));
  expect(run.code).toBe(2);
  expectOneLineError(run, /spec\.tls/);
  const status = await pgbtls('status', `${namespace}/both`);
  expect(status.code).toBe(3);
  expectOneLineError(status, /not found/);
});

test('apply --wait, then status, list, history export and cancel of a finished request', async () => {
  const apply = await pgbtls('apply', '-f', addTls(), '--wait');
  expect(apply.stderr).toBe('');
  expect(apply.code).toBe(0);
  expect(apply.stdout).toMatch(/created/);
  expect(apply.stdout.trim().split('\n').pop()).toMatch(/^Successful/);

  const status = await pgbtls('status', `${namespace}/add-tls`);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/phase:\s+Successful/);
  expect(status.stdout).toMatch(/pods:\s+pb-0 done/);
  const statusYaml = await pgbtls('status', 'add-tls', '-n', namespace, '-o', 'yaml');
  expect(statusYaml.code).toBe(0);
  expect(statusYaml.stdout).toMatch(/phase: Successful/);

  const list = await pgbtls('list', '-n', namespace);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/add-tls\s+ReconfigureTLS\s+pb\s+Successful\s+COMPLETED/);

  const history = await pgbtls('history', 'export', `${namespace}/add-tls`);
  expect(history.code).toBe(0);
  const events = JSON.parse(history.stdout).events as { eventType: string }[];
  expect(events[0].eventType).toMatch(/WORKFLOW_EXECUTION_STARTED/);
  expect(history.stdout).not.toContain('PRIVATE KEY');

  const cancel = await pgbtls('cancel', `${namespace}/add-tls`);
  expect(cancel.code).toBe(0);
  expect(cancel.stdout).toMatch(/already ended/);
});

test('cancel of a running request rolls it back; status then exits 1', async () => {
  await testKube().core.createNamespacedConfigMap({
    namespace,
    body: {
      metadata: { name: 'pgbtls-kubelet-faults' },
      data: { 'pods.json': JSON.stringify({ 'pb-0': { neverReady: true, times: 1 } }) },
    },
  });
  // Forced restarts: the fault above holds pb-0's restart, which a hot reload would not need.
  const apply = await pgbtls(
    'apply',
    '-f',
    manifest('rotate', '{ rotateCertificates: true }', 'pb', `{ "${FORCE_RESTART_ANNOTATION}": "true" }`),
  );
  expect(apply.code).toBe(0);
  await eventually(
    async () => {
      const s = await pgbtls('status', `${namespace}/rotate`, '-o', 'json');
      return JSON.parse(s.stdout).progress?.pods?.[0]?.status === 'restarting';
    },
    { what: 'pb-0 restarting', timeoutMs: 90_000, intervalMs: 1_000 },
  );
  const cancel = await pgbtls('cancel', `${namespace}/rotate`);
  expect(cancel.code).toBe(0);
  const failed = await eventually(
    async () => {
      const s = await pgbtls('status', `${namespace}/rotate`);
      return s.code === 1 ? s : undefined;
    },
    { what: 'the request to end Failed', timeoutMs: 120_000, intervalMs: 1_000 },
  );
  expect(failed.stdout).toMatch(/phase:\s+Failed/);
  expect(failed.stdout).toMatch(/cancelled/);
});

test('unknown commands and missing arguments: exit 2; unreachable Temporal: exit 4', async () => {
  expect((await pgbtls('frobnicate')).code).toBe(2);
  expect((await pgbtls('status')).code).toBe(2);
  expect((await pgbtls('list', '-o', 'xml')).code).toBe(2);
  const run = await runPgbtls(taskQueue, ['status', `${namespace}/add-tls`], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(run.code).toBe(4);
  expectOneLineError(run, /Temporal unreachable/);
});

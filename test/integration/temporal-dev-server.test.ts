// The Temporal dev server as temporal-dev.yml configures it: its SQLite file keeps workflow state
// across a server restart, and the search attributes the workflows use are registered.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { freePort } from '../../stack/ports.js';
import { startTemporalDevServer, type RunningTemporal } from '../../stack/temporal-dev-server.js';
import { loadTools, repoRoot } from '../../stack/tools.js';
import { noteSignal, notesQuery, releaseSignal, waitForRelease } from '../workflows/wait-for-release.js';

const root = repoRoot();
const stateDir = mkdtempSync(join(tmpdir(), 'pgbtls-temporal-'));
let server: RunningTemporal | undefined;

async function start(ports: { grpc: number; ui: number; http: number; metrics: number }): Promise<RunningTemporal> {
  return startTemporalDevServer({
    binary: loadTools(root).temporal,
    composeFile: join(root, 'temporal-dev.yml'),
    stateDir,
    ports,
  });
}

async function runWorker<T>(address: string, fn: () => Promise<T>): Promise<T> {
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue: 'stack-test',
    workflowsPath: join(root, 'test/workflows/wait-for-release.ts'),
  });
  try {
    return await worker.runUntil(fn);
  } finally {
    await connection.close();
  }
}

afterAll(async () => {
  await server?.process.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

test('a workflow started before a server restart completes after it, with its state', async () => {
  const ports = { grpc: await freePort(), ui: await freePort(), http: await freePort(), metrics: await freePort() };
  server = await start(ports);
  const workflowId = `persist-${Date.now()}`;

  await runWorker(server.address, async () => {
    const client = new Client({ connection: await Connection.connect({ address: server!.address }) });
    const handle = await client.workflow.start(waitForRelease, {
      taskQueue: 'stack-test',
      workflowId,
      args: ['before restart'],
    });
    await handle.signal(noteSignal, 'signal before restart');
    expect(await handle.query(notesQuery)).toEqual(['before restart', 'signal before restart']);
    await client.connection.close();
  });

  await server.process.stop();
  server = await start(ports);

  const result = await runWorker(server.address, async () => {
    const client = new Client({ connection: await Connection.connect({ address: server!.address }) });
    const handle = client.workflow.getHandle(workflowId);
    await handle.signal(noteSignal, 'signal after restart');
    await handle.signal(releaseSignal);
    const notes = await handle.result();
    await client.connection.close();
    return notes;
  });
  expect(result).toEqual(['before restart', 'signal before restart', 'signal after restart']);
});

test('the custom search attributes of temporal-dev.yml are registered', async () => {
  server ??= await start({
    grpc: await freePort(),
    ui: await freePort(),
    http: await freePort(),
    metrics: await freePort(),
  });
  const connection = await Connection.connect({ address: server.address });
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
  await connection.close();
  expect(Object.keys(customAttributes ?? {})).toEqual(
    expect.arrayContaining(['PgBouncer', 'Namespace', 'OpsType', 'Stage']),
  );
});

test('the UI answers on the configured port', async () => {
  server ??= await start({
    grpc: await freePort(),
    ui: await freePort(),
    http: await freePort(),
    metrics: await freePort(),
  });
  const res = await fetch(server.uiUrl);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('<html');
});

// Temporal for integration tests: a client of the stack's dev server, and worker processes that
// a test can stop gracefully or kill outright (SIGKILL) to prove crash recovery.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Client,
  Connection,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { reconfigureTLSStartOptions } from '../../client/start.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import { reconfigureTLS, type ReconfigureTLSResult } from '../../workflows/reconfigure-tls.js';
import { freePort } from '../../stack/ports.js';
import { repoRoot } from '../../stack/tools.js';
import { stackInfo } from './cluster.js';
import { readOpsRequest } from './tls-fixtures.js';

let client: Client | undefined;
export async function testClient(): Promise<Client> {
  if (!client) {
    const { temporal } = stackInfo();
    client = new Client({
      connection: await Connection.connect({ address: temporal.address }),
      namespace: temporal.namespace,
    });
  }
  return client;
}

/** Starts the workflow for an ops request with the watcher's start options, on a test's task queue. */
export async function startReconfigureTLS(
  taskQueue: string,
  ref: OpsRequestRef,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof reconfigureTLS>> {
  const request = await readOpsRequest(ref);
  return (await testClient()).workflow.start(reconfigureTLS, reconfigureTLSStartOptions(request, taskQueue));
}

/** Waits for the run to end: its result, or the failure it ended with. */
export async function outcomeOf(
  handle: WorkflowHandle<typeof reconfigureTLS>,
): Promise<{ result?: ReconfigureTLSResult; failure?: Error }> {
  try {
    return { result: await handle.result() };
  } catch (err) {
    const failure = err instanceof Error ? err : new Error(String(err));
    // "Workflow execution failed" alone says nothing in a CI log: carry the causes' messages along.
    const causes: string[] = [];
    for (let c = failure.cause; c instanceof Error && causes.length < 5; c = c.cause) causes.push(c.message);
    if (causes.length > 0) failure.message = `${failure.message}: ${causes.join(' <- ')}`;
    return { failure };
  }
}

export async function closeTestClient(): Promise<void> {
  await client?.connection.close();
  client = undefined;
}

export interface WorkerProcess {
  child: ChildProcess;
  logFile: string;
  metricsUrl: string;
  healthUrl: string;
  /** SIGTERM, then wait for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL: the crash a worker cannot clean up after. */
  kill(): Promise<void>;
}

let workers = 0;

export async function startWorkerProcess(taskQueue: string, env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const root = repoRoot();
  const info = stackInfo();
  const logDir = join(root, 'test-output', 'workers');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${taskQueue}-${++workers}.log`);
  const out = openSync(logFile, 'w');
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(root, 'dist/worker/main.js')], {
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      KUBECONFIG: info.kubeconfig,
      TEMPORAL_ADDRESS: info.temporal.address,
      TEMPORAL_NAMESPACE: info.temporal.namespace,
      PGBTLS_TASK_QUEUE: taskQueue,
      PGBTLS_CLUSTER_RESOURCE_NAMESPACE: 'cert-manager',
      PGBTLS_EXIT_WITH_PARENT: '1',
      PGBTLS_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
      PGBTLS_HEALTH_ADDRESS: `127.0.0.1:${healthPort}`,
      // The stand-in projects changed Secrets after 1.5 s; a pod still wrong after 20 s fails its step.
      PGBTLS_SERVED_CERTIFICATE_TIMEOUT_MS: '20000',
      // Every restart of a pod without TLS drains blind; 1 s keeps suites that restart many pods
      // short (the stand-in's Service proxy follows the label at once). service-drain.test.ts
      // measures the default.
      PGBTLS_BLIND_DRAIN_MS: '1000',
      ...env,
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!readFileSync(logFile, 'utf8').includes('worker running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`worker did not start:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    logFile,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    healthUrl: `http://127.0.0.1:${healthPort}/healthz`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

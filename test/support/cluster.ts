// What integration tests know about the shared stack that globalSetup started, and the helpers
// every test uses to talk to it: one Kubernetes client, a fresh namespace per test file.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../lib/config.js';
import { createKube, type Kube } from '../../lib/kube/kube.js';
import type { StackInfo } from '../../stack/stack-info.js';

export function stackInfo(): StackInfo {
  const file = process.env.PGBTLS_STACK_FILE;
  if (!file)
    throw new Error('PGBTLS_STACK_FILE is not set: run integration tests through jest (globalSetup starts the stack)');
  return JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
}

let kube: Kube | undefined;
export function testKube(): Kube {
  kube ??= createKube(stackInfo().kubeconfig);
  return kube;
}

/** Creates a namespace with a unique name; tests never share one. */
export async function createTestNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
  await testKube().core.createNamespace({ body: { metadata: { name, labels: { 'pgbtls.test/namespace': 'true' } } } });
  return name;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; the last error explains a timeout. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  { timeoutMs = 60_000, intervalMs = 250, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The product's Config pointed at the test stack, on `taskQueue`, watching `namespaces`. */
export function stackConfig(taskQueue: string, namespaces: string[]): Config {
  const info = stackInfo();
  return {
    ...loadConfig({
      KUBECONFIG: info.kubeconfig,
      TEMPORAL_ADDRESS: info.temporal.address,
      TEMPORAL_NAMESPACE: info.temporal.namespace,
    }),
    taskQueue,
    watchNamespaces: namespaces,
  };
}

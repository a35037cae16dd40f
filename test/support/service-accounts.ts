// Running the product as a ServiceAccount: a kubeconfig holding a TokenRequest token, the
// SelfSubjectAccessReview a process would get, and the product's processes started with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthorizationV1Api, KubeConfig, type V1ResourceAttributes } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/kube.js';
import { repoRoot } from '../../stack/tools.js';

/** Asks the API server for a token of `namespace/name` (TokenRequest) and writes a kubeconfig with it. */
export async function serviceAccountKubeconfig(
  admin: Kube,
  namespace: string,
  name: string,
  file: string,
): Promise<KubeConfig> {
  const request = await admin.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const cluster = admin.kc.getCurrentCluster()!;
  const user = `system:serviceaccount:${namespace}:${name}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'stack', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: 'stack', user }],
    currentContext: user,
  });
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return kc;
}

/** Whether the kubeconfig's identity may do `attrs` (a SelfSubjectAccessReview, as `kubectl auth can-i`). */
export async function canI(kc: KubeConfig, attrs: V1ResourceAttributes): Promise<boolean> {
  const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: attrs } },
  });
  return review.status?.allowed === true;
}

export interface ProductProcess {
  child: ChildProcess;
  logFile: string;
  log(): string;
  stop(): Promise<void>;
}

/** Starts dist/<script> with `env`, waiting for `readyLine` in its log. */
export async function startProductProcess(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  readyLine: string,
  logDir: string,
): Promise<ProductProcess> {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, [join(repoRoot(), script)], {
    stdio: ['ignore', out, out],
    env: { ...process.env, PGBTLS_EXIT_WITH_PARENT: '1', ...env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => readFileSync(logFile, 'utf8');
  const deadline = Date.now() + 60_000;
  while (!log().includes(readyLine)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${name} did not start:\n${log().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    logFile,
    log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

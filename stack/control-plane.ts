// A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver (RBAC on) and
// kube-controller-manager (real StatefulSet, disruption-budget, garbage-collection and namespace
// controllers). Only the kubelet is missing; the test harness stands in for it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { startProcess, waitUntilReady, type ManagedProcess } from './process.js';
import type { Tools } from './tools.js';

/** The API server's audit log (JSON lines, Metadata level) of the stack in `stateDir`. */
export function auditLogPath(stateDir: string): string {
  return join(stateDir, 'logs', 'kube-apiserver-audit.log');
}

export interface ControlPlane {
  apiServerUrl: string;
  kubeconfig: string;
  processes: ManagedProcess[];
  /**
   * Stops kube-apiserver, runs `whileDown`, and starts it again on the same port with the same
   * serving certificate, so clients carry on with the kubeconfig they have; etcd keeps the data.
   * Resolves when it is ready again. This is how outage tests take the API away.
   */
  restartApiServer(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

function httpGetOk(url: string, caFile?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? request : httpRequest;
    const req = get(url, { method: 'GET', timeout: 2_000, ca: caFile ? readFileSync(caFile) : undefined }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Credentials made once per state directory: the admin token and the service-account signing key. */
function ensureAuth(authDir: string): { token: string; saKey: string; tokenFile: string } {
  mkdirSync(authDir, { recursive: true, mode: 0o700 });
  const tokenFile = join(authDir, 'tokens.csv');
  const saKey = join(authDir, 'sa.key');
  if (!existsSync(tokenFile)) {
    const token = randomBytes(24).toString('hex');
    writeFileSync(tokenFile, `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
  }
  if (!existsSync(saKey)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const token = readFileSync(tokenFile, 'utf8').split(',')[0];
  return { token, saKey, tokenFile };
}

export function renderKubeconfig(server: string, caFile: string, token: string): string {
  const ca = readFileSync(caFile).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: pgbtls-dev',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: pgbtls-dev',
    '  context:',
    '    cluster: pgbtls-dev',
    '    user: admin',
    'current-context: pgbtls-dev',
    '',
  ].join('\n');
}

export async function startControlPlane(opts: { tools: Tools; stateDir: string }): Promise<ControlPlane> {
  const { tools, stateDir } = opts;
  const logs = join(stateDir, 'logs');
  const auth = ensureAuth(join(stateDir, 'auth'));
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    // Reverse order: the controller manager and apiserver go before the store they write to.
    for (const p of [...processes].reverse()) await p.stop();
  };
  try {
    const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = startProcess(
      'etcd',
      tools.etcd,
      [
        `--data-dir=${join(stateDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        '--listen-metrics-urls=',
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      { logFile: join(logs, 'etcd.log') },
    );
    processes.push(etcd);
    await waitUntilReady(etcd, () => httpGetOk(`${etcdUrl}/health`), { timeoutMs: 30_000 });

    const pki = join(stateDir, 'pki');
    mkdirSync(pki, { recursive: true });
    // Every request at Metadata level (who, user agent, verb, resource; no bodies, so no keys), one
    // line when it completes: `npm run bench` attributes the API load to each component from it.
    const auditPolicy = join(pki, 'audit-policy.yaml');
    writeFileSync(
      auditPolicy,
      [
        'apiVersion: audit.k8s.io/v1',
        'kind: Policy',
        'omitStages: [RequestReceived, ResponseStarted]',
        'rules:',
        '- level: Metadata',
        '',
      ].join('\n'),
    );
    const apiServerUrl = `https://127.0.0.1:${apiPort}`;
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${pki}`,
      `--token-auth-file=${auth.tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No token controller-issued volumes: pods of the fake node need no service-account token.
      '--disable-admission-plugins=ServiceAccount',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${auth.saKey}`,
      `--service-account-signing-key-file=${auth.saKey}`,
      '--profiling=false',
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${auditLogPath(stateDir)}`,
      '--audit-log-format=json',
      '--audit-log-maxsize=500',
      '--audit-log-maxbackup=1',
      '--v=1',
    ];
    // The apiserver writes its self-signed serving certificate (with its CA) here before it listens,
    // and reuses it when it starts again.
    const servingCert = join(pki, 'apiserver.crt');
    const startApiServer = async (): Promise<ManagedProcess> => {
      const proc = startProcess('kube-apiserver', tools.kubeApiserver, apiServerArgs, {
        logFile: join(logs, 'kube-apiserver.log'),
      });
      processes.splice(1, 0, proc); // after etcd, before the controller manager, for stop()'s order
      await waitUntilReady(
        proc,
        async () => existsSync(servingCert) && httpGetOk(`${apiServerUrl}/readyz`, servingCert),
        { timeoutMs: 120_000 },
      );
      return proc;
    };
    let apiserver = await startApiServer();
    const restartApiServer = async (whileDown: () => Promise<void> = async () => {}) => {
      await apiserver.stop();
      processes.splice(processes.indexOf(apiserver), 1);
      try {
        await whileDown();
      } finally {
        apiserver = await startApiServer();
      }
    };

    const kubeconfig = join(stateDir, 'kubeconfig');
    writeFileSync(kubeconfig, renderKubeconfig(apiServerUrl, servingCert, auth.token), { mode: 0o600 });

    const kcm = startProcess(
      'kube-controller-manager',
      tools.kubeControllerManager,
      [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--use-service-account-credentials=false',
        `--service-account-private-key-file=${auth.saKey}`,
        `--root-ca-file=${servingCert}`,
        '--bind-address=127.0.0.1',
        '--secure-port=0',
        // The kubelet stand-in posts no node heartbeats; without this the node would be tainted
        // unreachable and its pods evicted after a few minutes.
        '--controllers=*,-node-lifecycle-controller,-node-ipam-controller,-node-route-controller,-cloud-node-lifecycle-controller,-service-lb-controller,-persistentvolume-attach-detach-controller',
        '--v=1',
      ],
      { logFile: join(logs, 'kube-controller-manager.log') },
    );
    processes.push(kcm);
    // The service-account controller creating "default" shows the controllers are running.
    await waitUntilReady(kcm, () => defaultServiceAccountExists(apiServerUrl, servingCert, auth.token), {
      timeoutMs: 60_000,
    });

    return { apiServerUrl, kubeconfig, processes, restartApiServer, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function defaultServiceAccountExists(server: string, caFile: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/api/v1/namespaces/default/serviceaccounts/default`,
      { ca: readFileSync(caFile), headers: { Authorization: `Bearer ${token}` }, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

// The product's image, really built and run (issue #14). scripts/build-image.sh assembles the root
// filesystem (Debian runtime libraries, Node 20, production dependencies, the compiled code, a
// non-root user); this file runs the worker's entrypoint from it the way a container runtime
// would: in its own mount and PID namespaces, chrooted, as uid 10001, with the root filesystem
// read-only and a tmpfs on /tmp (the chart's readOnlyRootFilesystem and emptyDir). It shares the
// host's network, so it reaches the shared stack on loopback, and must poll its task queue.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { freePort } from '../../stack/ports.js';
import { repoRoot } from '../../stack/tools.js';
import { eventually, stackInfo } from '../support/cluster.js';
import { closeTestClient, testClient } from '../support/temporal.js';

const root = repoRoot();
const rootfs = join(root, 'test-output', 'image', 'rootfs');
const taskQueue = `image-${randomBytes(3).toString('hex')}`;
let container: ChildProcess | undefined;
let exited: Promise<void> | undefined;
let logFile = '';
let workerPid: number | undefined;
// Unref'd: a pending fallback timer must not keep jest alive after the worker stopped.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += sizeOf(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

beforeAll(() => {
  const t0 = performance.now();
  execFileSync('bash', [join(root, 'scripts', 'build-image.sh'), rootfs], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(
    `[image] rootfs assembled in ${((performance.now() - t0) / 1000).toFixed(1)}s, ` +
      `${(sizeOf(rootfs) / 1024 / 1024).toFixed(0)} MiB\n`,
  );
}, 300_000);

afterAll(async () => {
  // SIGTERM to the worker drains it like a pod's stop; unshare itself does not pass SIGTERM on,
  // but kills its child when it dies (--kill-child), so SIGKILL is the fallback.
  if (workerPid) process.kill(workerPid, 'SIGTERM');
  const stopped = await Promise.race([exited?.then(() => true), sleep(30_000).then(() => false)]);
  if (!stopped && container?.exitCode === null) container.kill('SIGKILL');
  await exited;
  await closeTestClient();
});

test('the image holds Node 20, the entrypoints and a non-root user, and no dev dependencies or tests', () => {
  const version = execFileSync(join(rootfs, 'usr/local/bin/node'), ['--version'], { encoding: 'utf8' });
  expect(version).toMatch(/^v20\./);
  for (const entry of ['pgbtls-worker', 'pgbtls-watcher', 'pgbtls-provisioner']) {
    expect(statSync(join(rootfs, 'usr/local/bin', entry)).mode & 0o111).toBeTruthy();
  }
  expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^pgbtls:x:10001:10001:/m);
  for (const dev of ['jest', 'typescript', 'eslint', 'ts-jest', 'playwright-core']) {
    expect(existsSync(join(rootfs, 'app/node_modules', dev))).toBe(false);
  }
  expect(existsSync(join(rootfs, 'app/dist/test'))).toBe(false);
  expect(existsSync(join(rootfs, 'app/dist/stack'))).toBe(false);
});

test('the worker runs from the image as uid 10001 on a read-only root and polls its task queue', async () => {
  const info = stackInfo();
  const [health, metrics] = [await freePort(), await freePort()];
  const secrets = join(root, 'test-output', 'image', 'secrets');
  mkdirSync(secrets, { recursive: true });
  // As the kubelet projects a Secret volume with the pod's fsGroup: group-readable by 10001.
  copyFileSync(info.kubeconfig, join(secrets, 'kubeconfig'));
  chownSync(join(secrets, 'kubeconfig'), 0, 10001);
  chmodSync(join(secrets, 'kubeconfig'), 0o440);
  // What a container runtime does, step by step: private mounts, the image's root read-only,
  // a writable /tmp, /proc and /dev, the kubeconfig as a mounted Secret, then the entrypoint.
  const script = [
    'set -e',
    `R=${rootfs}`,
    'mount --bind "$R" "$R"',
    'mount -o remount,bind,ro "$R"',
    'mount -t tmpfs -o size=64m tmpfs "$R/tmp"',
    'mount -t proc proc "$R/proc"',
    'mount --rbind /dev "$R/dev"',
    `mount --bind -o ro ${secrets} "$R/etc/pgbtls"`,
    'exec chroot --userspec=10001:10001 "$R" /usr/local/bin/pgbtls-worker',
  ].join('\n');
  mkdirSync(join(root, 'test-output', 'image'), { recursive: true });
  logFile = join(root, 'test-output', 'image', 'worker.log');
  const out = openSync(logFile, 'w');
  container = spawn('unshare', ['--mount', '--pid', '--fork', '--kill-child', 'sh', '-c', script], {
    stdio: ['ignore', out, out],
    // The image's environment only: nothing of the host's leaks in.
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      KUBECONFIG: '/etc/pgbtls/kubeconfig',
      TEMPORAL_ADDRESS: info.temporal.address,
      TEMPORAL_NAMESPACE: info.temporal.namespace,
      PGBTLS_TASK_QUEUE: taskQueue,
      PGBTLS_HEALTH_ADDRESS: `127.0.0.1:${health}`,
      PGBTLS_METRICS_ADDRESS: `127.0.0.1:${metrics}`,
    },
  });
  const child = container;
  exited = new Promise((resolve) => child.once('exit', () => resolve()));
  const log = () => readFileSync(logFile, 'utf8');
  await eventually(
    async () => {
      if (child.exitCode !== null) {
        process.stdout.write(`[image] worker exited (${child.exitCode}):\n${log()}\n`);
        throw new Error(`the worker exited with ${child.exitCode}; its log is above`);
      }
      return log().includes('worker running');
    },
    { what: 'the worker from the image to start', timeoutMs: 90_000 },
  );
  // The worker is the forked child of unshare (sh and chroot exec into it).
  const pid = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' }).trim();
  workerPid = Number(pid);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  expect(status).toMatch(/^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
  const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === '/');
  expect(rootMount?.split(' ')[5]).toMatch(/^ro\b/);
  expect((await fetch(`http://127.0.0.1:${health}/healthz`)).status).toBe(200);
  const client = await testClient();
  const pollers = await eventually(
    async () => {
      const described = await client.workflowService.describeTaskQueue({
        namespace: info.temporal.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      return described.pollers?.length ? described.pollers : undefined;
    },
    { what: `a poller on ${taskQueue}`, timeoutMs: 30_000 },
  );
  expect(pollers.length).toBeGreaterThan(0);
  const metricsText = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
  expect(metricsText).toMatch(/temporal_/);
});

// `npm run bench`: the fleet benchmark (a developer tool, not part of `npm test`). N PgBouncers of R
// replicas on the local stack, one ops request per pooler per wave, all created at once; before
// each fleet wave one pooler alone does the same, as the yardstick. Per wave it measures wall time,
// created → workflow started and created → Successful, failures, the API requests each component
// made (from the API server's audit log, by user agent), CPU seconds of every stack process (from
// /proc), Temporal history events and bytes, and the worker's and watcher's peak RSS. Writes JSON
// to bench-results/; `--compare A B` prints the ratios between two runs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { CERT_MANAGER_GROUP, KUBEDB_GROUP, OPS_GROUP, type PgBouncerOpsRequest } from '../lib/api/types.js';
import { createSelfSignedCA } from '../lib/certificates/index.js';
import { defaultStateDir } from '../lib/config.js';
import { createKube } from '../lib/kube/kube.js';
import { createLogger } from '../lib/log.js';
import { auditLogPath } from '../stack/control-plane.js';
import type { StackInfo } from '../stack/stack-info.js';
import { startStack, type RunningStack } from '../stack/stack.js';
import { repoRoot } from '../stack/tools.js';
import { workflowIdFor } from '../workflows/ids.js';
import { compare, printWave, type Sample, type WaveResult } from './report.js';

const WAVES = ['add', 'rotate-reload', 'rotate-restart', 'change-issuer', 'remove'] as const;
type Wave = (typeof WAVES)[number];
const TERMINAL = new Set(['Successful', 'Failed', 'Skipped']);
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks

const { values } = parseArgs({
  options: {
    poolers: { type: 'string', short: 'n', default: '30' },
    replicas: { type: 'string', short: 'r', default: '3' },
    waves: { type: 'string', default: WAVES.join(',') },
    'state-dir': { type: 'string' },
    label: { type: 'string', default: 'run' },
    'wave-timeout': { type: 'string', default: '1200' },
    solo: { type: 'boolean', default: true },
    'no-solo': { type: 'boolean', default: false },
    compare: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

function die(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

if (values.compare) {
  const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('-'));
  if (!a || !b) die('--compare needs two result files: npm run bench -- --compare A.json B.json');
  process.stdout.write(compare(JSON.parse(readFileSync(a, 'utf8')), JSON.parse(readFileSync(b, 'utf8'))));
  process.exit(0);
}

const poolers = Number(values.poolers);
const replicas = Number(values.replicas);
if (!Number.isInteger(poolers) || poolers < 1) die(`--poolers: "${values.poolers}" is not a positive integer`);
if (!Number.isInteger(replicas) || replicas < 1) die(`--replicas: "${values.replicas}" is not a positive integer`);
const waves = values.waves.split(',').map((w) => w.trim()) as Wave[];
for (const w of waves) if (!WAVES.includes(w)) die(`--waves: unknown wave "${w}"; choose from ${WAVES.join(', ')}`);
const waveTimeoutMs = Number(values['wave-timeout']) * 1000;
const withSolo = values.solo && !values['no-solo'];

const root = repoRoot();
const resultsDir = join(root, 'bench-results');
mkdirSync(resultsDir, { recursive: true });
const logger = createLogger({ component: 'bench' });
const say = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

// ---- the stack: a running `npm start` (its stack.json names a live pid) or one of our own ----
function runningStack(stateDir: string): StackInfo | undefined {
  const file = join(stateDir, 'stack.json');
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
  try {
    process.kill(info.pid, 0);
  } catch {
    return undefined;
  }
  return info;
}

let ownStack: RunningStack | undefined;
let info = runningStack(resolve(values['state-dir'] ?? defaultStateDir(root)));
if (info) say(`using the running stack in ${info.stateDir}`);
else {
  const stateDir = resolve(values['state-dir'] ?? join(resultsDir, 'stack'));
  say(`no running stack: starting one in ${stateDir}`);
  ownStack = await startStack({ stateDir, fresh: true, ephemeralTemporalPorts: true, withWorker: true, logger });
  info = ownStack.info;
}
const stack: StackInfo = info;
if (!stack.pids?.worker || !stack.pids.watcher)
  die(`${stack.stateDir}/stack.json names no worker/watcher pids: restart npm start with this checkout's code`);
const auditLog = auditLogPath(stack.stateDir);
if (!existsSync(auditLog)) die(`no audit log at ${auditLog}: restart npm start with this checkout's code`);

const kube = createKube(stack.kubeconfig, { userAgent: 'pgbtls-bench' });
const temporal = new Client({
  connection: await Connection.connect({ address: stack.temporal.address }),
  namespace: stack.temporal.namespace,
});
const namespace = `bench-${Date.now().toString(36)}`;

// ---- /proc readers ----
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
  } catch {
    return NaN;
  }
}
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
/** A process's own CPU plus its children's (the stand-in's pgbouncers are children; counted apart). */
const cpuAll = () => Object.fromEntries(Object.entries(stack.pids!).map(([name, pid]) => [name, cpuSeconds(pid)]));

// ---- setup: namespace, two CA issuers, the backend, the poolers ----
async function setup(names: string[]): Promise<void> {
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  for (const issuer of ['ca-a', 'ca-b']) {
    const ca = await createSelfSignedCA({
      commonName: `${issuer} bench CA`,
      algorithm: 'RSA',
      size: 2048,
      notAfter: new Date(Date.now() + 365 * 86400_000),
    });
    await kube.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: `${issuer}-ca` },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': ca.certPem, 'tls.key': ca.keyPem },
      },
    });
    await kube.custom.createNamespacedCustomObject({
      group: CERT_MANAGER_GROUP,
      version: 'v1',
      namespace,
      plural: 'issuers',
      body: {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Issuer',
        metadata: { name: issuer },
        spec: { ca: { secretName: `${issuer}-ca` } },
      },
    });
  }
  const pg = stack.postgres;
  await kube.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'pg-auth' }, stringData: { username: pg.user, password: pg.password } },
  });
  await kube.custom.createNamespacedCustomObject({
    group: 'appcatalog.appscode.com',
    version: 'v1',
    namespace,
    plural: 'appbindings',
    body: {
      apiVersion: 'appcatalog.appscode.com/v1',
      kind: 'AppBinding',
      metadata: { name: 'pg' },
      spec: {
        type: 'kubedb.com/postgres',
        clientConfig: { url: `postgres://${pg.host}:${pg.port}` },
        secret: { name: 'pg-auth' },
      },
    },
  });
  for (const name of names) {
    await kube.custom.createNamespacedCustomObject({
      group: KUBEDB_GROUP,
      version: 'v1',
      namespace,
      plural: 'pgbouncers',
      body: {
        apiVersion: 'kubedb.com/v1',
        kind: 'PgBouncer',
        metadata: { name },
        spec: { replicas, database: { databaseName: 'postgres', databaseRef: { name: 'pg' } } },
      },
    });
  }
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const list = (await kube.custom.listNamespacedCustomObject({
      group: KUBEDB_GROUP,
      version: 'v1',
      namespace,
      plural: 'pgbouncers',
    })) as { items: { status?: { phase?: string } }[] };
    const ready = list.items.filter((p) => p.status?.phase === 'Ready').length;
    if (ready === names.length) return;
    if (Date.now() > deadline) die(`only ${ready} of ${names.length} PgBouncers became Ready in 15 minutes`);
    await sleep(2000);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function requestSpec(wave: Wave): { spec: Partial<PgBouncerOpsRequest['spec']>; annotations?: Record<string, string> } {
  const issuerRef = (name: string) => ({ apiGroup: 'cert-manager.io' as const, kind: 'Issuer' as const, name });
  switch (wave) {
    case 'add':
      return { spec: { tls: { issuerRef: issuerRef('ca-a') } } };
    case 'rotate-reload':
      return { spec: { tls: { rotateCertificates: true } } };
    case 'rotate-restart':
      return { spec: { tls: { rotateCertificates: true } }, annotations: { 'pgbtls.dev/force-restart': 'true' } };
    case 'change-issuer':
      return { spec: { tls: { issuerRef: issuerRef('ca-b') } } };
    case 'remove':
      return { spec: { tls: { remove: true } } };
  }
}

// ---- the audit log: what each component asked of the API server ----
function auditOffset(): number {
  try {
    return readFileSync(auditLog).length;
  } catch {
    return 0;
  }
}
interface AuditEvent {
  verb: string;
  userAgent?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string };
  requestReceivedTimestamp?: string;
}
/** Component name from the user agent: ours carry `pgbtls-<component>/<version>`. */
function componentOf(e: AuditEvent): string {
  const ua = e.userAgent ?? '';
  if (ua.startsWith('pgbtls-')) return ua.split('/')[0].slice('pgbtls-'.length);
  if (ua.startsWith('kube-controller-manager')) return 'kube-controller-manager';
  if (e.user?.username?.startsWith('system:apiserver')) return 'kube-apiserver';
  return `other (${ua.split(' ')[0] || e.user?.username || '?'})`;
}
function auditSince(offset: number, sinceMs: number): Record<string, Record<string, number>> {
  const text = readFileSync(auditLog).subarray(offset).toString('utf8');
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    if (!line) continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    if (e.requestReceivedTimestamp && Date.parse(e.requestReceivedTimestamp) < sinceMs) continue;
    if (!e.objectRef?.resource) continue; // /healthz, discovery
    const what = `${e.verb} ${e.objectRef.resource}${e.objectRef.subresource ? '/' + e.objectRef.subresource : ''}`;
    const c = (out[componentOf(e)] ??= {});
    c[what] = (c[what] ?? 0) + 1;
  }
  return out;
}

// ---- one batch of requests (the solo pooler, or the fleet) ----
async function runBatch(wave: Wave, targets: string[]): Promise<Sample> {
  const { spec, annotations } = requestSpec(wave);
  const offset = auditOffset();
  const cpu0 = cpuAll();
  const peakRss: Record<string, number> = { worker: 0, watcher: 0 };
  const sampler = setInterval(() => {
    for (const name of ['worker', 'watcher'] as const)
      peakRss[name] = Math.max(peakRss[name], rssMb(stack.pids![name]) || 0);
  }, 500);
  const t0 = Date.now();
  const created = new Map<string, { at: number; uid: string }>();
  await Promise.all(
    targets.map(async (pb) => {
      const name = `${wave}-${pb}`;
      const at = Date.now();
      const obj = (await kube.custom.createNamespacedCustomObject({
        group: OPS_GROUP,
        version: 'v1alpha1',
        namespace,
        plural: 'pgbounceropsrequests',
        body: {
          apiVersion: 'ops.kubedb.com/v1alpha1',
          kind: 'PgBouncerOpsRequest',
          metadata: { name, ...(annotations ? { annotations } : {}) },
          spec: { type: 'ReconfigureTLS', databaseRef: { name: pb }, timeout: '5m', ...spec },
        },
      })) as PgBouncerOpsRequest;
      created.set(name, { at, uid: obj.metadata.uid! });
    }),
  );
  const ended = new Map<string, { at: number; phase: string; reason?: string }>();
  const deadline = t0 + waveTimeoutMs;
  while (ended.size < targets.length && Date.now() < deadline) {
    await sleep(targets.length === 1 ? 200 : 500);
    const list = (await kube.custom.listNamespacedCustomObject({
      group: OPS_GROUP,
      version: 'v1alpha1',
      namespace,
      plural: 'pgbounceropsrequests',
    })) as { items: PgBouncerOpsRequest[] };
    for (const r of list.items) {
      const name = r.metadata.name!;
      const phase = r.status?.phase ?? '';
      if (!created.has(name) || ended.has(name) || !TERMINAL.has(phase)) continue;
      const failed = r.status?.conditions?.at(-1);
      ended.set(name, { at: Date.now(), phase, reason: phase === 'Successful' ? undefined : failed?.message });
    }
  }
  const wallSeconds = (Math.max(...[...ended.values()].map((e) => e.at), t0) - t0) / 1000;
  clearInterval(sampler);
  await sleep(1500); // the audit log and visibility catch up
  const cpu1 = cpuAll();

  // Temporal: every run of each request's workflow (a waiting request may continue as new).
  const startedAfter = new Date(t0 - 1000).toISOString();
  const runs: { workflowId: string; startTime: Date; historyLength: number; historySize?: number; runId: string }[] =
    [];
  for await (const wf of temporal.workflow.list({
    query: `WorkflowType = 'reconfigureTLS' AND StartTime >= '${startedAfter}'`,
  })) {
    runs.push({
      workflowId: wf.workflowId,
      runId: wf.runId,
      startTime: wf.startTime,
      historyLength: wf.historyLength,
      historySize: wf.historySize,
    });
  }
  const eventKinds: Record<string, number> = {};
  const activities: Record<string, number> = {};
  let historyEvents = 0;
  let historyBytes = 0;
  const startedLatency: number[] = [];
  const successLatency: number[] = [];
  const failures: { request: string; phase: string; reason?: string }[] = [];
  for (const [name, c] of created) {
    const id = workflowIdFor({ namespace, name, uid: c.uid });
    const mine = runs.filter((r) => r.workflowId === id);
    if (mine.length) startedLatency.push((Math.min(...mine.map((r) => r.startTime.getTime())) - c.at) / 1000);
    for (const r of mine) {
      historyEvents += r.historyLength;
      historyBytes += r.historySize ?? 0;
    }
    const end = ended.get(name);
    if (end?.phase === 'Successful') successLatency.push((end.at - c.at) / 1000);
    else failures.push({ request: name, phase: end?.phase ?? 'not finished', reason: end?.reason });
  }
  // What the events are, from one request's histories (all requests of a wave take the same path).
  const first = [...created.entries()][0];
  const sampleId = workflowIdFor({ namespace, name: first[0], uid: first[1].uid });
  for (const r of runs.filter((x) => x.workflowId === sampleId)) {
    const history = await temporal.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
    for (const ev of history.events ?? []) {
      const kind = Object.keys(ev).find((k) => k.endsWith('EventAttributes') && (ev as Record<string, unknown>)[k]);
      if (kind)
        eventKinds[kind.replace('EventAttributes', '')] = (eventKinds[kind.replace('EventAttributes', '')] ?? 0) + 1;
      const scheduled = ev.activityTaskScheduledEventAttributes?.activityType?.name;
      if (scheduled) activities[scheduled] = (activities[scheduled] ?? 0) + 1;
    }
  }
  const outcomes: Record<string, number> = {};
  for (const name of created.keys()) {
    const phase = ended.get(name)?.phase ?? 'not finished';
    outcomes[phase] = (outcomes[phase] ?? 0) + 1;
  }
  return {
    requests: targets.length,
    wallSeconds,
    createdToStarted: startedLatency,
    createdToSuccessful: successLatency,
    outcomes,
    failures,
    api: auditSince(offset, t0 - 500),
    cpuSeconds: Object.fromEntries(Object.keys(cpu1).map((k) => [k, round(cpu1[k] - cpu0[k], 2)])),
    history: { events: historyEvents, bytes: historyBytes, runs: runs.length, eventKinds, activities },
    peakRssMb: { worker: round(peakRss.worker, 0), watcher: round(peakRss.watcher, 0) },
  };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---- main ----
const fleet = Array.from({ length: poolers }, (_, i) => `pb-${String(i).padStart(3, '0')}`);
const solo = 'solo';
const results: WaveResult[] = [];
const started = new Date();
let exitCode = 0;
try {
  say(`namespace ${namespace}: ${poolers} PgBouncers × ${replicas} replicas${withSolo ? ' + 1 alone' : ''}`);
  const t = Date.now();
  await setup(withSolo ? [...fleet, solo] : fleet);
  say(`all Ready in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  for (const wave of waves) {
    let soloSample: Sample | undefined;
    if (withSolo) {
      say(`${wave}: one pooler alone`);
      soloSample = await runBatch(wave, [solo]);
      await sleep(2000);
    }
    say(`${wave}: ${poolers} poolers at once`);
    const sample = await runBatch(wave, fleet);
    const result: WaveResult = { wave, poolers, replicas, solo: soloSample, fleet: sample };
    results.push(result);
    process.stdout.write(printWave(result));
    if (sample.failures.length) exitCode = 1;
    await sleep(3000);
  }
} finally {
  const file = join(
    resultsDir,
    `${values.label}-${poolers}x${replicas}-${started.toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(
    file,
    JSON.stringify(
      { label: values.label, startedAt: started.toISOString(), poolers, replicas, namespace, waves: results },
      null,
      2,
    ) + '\n',
  );
  say(`results in ${file}`);
  await temporal.connection.close();
  await ownStack?.stop();
}
process.exit(exitCode);

// What applications see through a pooler's Service while its TLS changes: real pgbouncer pods
// behind the stand-in's Service proxy (the local stack's kube-proxy), a real PostgreSQL, and
// clients that hold sessions or connect per query, in session and in transaction pool mode. Each
// intent runs on both poolers at once; the counts are printed as a table per intent and mode.
// Goals (issue #16): no failed query for clients that reconnect; no dropped session when the
// pods reload; when they restart, only sessions that outlived the drain bound are dropped.
import { randomBytes } from 'node:crypto';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import { FORCE_RESTART_ANNOTATION } from '../../lib/planner/pods.js';
import { STAND_IN_ADDRESS_ANNOTATION } from '../support/kubelet/service-proxy.js';
import { startClientLoad, type LoadCounts } from '../support/client-load.js';
import { createTestNamespace, eventually, stackInfo, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import {
  closeTestClient,
  outcomeOf,
  startReconfigureTLS,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/temporal.js';
import { createCaIssuer, createOpsRequest, readOpsRequest } from '../support/tls-fixtures.js';

const kube = testKube();
const taskQueue = `drain-${randomBytes(3).toString('hex')}`;
const POOLERS = { session: 'pb-session', transaction: 'pb-transaction' } as const;
type Mode = keyof typeof POOLERS;
const REPLICAS = 2;
/** spec.timeout of every request: each drain waits at most half of it for the pod's sessions. */
const TIMEOUT = '16s';
const DRAIN_BOUND_MS = 8_000;
let namespace: string;
let worker: WorkerProcess;
const table: Record<string, Record<Mode, Partial<LoadCounts>>> = {};

beforeAll(async () => {
  namespace = await createTestNamespace('drain');
  const backend = stackInfo().postgres;
  await kube.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'backend-auth' }, stringData: { username: backend.user, password: backend.password } },
  });
  await createAppBinding(namespace, 'backend', {}, 'backend-auth', {
    url: `postgres://${backend.host}:${backend.port}`,
  });
  await createCaIssuer(namespace, 'ca-one');
  await createCaIssuer(namespace, 'ca-two');
  worker = await startWorkerProcess(taskQueue, { PGBTLS_BLIND_DRAIN_MS: '5000' }); // the default, as users get it
  for (const [mode, name] of Object.entries(POOLERS)) {
    await createPgBouncer(namespace, name, {
      replicas: REPLICAS,
      database: { databaseName: 'postgres', databaseRef: { name: 'backend' } },
      connectionPool: { poolMode: mode as Mode },
    });
  }
  for (const name of Object.values(POOLERS)) {
    await eventually(async () => (await readPgBouncer(namespace, name)).status?.phase === 'Ready', {
      what: `${name} Ready`,
      timeoutMs: 90_000,
    });
  }
});

afterAll(async () => {
  await worker?.stop();
  await closeTestClient();
  process.stdout.write(`[service-drain] ${JSON.stringify(table)}\n`);
});

/** The Service's address on the stand-in's proxy (its annotation; the port is the Service's). */
async function serviceAddress(name: string): Promise<{ host: string; port: number }> {
  return eventually(
    async () => {
      const svc = await kube.core.readNamespacedService({ name, namespace });
      const host = svc.metadata?.annotations?.[STAND_IN_ADDRESS_ANNOTATION];
      return host ? { host, port: svc.spec!.ports![0].port } : undefined;
    },
    { what: `Service ${name} proxied` },
  );
}

async function loadOn(mode: Mode) {
  const { user, password } = stackInfo().postgres;
  const at = await serviceAddress(POOLERS[mode]);
  return startClientLoad({ ...at, user, password, database: 'postgres' }, { holders: 3, perQuery: 2 });
}

/** Runs one request on both poolers at once, under load; returns the load counts per mode. */
async function intent(
  label: string,
  spec: Partial<PgBouncerOpsRequest['spec']>,
  annotations?: Record<string, string>,
): Promise<Record<Mode, { counts: LoadCounts; request: PgBouncerOpsRequest }>> {
  const modes = Object.keys(POOLERS) as Mode[];
  const loads = await Promise.all(modes.map(loadOn));
  await new Promise((r) => setTimeout(r, 1_500)); // every client connected and querying before the change
  const outcomes = await Promise.all(
    modes.map(async (mode) => {
      const ref = await createOpsRequest(
        namespace,
        `${label}-${mode}`,
        { databaseRef: { name: POOLERS[mode] }, timeout: TIMEOUT, ...spec },
        annotations,
      );
      const outcome = await outcomeOf(await startReconfigureTLS(taskQueue, ref));
      return { ...outcome, request: await readOpsRequest(ref) };
    }),
  );
  await new Promise((r) => setTimeout(r, 1_000)); // the clients see the settled state too
  const counts = await Promise.all(loads.map((l) => l.stop()));
  const out = {} as Record<Mode, { counts: LoadCounts; request: PgBouncerOpsRequest }>;
  table[label] = {} as (typeof table)[string];
  modes.forEach((mode, i) => {
    expect({ mode, failure: outcomes[i].failure?.message }).toEqual({ mode, failure: undefined });
    out[mode] = { counts: counts[i], request: outcomes[i].request };
    table[label][mode] = { ...counts[i], dropped: undefined } as (typeof table)[string][Mode];
  });
  return out;
}

const methods = (request: PgBouncerOpsRequest) =>
  (request.status?.conditions ?? [])
    .map((c) => /^(ReloadPod|DrainPod|CheckPodReady)--/.exec(c.type)?.[1])
    .filter(Boolean);

/** Every intent: reconnecting clients lose no query, and the load really ran. */
function expectNoFailedQueries(results: Record<Mode, { counts: LoadCounts }>) {
  for (const [mode, { counts }] of Object.entries(results)) {
    expect({ mode, failedQueries: counts.failedQueries, errors: counts.errors }).toEqual({
      mode,
      failedQueries: 0,
      errors: expect.any(Array),
    });
    expect(counts.queries).toBeGreaterThan(20);
    expect(counts.heldQueries).toBeGreaterThan(20);
  }
}

/** A reload intent: no session drops, no held query fails, no pod restarts. */
function expectReloaded(results: Record<Mode, { counts: LoadCounts; request: PgBouncerOpsRequest }>) {
  expectNoFailedQueries(results);
  for (const [mode, { counts, request }] of Object.entries(results)) {
    expect({ mode, dropped: counts.droppedSessions, heldFailed: counts.heldFailedQueries }).toEqual({
      mode,
      dropped: 0,
      heldFailed: 0,
    });
    expect(methods(request)).toEqual(Array(REPLICAS).fill('ReloadPod'));
  }
}

/** A restart intent: each pod drained first; only sessions that outlived the drain bound dropped. */
function expectDrainedRestarts(
  results: Record<Mode, { counts: LoadCounts; request: PgBouncerOpsRequest }>,
  drainMs: number,
) {
  expectNoFailedQueries(results);
  for (const [mode, { counts, request }] of Object.entries(results)) {
    expect({ mode, methods: methods(request) }).toEqual({
      mode,
      methods: Array(REPLICAS).fill(['DrainPod', 'CheckPodReady']).flat(),
    });
    // Holders never leave on their own: each dropped session had been open at least a whole drain.
    for (const d of counts.dropped)
      expect({ mode, outlivedDrain: d.livedMs >= drainMs }).toEqual({ mode, outlivedDrain: true });
    expect(counts.droppedSessions).toBeLessThanOrEqual(3 * REPLICAS);
  }
}

describe('clients through the Service while TLS changes', () => {
  test('the Service routes to its Ready pods at a stable address', async () => {
    const before = await serviceAddress(POOLERS.session);
    const load = await loadOn('session');
    await new Promise((r) => setTimeout(r, 500));
    const counts = await load.stop();
    expect(counts.queries).toBeGreaterThan(0);
    expect(counts.failedConnects + counts.failedQueries).toBe(0);
    expect(before.host).toMatch(/^127\.\d+\.255\.\d+$/);
  });

  test('add TLS (restart, each pod drained first)', async () => {
    const results = await intent('add', {
      tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca-one' }, sslMode: 'require' },
    });
    // No TLS admin console before: each pod is out of the Service for min(bound, 5 s).
    expectDrainedRestarts(results, 5_000);
  });

  test('rotate (reload)', async () => {
    expectReloaded(await intent('rotate', { tls: { rotateCertificates: true } }));
  });

  test('rotate with pgbtls.dev/force-restart (restart; drain watched through the admin console)', async () => {
    const results = await intent(
      'rotate-forced',
      { tls: { rotateCertificates: true } },
      { [FORCE_RESTART_ANNOTATION]: 'true' },
    );
    expectDrainedRestarts(results, DRAIN_BOUND_MS);
    for (const { request } of Object.values(results)) {
      const drained = request.status!.conditions!.filter((c) => c.type.startsWith('DrainPod--'));
      // The holders stayed: the drain waited the whole bound and says so.
      for (const c of drained)
        expect(c.message).toMatch(/client\(s\) at the start, 0 arrived late, \d+ still open after/);
    }
  });

  test('change issuer (reload: sslMode require checks no client certificate)', async () => {
    expectReloaded(
      await intent('change-issuer', {
        tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca-two' } },
      }),
    );
  });

  test('remove TLS (reload)', async () => {
    expectReloaded(await intent('remove', { tls: { remove: true } }));
  });
});

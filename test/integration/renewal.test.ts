// Unattended renewal on the real stack: certificates of 1h renewed 59m50s before expiry (valid
// input, no test switch), so a renewal falls due ~10 s after each issuance. The test only creates
// PgBouncers and the first add-TLS request; the renewal controller and the watcher (in-process)
// and worker processes do the rest.
import { randomBytes } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startRenewalController, type RenewalController } from '../../client/renewal-controller.js';
import { startWatcher, type Watcher } from '../../client/watcher.js';
import { createRenewalRequest } from '../../activities/kubernetes/renewal.js';
import { KUBEDB_GROUP, OPS_GROUP, type PgBouncerOpsRequest } from '../../lib/api/types.js';
import { describeCertificate } from '../../lib/certificates/index.js';
import type { Config } from '../../lib/config.js';
import { mergePatch } from '../../lib/kube/kube.js';
import { probeServedTls } from '../../lib/pgbouncer/tls-probe.js';
import {
  MAINTENANCE_WINDOW_ANNOTATION,
  RENEWAL_EXPIRY_LABEL,
  RENEWAL_OF_LABEL,
  RENEWAL_WORKFLOW_ANNOTATION,
  renewalWorkflowIdFor,
  SAFETY_MARGIN_ANNOTATION,
} from '../../lib/renewal/names.js';
import { expiryStamp, planRenewal } from '../../lib/renewal/policy.js';
import { renewalStatusQuery, type RenewalStatus } from '../../workflows/renewal-signals.js';
import { runPgbtls } from '../support/cli.js';
import { createTestNamespace, eventually, stackConfig, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { recordHistory } from '../support/histories.js';
import { captureLogs } from '../support/log-capture.js';
import { closeTestClient, startWorkerProcess, testClient, type WorkerProcess } from '../support/temporal.js';
import { createCaIssuer, createOpsRequest, readOpsRequest, secretText } from '../support/tls-fixtures.js';

const kube = testKube();
const taskQueue = `renew-${randomBytes(3).toString('hex')}`;
const logs = captureLogs({ test: 'renewal' });
const ONE_HOUR = { duration: '1h', renewBefore: '59m50s' };
const report: Record<string, unknown> = {};
let namespace: string;
let config: Config;
let client: Client;
let caPem: string;
const workers: WorkerProcess[] = [];
const stoppers: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  namespace = await createTestNamespace('renew');
  await createAppBinding(namespace);
  caPem = await createCaIssuer(namespace, 'ca-one');
  config = stackConfig({ taskQueue, watchNamespaces: [namespace] });
  client = await testClient();
  workers.push(await startWorkerProcess(taskQueue));
  await startControllers();
});

afterAll(async () => {
  for (const s of stoppers.reverse()) await s.stop();
  for (const w of workers) await w.stop();
  await closeTestClient();
  process.stdout.write(`[renewal] ${JSON.stringify(report)}\n`);
});

/** One trigger watcher and one renewal controller, as watcher-main.ts runs them. */
async function startControllers(): Promise<void> {
  const deps = { kube, config, logger: logs.logger, client, maxBackoffMs: 2_000 };
  const watcher: Watcher = await startWatcher(deps);
  const renewals: RenewalController = await startRenewalController(deps);
  stoppers.push(watcher, renewals);
}

async function pgbouncerWithTls(
  name: string,
  { annotations = {}, issuer = 'ca-one', renewBefore = ONE_HOUR.renewBefore } = {},
): Promise<string> {
  await createPgBouncer(namespace, name);
  if (Object.keys(annotations).length) await annotate(name, annotations);
  await eventually(async () => (await readPgBouncer(namespace, name)).status?.phase === 'Ready', {
    what: `${name} Ready`,
    timeoutMs: 90_000,
  });
  const add = await createOpsRequest(namespace, `${name}-add-tls`, {
    databaseRef: { name },
    tls: {
      issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: issuer },
      certificates: [
        { alias: 'server', duration: '1h', renewBefore },
        { alias: 'client', duration: '1h', renewBefore },
      ],
    },
  });
  await eventually(async () => (await readOpsRequest(add)).status?.phase === 'Successful', {
    what: `${add.name} Successful`,
    timeoutMs: 120_000,
  });
  return (await readPgBouncer(namespace, name)).metadata.uid!;
}

async function annotate(name: string, annotations: Record<string, string | null>): Promise<void> {
  await kube.custom.patchNamespacedCustomObject(
    { group: KUBEDB_GROUP, version: 'v1', plural: 'pgbouncers', namespace, name, body: { metadata: { annotations } } },
    mergePatch,
  );
}

async function renewalRequests(pb: string): Promise<PgBouncerOpsRequest[]> {
  const list = (await kube.custom.listNamespacedCustomObject({
    group: OPS_GROUP,
    version: 'v1alpha1',
    plural: 'pgbounceropsrequests',
    namespace,
    labelSelector: `${RENEWAL_OF_LABEL}=${pb}`,
  })) as { items: PgBouncerOpsRequest[] };
  return list.items;
}

const serverCert = async (pb: string) =>
  describeCertificate(await secretText(namespace, `${pb}-server-cert`, 'tls.crt'));

async function servedSerial(pb: string): Promise<string> {
  const pod = await kube.core.readNamespacedPod({ name: `${pb}-0`, namespace });
  const served = await probeServedTls({
    address: pod.status!.podIP!,
    port: 5432,
    hostname: `${pb}-0.${pb}-pods.${namespace}.svc`,
    caBundle: caPem,
  });
  if (!served.offered) throw new Error(`${pb}-0 offers no TLS`);
  return served.leaf.serialHex;
}

function renewal(pb: string, uid: string): WorkflowHandle {
  return client.workflow.getHandle(renewalWorkflowIdFor({ namespace, name: pb, uid }));
}

async function renewalStatus(pb: string, uid: string): Promise<RenewalStatus> {
  return renewal(pb, uid).query(renewalStatusQuery);
}

/** The renewal request for one expiry, once it is Successful; fails if a second one exists. */
async function renewedOnce(pb: string, notAfter: string, timeoutMs = 90_000): Promise<PgBouncerOpsRequest> {
  const stamp = expiryStamp(notAfter);
  const done = await eventually(
    async () =>
      (await renewalRequests(pb)).find(
        (r) => r.metadata.labels?.[RENEWAL_EXPIRY_LABEL] === stamp && r.status?.phase === 'Successful',
      ),
    { what: `the renewal of ${pb}'s certificate expiring ${notAfter} to succeed`, timeoutMs, intervalMs: 200 },
  );
  expect((await renewalRequests(pb)).filter((r) => r.metadata.labels?.[RENEWAL_EXPIRY_LABEL] === stamp)).toHaveLength(
    1,
  );
  return done;
}

/** `pgbtls <args>` against the stack; its standard output (a failure fails the test). */
async function pgbtls(...args: string[]): Promise<string> {
  const run = await runPgbtls(taskQueue, args);
  if (run.code !== 0) throw new Error(`pgbtls ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}

/** The run ids of a workflow id, oldest first. */
async function runsOf(workflowId: string): Promise<string[]> {
  const runs: { runId: string; startTime: Date }[] = [];
  for await (const e of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(e);
  return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime()).map((r) => r.runId);
}

const successfulAt = (r: PgBouncerOpsRequest) =>
  Date.parse(r.status?.conditions?.find((c) => c.type === 'Successful')?.lastTransitionTime ?? '');

describe('renewal of pb (1h certificates, renewBefore 59m50s)', () => {
  let uid = '';
  let firstRenewal: PgBouncerOpsRequest;

  test('a pooler gets TLS; ~10 s later a renewal request appears by itself and runs to Successful', async () => {
    uid = await pgbouncerWithTls('pb');
    const issued = await serverCert('pb');
    const servedBefore = await servedSerial('pb');
    expect(servedBefore).toBe(issued.serialHex);
    // The renewal time is the policy's: notAfter − renewBefore, 10 s after issuance. The add-TLS
    // request may still be rolling pods then; the renewal waits for it to end.
    const due = Date.parse(issued.notAfter) - (3_600_000 - 10_000);
    const added = successfulAt(await readOpsRequest({ namespace, name: 'pb-add-tls', uid: '' }));
    const fires = Math.max(due, added);

    firstRenewal = await renewedOnce('pb', issued.notAfter);
    const createdAt = Date.parse(String(firstRenewal.metadata.creationTimestamp));
    // Created by its timer (or the add's end): not before, and within a few seconds (1 s resolution).
    expect(createdAt).toBeGreaterThanOrEqual(due - 1_000);
    expect(createdAt - fires).toBeLessThan(8_000);
    report.timerToSuccessfulMs = successfulAt(firstRenewal) - fires;
    report.issuedToRequestMs = createdAt - (Date.parse(issued.notAfter) - 3_600_000);
    report.addTlsSuccessfulToRequestMs = createdAt - added;
    // Recognisable: name, label and an annotation linking it to its renewal workflow.
    expect(firstRenewal.metadata.name).toBe(`pb-renew-${expiryStamp(issued.notAfter)}-1`);
    expect(firstRenewal.metadata.annotations?.[RENEWAL_WORKFLOW_ANNOTATION]).toBe(
      renewalWorkflowIdFor({ namespace, name: 'pb', uid }),
    );
    expect(firstRenewal.spec.tls).toEqual({ rotateCertificates: true });

    // The served serial changed, and the next renewal is scheduled from the new notAfter.
    const renewed = await serverCert('pb');
    expect(renewed.serialHex).not.toBe(issued.serialHex);
    expect(await servedSerial('pb')).toBe(renewed.serialHex);
    await eventually(
      async () => {
        const s = await renewalStatus('pb', uid);
        return s.notAfter !== issued.notAfter && s.notAfter && Date.parse(s.notAfter) >= Date.parse(renewed.notAfter);
      },
      { what: 'the renewal to schedule from the new notAfter', timeoutMs: 30_000 },
    );
  });

  test('visible: gauges on the worker, searchable in the UI by PgBouncer', async () => {
    const metrics = await eventually(
      async () => {
        const text = await (await fetch(workers[0]!.metricsUrl)).text();
        return /pgbtls_certificate_expiry_timestamp_seconds\{/.test(text) && text;
      },
      { what: 'certificate gauges' },
    );
    const line = (name: string, alias: string) =>
      metrics
        .split('\n')
        .find(
          (l) =>
            l.startsWith(`${name}{`) &&
            l.includes(`alias="${alias}"`) &&
            l.includes(`namespace="${namespace}"`) &&
            l.includes('pgbouncer="pb"'),
        );
    for (const alias of ['server', 'client']) {
      expect(line('pgbtls_certificate_expiry_timestamp_seconds', alias)).toBeDefined();
      const value = Number(line('pgbtls_certificate_renewal_timestamp_seconds', alias)!.split(' ').at(-1));
      expect(value).toBeGreaterThan(Date.now() / 1000 - 3600);
    }
    const found: string[] = [];
    await eventually(
      async () => {
        found.length = 0;
        for await (const e of client.workflow.list({
          query: `PgBouncer = "pb" AND Namespace = "${namespace}" AND OpsType = "CertificateRenewal"`,
        })) {
          found.push(e.workflowId);
        }
        return found.length > 0;
      },
      { what: 'renewal runs searchable by PgBouncer', timeoutMs: 15_000 },
    );
    expect(new Set(found)).toEqual(new Set([renewalWorkflowIdFor({ namespace, name: 'pb', uid })]));
    // The first run carries the controller's summary; every run's current details say when and why.
    const id = renewalWorkflowIdFor({ namespace, name: 'pb', uid });
    const first = await client.workflow.getHandle(id, (await runsOf(id))[0]).describe();
    expect(await first.staticSummary()).toMatch(/Certificate renewal of PgBouncer/);
    const details = await eventually(
      async () =>
        (await renewal('pb', uid).query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails,
      { what: 'current details', timeoutMs: 15_000 },
    );
    expect(details).toMatch(/Next renewal \S+ \(try \d+, as pb-renew-|Renewing/);
    expect(details).toMatch(
      /certificate expires .* and renews 59m 50s before \(spec\.tls\.certificates\[alias=(server|client)\]\.renewBefore\)/,
    );
  });

  test('two watchers and two workers racing create one request per expiry', async () => {
    await startControllers();
    workers.push(await startWorkerProcess(taskQueue));
    const now = await serverCert('pb');
    await renewedOnce('pb', now.notAfter);
    // Racing the request creation itself: two creators of the same plan make one request.
    const plan = planRenewal({
      pgbouncer: 'pb',
      now: Date.now(),
      certificates: [
        {
          alias: 'server',
          secretName: 'x',
          serialHex: '01',
          notBefore: '2030-01-01T00:00:00Z',
          notAfter: '2030-01-01T01:00:00Z',
        },
      ],
      attempts: [],
    });
    const target = { namespace, name: 'pb', uid };
    const raced = await Promise.all([1, 2, 3].map(() => createRenewalRequest(kube, target, plan, 'race')));
    expect(raced.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(raced.map((r) => r.name)).size).toBe(1);
    await kube.custom.deleteNamespacedCustomObject({
      group: OPS_GROUP,
      version: 'v1alpha1',
      plural: 'pgbounceropsrequests',
      namespace,
      name: plan.requestName,
    });
  });

  test('removing TLS stops it', async () => {
    const id = renewalWorkflowIdFor({ namespace, name: 'pb', uid });
    const remove = await createOpsRequest(namespace, 'pb-remove-tls', {
      databaseRef: { name: 'pb' },
      tls: { remove: true },
    });
    await eventually(async () => (await readOpsRequest(remove)).status?.phase === 'Successful', {
      what: 'TLS removed',
      timeoutMs: 120_000,
    });
    const result = (await client.workflow.getHandle(id).result()) as { stopped: string };
    expect(result.stopped).toMatch(/has no TLS/);
    const count = (await renewalRequests('pb')).length;
    await new Promise((r) => setTimeout(r, 12_000));
    expect((await renewalRequests('pb')).length).toBe(count);
    report.renewalsOfPb = count;
    const runs = await runsOf(id);
    report.renewalRunsOfPb = runs.length;
    // Histories: the first run (catch-up → timer → request → Successful → continue-as-new), the last (stopped).
    const first = client.workflow.getHandle(id, runs[0]);
    await recordHistory('renewal-first-run', first);
    await recordHistory('renewal-stopped-tls-removed', client.workflow.getHandle(id));
    report.historyEventsFirstRun = (await first.fetchHistory()).events?.length ?? 0;
    if (runs.length > 2) {
      // A middle run is one whole cycle: look, timer, request, polls, Successful, continue-as-new.
      const cycle = client.workflow.getHandle(id, runs[1]);
      await recordHistory('renewal-cycle', cycle);
      const events = (await cycle.fetchHistory()).events ?? [];
      report.historyEventsPerRenewalCycle = events.length;
    }
  });
});

describe('durability on pbd (renewBefore 59m30s: 30 s between issuance and renewal)', () => {
  test('a worker restart between scheduling and firing neither loses nor duplicates the renewal', async () => {
    const uid = await pgbouncerWithTls('pbd', { renewBefore: '59m30s' });
    const scheduled = await eventually(
      async () => {
        const s = await renewalStatus('pbd', uid);
        const ahead = s.state === 'waiting' && s.nextRenewal && Date.parse(s.nextRenewal) - Date.now() > 3_000;
        return ahead ? s : undefined;
      },
      { what: 'a scheduled renewal', timeoutMs: 60_000, intervalMs: 100 },
    );
    // Every worker goes (SIGKILL) before the timer fires, and stays away past it.
    for (const w of workers.splice(0)) await w.kill();
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(scheduled.nextRenewal!) - Date.now()) + 3_000));
    const stamp = expiryStamp(scheduled.notAfter!);
    const ofStamp = async () =>
      (await renewalRequests('pbd')).filter((r) => r.metadata.labels?.[RENEWAL_EXPIRY_LABEL] === stamp);
    expect(await ofStamp()).toEqual([]);
    const restartedAt = Date.now();
    workers.push(await startWorkerProcess(taskQueue));
    const renewed = await renewedOnce('pbd', scheduled.notAfter!);
    report.restartToRequestMs = Date.parse(String(renewed.metadata.creationTimestamp)) - restartedAt;
    await kube.custom.deleteNamespacedCustomObject({
      group: KUBEDB_GROUP,
      version: 'v1',
      plural: 'pgbouncers',
      namespace,
      name: 'pbd',
    });
    await client.workflow.getHandle(renewalWorkflowIdFor({ namespace, name: 'pbd', uid })).result();
  });
});

describe('maintenance window on pbw', () => {
  test('a closed window delays the renewal; the safety margin overrides it; deleting the PgBouncer stops it', async () => {
    // A window that opens 12 h from now (and lasts an hour): closed for the whole test.
    const opens = new Date(Date.now() + 12 * 3_600_000);
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const window = `* ${hhmm(opens)}-${hhmm(new Date(opens.getTime() + 3_600_000))}`;
    const uid = await pgbouncerWithTls('pbw', { annotations: { [MAINTENANCE_WINDOW_ANNOTATION]: window } });
    const issued = await serverCert('pbw');
    const scheduled = await eventually(
      async () => {
        const s = await renewalStatus('pbw', uid);
        return s.state === 'waiting' && s.notAfter === issued.notAfter && s;
      },
      { what: 'pbw renewal scheduled', timeoutMs: 30_000 },
    );
    // With 59m50s left at the renewal time the window (12 h away) would come after expiry: the
    // renewal waits until the default safety margin (10% of 1h) begins.
    const margin = (Date.parse(issued.notAfter) - Date.parse(issued.notBefore)) / 10;
    expect(scheduled.nextRenewal).toBe(new Date(Date.parse(issued.notAfter) - margin).toISOString());
    expect(scheduled.reasons.join('\n')).toMatch(/maintenance window opens only at/);
    await new Promise((r) => setTimeout(r, 15_000)); // past the unwindowed renewal time (+10 s)
    expect(await renewalRequests('pbw')).toEqual([]);

    // The CLI shows each certificate's notAfter and the next renewal, for the request and the list.
    const short = (t: string) => t.replace(/\.000Z$/, 'Z');
    const status = await pgbtls('status', `${namespace}/pbw-add-tls`);
    expect(status).toMatch(
      new RegExp(`expires:\\s+server ${short(issued.notAfter)}, next renewal ${short(scheduled.nextRenewal!)}`),
    );
    expect(status).toMatch(/expires:\s+client /);
    const list = await pgbtls('list', '-n', namespace);
    expect(list).toMatch(/NOT AFTER\s+NEXT RENEWAL/);
    expect(list.split('\n').find((l) => l.includes('pbw-add-tls'))).toContain(`server ${short(issued.notAfter)}`);

    // A safety margin longer than what is left: the window no longer holds it back.
    await annotate('pbw', { [SAFETY_MARGIN_ANNOTATION]: '1h' });
    await renewedOnce('pbw', issued.notAfter);

    const id = renewalWorkflowIdFor({ namespace, name: 'pbw', uid });
    await kube.custom.deleteNamespacedCustomObject({
      group: KUBEDB_GROUP,
      version: 'v1',
      plural: 'pgbouncers',
      namespace,
      name: 'pbw',
    });
    const result = (await client.workflow.getHandle(id).result()) as { stopped: string };
    expect(result.stopped).toMatch(/was deleted/);
    const runs = await runsOf(id);
    // One run when the deletion came before the renewal's continue-as-new, else the last one stopped.
    await recordHistory('renewal-window-and-margin', client.workflow.getHandle(id, runs[0]));
    if (runs.length > 1) await recordHistory('renewal-stopped-deleted', client.workflow.getHandle(id));
  });
});

describe('failures and the CA on pbf', () => {
  async function events(pb: string, reason: string) {
    const list = await kube.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.kind=PgBouncer,involvedObject.name=${pb},reason=${reason}`,
    });
    return list.items;
  }

  test('a CA near its own expiry is reported; a failed renewal is loud and retried as a new request', async () => {
    // A CA in the last third of its life: valid from 10 h ago for 12 h.
    await createCaIssuer(namespace, 'ca-short', {
      notBefore: new Date(Date.now() - 10 * 3_600_000),
      notAfter: new Date(Date.now() + 2 * 3_600_000),
    });
    const uid = await pgbouncerWithTls('pbf', { issuer: 'ca-short' });
    const [caEvent] = await eventually(
      async () => {
        const found = await events('pbf', 'CAExpiringSoon');
        return found.length ? found : undefined;
      },
      {
        what: 'a CAExpiringSoon Event on pbf',
        timeoutMs: 30_000,
      },
    );
    expect(caEvent!.type).toBe('Warning');
    expect(caEvent!.message).toMatch(
      /the CA of Issuer ca-short expires .*within the last third of its lifetime.*renew the CA/,
    );

    // Take the CA away: the next renewal request fails validation.
    await kube.core.deleteNamespacedSecret({ namespace, name: 'ca-short-ca' });
    const [failed] = await eventually(
      async () => {
        const found = await events('pbf', 'CertificateRenewalFailed');
        return found.length ? found : undefined;
      },
      { what: 'a CertificateRenewalFailed Event on pbf', timeoutMs: 60_000 },
    );
    expect(failed!.type).toBe('Warning');
    // 1h certificates always have less than 24 h left: every try says so.
    expect(failed!.message).toMatch(
      /renewal request pbf-renew-\S+-1 ended Failed: .*; a new try follows after a backoff\. URGENT: only .* left until the certificate expires \(.*less than 24 h\)/,
    );
    const status = await eventually(
      async () => {
        const s = await renewalStatus('pbf', uid);
        return s.state === 'waiting' && /1 earlier try failed/.test(s.reasons.join()) && s;
      },
      { what: 'the retry to be scheduled', timeoutMs: 30_000 },
    );
    expect(status.reasons.join()).toMatch(/retrying after 1m/);
    expect(Date.parse(status.nextRenewal!)).toBeGreaterThan(Date.now() + 20_000);
    expect(status.problems.join()).toMatch(/ca-short-ca/);
    // Whichever worker ran the activity counted it.
    const metrics = (await Promise.all(workers.map(async (w) => (await fetch(w.metricsUrl)).text()))).join('\n');
    const failures = metrics
      .split('\n')
      .filter((l) => l.startsWith('pgbtls_certificate_renewals') && l.includes('pgbouncer="pbf"'));
    expect(failures.join('\n')).toMatch(/outcome="Failed"/);
    await kube.custom.deleteNamespacedCustomObject({
      group: KUBEDB_GROUP,
      version: 'v1',
      plural: 'pgbouncers',
      namespace,
      name: 'pbf',
    });
  });
});

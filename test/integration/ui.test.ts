// The Temporal UI as the operator's console: a real browser (Debian's Chromium driven by
// playwright-core) filters runs by the PgBouncer search attribute, opens the run and finds the
// step summaries. A screenshot of each page is saved under test-output/ui/.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from '../../stack/tools.js';
import { workflowIdFor } from '../../workflows/ids.js';
import { createTestNamespace, eventually, stackInfo } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { closeTestClient, startReconfigureTLS, startWorkerProcess, type WorkerProcess } from '../support/temporal.js';
import { createCaIssuer, createOpsRequest } from '../support/tls-fixtures.js';

const taskQueue = `ui-${randomBytes(3).toString('hex')}`;
const shots = join(repoRoot(), 'test-output', 'ui');
let worker: WorkerProcess;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  worker = await startWorkerProcess(taskQueue);
  // The flags keep Chromium off the network: this machine reaches no host but its own.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await closeTestClient();
});

test('filter by PgBouncer, open the run, see the step summaries', async () => {
  const namespace = await createTestNamespace('ui');
  const pb = `pb-${randomBytes(2).toString('hex')}`;
  await createAppBinding(namespace);
  await createCaIssuer(namespace, 'ca');
  await createPgBouncer(namespace, pb, { replicas: 2 });
  await eventually(async () => (await readPgBouncer(namespace, pb)).status?.phase === 'Ready', { what: 'Ready' });
  const ref = await createOpsRequest(namespace, 'add-tls', {
    databaseRef: { name: pb },
    tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca' } },
  });
  const handle = await startReconfigureTLS(taskQueue, ref);
  await handle.result();

  // Tall enough for the whole timeline: the UI renders only the rows that fit the page.
  const page = await browser.newPage({ viewport: { width: 1400, height: 3200 } });
  const ui = stackInfo().temporal.uiUrl;
  await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(`PgBouncer="${pb}"`)}`);
  const link = page.getByText(workflowIdFor(ref)).first();
  await link.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(shots, 'workflows-filtered-by-pgbouncer.png') });
  await link.click();
  for (const summary of [
    'mint server certificate',
    `restart pod ${pb}-1`,
    `restart pod ${pb}-0`,
    `verify what pod ${pb}-0 serves`,
    `resume PgBouncer ${pb}`,
    'mark Successful',
  ]) {
    await page
      .getByText(summary)
      .first()
      .waitFor({ timeout: 30_000 })
      .catch(async (err: unknown) => {
        // What the page showed instead is the quickest clue when the UI changes.
        await page.screenshot({ path: join(shots, 'run-when-a-summary-was-missing.png'), fullPage: true });
        throw err;
      });
  }
  await page.screenshot({ path: join(shots, 'run-with-step-summaries.png'), fullPage: true });
  await page.close();
});

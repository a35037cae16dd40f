// Every committed history replays against the current workflow code, with no server: a change
// that would break runs in flight fails here, naming the history and its scenario.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { WORKFLOWS_PATH } from '../../worker/worker.js';
import { findKeyMaterial, HISTORIES_DIR } from '../support/histories.js';

const files = existsSync(HISTORIES_DIR)
  ? readdirSync(HISTORIES_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];
const scenarioOf = (file: string) => file.replace(/\.json$/, '');
const load = (file: string) => JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'));

let current: WorkflowBundle;
beforeAll(async () => {
  current = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
});

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

test('there are recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(9);
});

test.each(files)('history %s replays on the current workflow code', async (file) => {
  try {
    await Worker.runReplayHistory({ workflowBundle: current }, load(file), scenarioOf(file));
  } catch (err) {
    throw new Error(
      `test/histories/${file} (scenario "${scenarioOf(file)}") no longer replays: ${(err as Error).message}`,
      { cause: err },
    );
  }
});

test.each(files)('history %s holds no private-key material', (file) => {
  expect(findKeyMaterial(readFileSync(join(HISTORIES_DIR, file), 'utf8'))).toBeUndefined();
});

/** The workflow with one edit applied at bundle time. */
async function bundleWith(edits: { find: string; replace: string }[]): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: quietLogger,
    webpackConfigHook: (config) => {
      config.module!.rules!.push({
        test: /reconfigure-tls\.ts$/,
        enforce: 'pre',
        use: [{ loader: join(dirname(fileURLToPath(import.meta.url)), 'source-edit-loader.cjs'), options: { edits } }],
      });
      return config;
    },
  });
}

const ROLL = "run.stage('RestartPods');";
const EXTRA = "await callActivity(forwardOptions, 'list pods again', 'listPodUids', plan);";
const rolled = () => files.filter((f) => readFileSync(join(HISTORIES_DIR, f), 'utf8').includes('"listPodUids"'));

test('the guard bites: an extra activity before the pod roll is caught as nondeterminism', async () => {
  expect(rolled().length).toBeGreaterThan(0);
  const changed = await bundleWith([{ find: ROLL, replace: `${ROLL} ${EXTRA}` }]);
  for (const file of rolled()) {
    await expect(
      Worker.runReplayHistory({ workflowBundle: changed }, load(file), scenarioOf(file)),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  }
});

test('the same change behind patched() replays cleanly', async () => {
  const patchedChange = await bundleWith([
    { find: ROLL, replace: `${ROLL} if (patched('extra-pod-listing')) ${EXTRA}` },
  ]);
  for (const file of files) {
    await Worker.runReplayHistory({ workflowBundle: patchedChange }, load(file), scenarioOf(file));
  }
});

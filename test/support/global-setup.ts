// Starts one real stack for the whole integration run (the same entry as `npm start`, on free
// ports and a fresh state directory) and tells the tests where it is through PGBTLS_STACK_FILE.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');

export default async function globalSetup(): Promise<void> {
  const stateDir = join(root, 'test-output', 'stack');
  const stackFile = join(stateDir, 'stack.json');
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const logFile = join(root, 'test-output', 'stack-main.log');
  const out = openSync(logFile, 'w');
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [join(root, 'dist/stack/main.js'), '--state-dir', stateDir, '--fresh', '--ephemeral-ports', '--no-worker'],
    { detached: true, stdio: ['ignore', out, out], env: { ...process.env, PGBTLS_EXIT_WITH_PARENT: '1' } },
  );
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 180_000;
  while (!existsSync(stackFile)) {
    if (exited !== undefined || Date.now() > deadline) {
      const log = readFileSync(logFile, 'utf8');
      throw new Error(`the test stack did not start (${exited !== undefined ? `exit ${exited}` : 'timeout'}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // stack.json is written last, when everything is ready.
  const info = JSON.parse(readFileSync(stackFile, 'utf8'));
  process.env.PGBTLS_STACK_FILE = stackFile;
  process.env.KUBECONFIG = info.kubeconfig;
  process.env.PGBTLS_STACK_PID = String(child.pid);
  const firstLine =
    readFileSync(logFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Stack ready')) ?? '';
  process.stdout.write(`\n[stack] ${firstLine || `ready in ${((performance.now() - t0) / 1000).toFixed(1)}s`}\n`);
}

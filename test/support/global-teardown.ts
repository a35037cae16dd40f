// Stops the stack that globalSetup started and makes sure none of its processes survive.
export default async function globalTeardown(): Promise<void> {
  const pid = Number(process.env.PGBTLS_STACK_PID);
  if (!pid) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const t0 = performance.now();
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // The stack leads its own process group; whatever is left of it goes now.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  process.stdout.write(`[stack] stopped in ${((performance.now() - t0) / 1000).toFixed(1)}s\n`);
}

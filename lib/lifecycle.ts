// How every long-running entry point ends: on SIGTERM/SIGINT it runs its stop function once and
// exits. Processes started by the dev stack (PGBTLS_EXIT_WITH_PARENT=1) also stop when their
// parent disappears, so a killed stack never leaves orphans behind.
import type { Logger } from './log.js';

export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { reason });
    stop().then(
      () => process.exit(0),
      (err) => {
        logger.error('stop failed', { error: err });
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
  if (process.env.PGBTLS_EXIT_WITH_PARENT === '1') {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) shutdown('parent exited');
    }, 1_000).unref();
  }
}

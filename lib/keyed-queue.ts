// Runs work per key, one at a time per key, different keys in parallel. Requests for a key that
// is already running are coalesced into one more run after the current one: the work always reads
// the latest state, so ten events during a run need one re-run, not ten.
export class KeyedSerialQueue {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private stopped = false;

  /** `work` must not throw: it owns its errors (log, retry later). */
  constructor(private readonly work: (key: string) => Promise<void>) {}

  enqueue(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = (async () => {
      do {
        this.again.delete(key);
        await this.work(key).catch(() => undefined);
      } while (this.again.has(key) && !this.stopped);
    })().finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  /** Number of keys running now (for tests and metrics). */
  get size(): number {
    return this.running.size;
  }

  /** Takes no new work and waits for the runs in progress. */
  async drain(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running.values()]);
  }
}

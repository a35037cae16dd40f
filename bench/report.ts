// The fleet benchmark's tables: one per wave, and the ratios between two runs (`--compare A B`).

/** One batch of requests created at once (the solo pooler, or the fleet) and what it cost. */
export interface Sample {
  requests: number;
  wallSeconds: number;
  /** Seconds from the create call to the workflow's first run starting, per request. */
  createdToStarted: number[];
  /** Seconds from the create call to the bench seeing Successful, per Successful request. */
  createdToSuccessful: number[];
  outcomes: Record<string, number>;
  failures: { request: string; phase: string; reason?: string }[];
  /** API requests by component, then by "verb resource[/subresource]", from the audit log. */
  api: Record<string, Record<string, number>>;
  /** CPU seconds each stack process used during the batch. */
  cpuSeconds: Record<string, number>;
  history: {
    events: number;
    bytes: number;
    runs: number;
    eventKinds: Record<string, number>;
    activities: Record<string, number>;
  };
  peakRssMb: { worker: number; watcher: number };
}

export interface WaveResult {
  wave: string;
  poolers: number;
  replicas: number;
  solo?: Sample;
  fleet: Sample;
}

export interface BenchRun {
  label: string;
  startedAt: string;
  poolers: number;
  replicas: number;
  waves: WaveResult[];
}

/** The product's processes: the budget counts only what these ask of the API server. */
export const PRODUCT = ['worker', 'watcher'] as const;

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const sum = (o: Record<string, number> = {}) => Object.values(o).reduce((a, b) => a + b, 0);
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** The numbers a wave is judged by, per pooler where that makes sense. */
export function headline(s: Sample): Record<string, number> {
  const n = s.requests;
  const product = PRODUCT.reduce((a, c) => a + sum(s.api[c]), 0);
  const lists = PRODUCT.reduce(
    (a, c) =>
      a +
      Object.entries(s.api[c] ?? {})
        .filter(([k]) => k.startsWith('list '))
        .reduce((x, [, v]) => x + v, 0),
    0,
  );
  return {
    wallSeconds: s.wallSeconds,
    poolersPerSecond: s.requests / s.wallSeconds,
    p50CreatedToSuccessful: percentile(s.createdToSuccessful, 50),
    p99CreatedToSuccessful: percentile(s.createdToSuccessful, 99),
    p50CreatedToStarted: percentile(s.createdToStarted, 50),
    p99CreatedToStarted: percentile(s.createdToStarted, 99),
    failures: s.failures.length,
    productApiPerPooler: product / n,
    productListsPerPooler: lists / n,
    allApiPerPooler: Object.values(s.api).reduce((a, c) => a + sum(c), 0) / n,
    workerCpuPerPooler: (s.cpuSeconds.worker ?? NaN) / n,
    historyEventsPerPooler: s.history.events / n,
    historyKbPerPooler: s.history.bytes / 1024 / n,
    workerPeakRssMb: s.peakRssMb.worker,
    watcherPeakRssMb: s.peakRssMb.watcher,
  };
}

export function printWave(r: WaveResult): string {
  const s = r.fleet;
  const h = headline(s);
  const solo = r.solo ? headline(r.solo) : undefined;
  const lines: string[] = [];
  lines.push('', `== ${r.wave}: ${r.poolers} poolers × ${r.replicas} replicas ==`);
  lines.push(
    `wall ${f(h.wallSeconds)} s` +
      (solo ? ` (one pooler alone ${f(solo.wallSeconds)} s; ratio ${f(h.wallSeconds / solo.wallSeconds)})` : '') +
      `, ${f(h.poolersPerSecond, 2)} poolers/s`,
  );
  lines.push(
    `created → Successful p50 ${f(h.p50CreatedToSuccessful)} s, p99 ${f(h.p99CreatedToSuccessful)} s; ` +
      `created → started p50 ${f(h.p50CreatedToStarted, 2)} s, p99 ${f(h.p99CreatedToStarted, 2)} s`,
  );
  lines.push(`outcomes ${JSON.stringify(s.outcomes)}; failures ${s.failures.length}`);
  for (const fl of s.failures.slice(0, 5)) lines.push(`  ${fl.request}: ${fl.phase} ${fl.reason ?? ''}`);
  lines.push(
    `per pooler: product API ${f(h.productApiPerPooler)} (LIST ${f(h.productListsPerPooler)}), all components ${f(h.allApiPerPooler)}; ` +
      `worker CPU ${f(h.workerCpuPerPooler, 2)} s; history ${f(h.historyEventsPerPooler)} events, ${f(h.historyKbPerPooler)} KB`,
  );
  lines.push(`peak RSS worker ${h.workerPeakRssMb} MB, watcher ${h.watcherPeakRssMb} MB`);
  lines.push('API requests per pooler, by component:');
  for (const [component, byWhat] of Object.entries(s.api).sort((a, b) => sum(b[1]) - sum(a[1]))) {
    const top = Object.entries(byWhat)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${f(v / s.requests)}`)
      .join(', ');
    lines.push(`  ${component.padEnd(24)} ${f(sum(byWhat) / s.requests).padStart(7)}  ${top}`);
  }
  lines.push(
    `CPU seconds: ${Object.entries(s.cpuSeconds)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${f(v)}`)
      .join(', ')}`,
  );
  const acts = Object.entries(s.history.activities)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(`activities of one request: ${acts}`);
  return lines.join('\n') + '\n';
}

/** Ratios B/A for every wave both runs have. */
export function compare(a: BenchRun, b: BenchRun): string {
  const lines = [
    `A: ${a.label} (${a.poolers}×${a.replicas}, ${a.startedAt})`,
    `B: ${b.label} (${b.poolers}×${b.replicas}, ${b.startedAt})`,
  ];
  for (const wa of a.waves) {
    const wb = b.waves.find((w) => w.wave === wa.wave);
    if (!wb) continue;
    const ha = headline(wa.fleet);
    const hb = headline(wb.fleet);
    lines.push(
      '',
      `== ${wa.wave} ==`,
      `${'measure'.padEnd(26)} ${'A'.padStart(10)} ${'B'.padStart(10)} ${'B/A'.padStart(8)}`,
    );
    for (const k of Object.keys(ha)) {
      lines.push(
        `${k.padEnd(26)} ${f(ha[k], 2).padStart(10)} ${f(hb[k], 2).padStart(10)} ${f(hb[k] / ha[k], 2).padStart(8)}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

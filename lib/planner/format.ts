// Small formatting helpers for plan text.

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** `2160h (90d)`, `1h30m`, `45s`: Go-duration hours as users write them, plus whole days. */
export function formatDuration(ms: number): string {
  if (ms <= 0 || !Number.isFinite(ms)) return `${ms}ms`;
  let rest = ms;
  let text = '';
  for (const [unit, size] of UNITS.slice(1)) {
    const n = Math.floor(rest / size);
    if (n) text += `${n}${unit}`;
    rest -= n * size;
  }
  if (rest) text += `${Math.round(rest)}ms`;
  const days = ms / UNITS[0]![1];
  return ms >= UNITS[0]![1] && Number.isInteger(days) ? `${text} (${days}d)` : text;
}

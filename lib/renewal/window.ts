// Maintenance windows: when an unattended renewal may start. Pure functions, no clock of their
// own (callers pass the time), so the policy and its tests agree on every instant.
//
// Format of the annotation `pgbtls.dev/maintenance-window` on a PgBouncer (times in UTC):
//   "<days> <HH:MM>-<HH:MM>[; <days> <HH:MM>-<HH:MM> ...]"
//   days: `*` (every day), or a comma list of days and day ranges: Mon,Wed  Mon-Fri  Sat,Sun  Fri-Mon
//   An end at or before the start runs past midnight into the next day (`Sat 22:00-02:00`);
//   `00:00-24:00` is the whole day. A trailing ` UTC` is accepted; other zones are not.
// Examples: "Sat,Sun 02:00-06:00", "Mon-Fri 22:00-04:00; Sat,Sun 00:00-24:00", "* 03:00-04:00".

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export interface MaintenanceWindow {
  /** Weekdays (0 = Sunday, as Date.getUTCDay) on which the window opens. */
  days: number[];
  /** Minutes after midnight UTC. */
  startMinute: number;
  /** Length in minutes (1 .. 1440). */
  lengthMinutes: number;
}

export class WindowFormatError extends Error {}

const FORMAT =
  'write it like "Sat,Sun 02:00-06:00" or "Mon-Fri 22:00-04:00; Sat 00:00-24:00" (days, then a UTC time range; several windows separated by ";")';

function parseDays(text: string, whole: string): number[] {
  if (text === '*') return [0, 1, 2, 3, 4, 5, 6];
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const [from, to, extra] = part.split('-').map((d) => DAYS.indexOf(d.trim().toLowerCase().slice(0, 3) as never));
    const bad = (d: number | undefined) => d === undefined || d < 0;
    if (extra !== undefined || bad(from) || (part.includes('-') && bad(to)) || part.trim().length < 3) {
      throw new WindowFormatError(
        `"${whole}": "${part}" is not a day or day range (Mon..Sun, e.g. Mon-Fri); ${FORMAT}`,
      );
    }
    const end = to ?? from!;
    for (let d = from!; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === end) break;
    }
  }
  return [...days].sort();
}

function parseTime(text: string, whole: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || Number(m[2]) > 59 || minutes > 1440) {
    throw new WindowFormatError(`"${whole}": "${text}" is not a time from 00:00 to 24:00; ${FORMAT}`);
  }
  return minutes;
}

/** Parses the annotation; throws WindowFormatError with what is wrong and how to write it. */
export function parseMaintenanceWindows(text: string): MaintenanceWindow[] {
  const windows: MaintenanceWindow[] = [];
  for (const raw of text.split(';')) {
    const spec = raw.trim().replace(/\s+UTC$/i, '');
    if (!spec) continue;
    const m = /^(\S+)\s+(\S+)-(\S+)$/.exec(spec);
    if (!m) throw new WindowFormatError(`"${raw.trim()}" is not "<days> <HH:MM>-<HH:MM>"; ${FORMAT}`);
    const days = parseDays(m[1]!, raw.trim());
    const start = parseTime(m[2]!, raw.trim());
    const end = parseTime(m[3]!, raw.trim());
    if (start === 1440) throw new WindowFormatError(`"${raw.trim()}": a window cannot start at 24:00; ${FORMAT}`);
    const lengthMinutes = end > start ? end - start : end + 1440 - start;
    windows.push({ days, startMinute: start, lengthMinutes });
  }
  if (!windows.length) throw new WindowFormatError(`the annotation is empty; ${FORMAT}`);
  return windows;
}

/** The openings [start, end) of every window that could matter around `t`, in ms since the epoch. */
function openingsAround(t: number, windows: MaintenanceWindow[]): [number, number][] {
  const midnight = Math.floor(t / DAY_MS) * DAY_MS;
  const out: [number, number][] = [];
  for (let d = -1; d <= 7; d++) {
    const day = midnight + d * DAY_MS;
    const weekday = new Date(day).getUTCDay();
    for (const w of windows) {
      if (!w.days.includes(weekday)) continue;
      const start = day + w.startMinute * MINUTE_MS;
      out.push([start, start + w.lengthMinutes * MINUTE_MS]);
    }
  }
  return out;
}

/** Whether a renewal may start at `t`. */
export function windowIsOpen(t: number, windows: MaintenanceWindow[]): boolean {
  return openingsAround(t, windows).some(([start, end]) => start <= t && t < end);
}

/** `t` itself when a window is open then, else the next time one opens (within a week, since every window recurs weekly). */
export function nextWindowOpening(t: number, windows: MaintenanceWindow[]): number {
  if (windowIsOpen(t, windows)) return t;
  const starts = openingsAround(t, windows)
    .map(([start]) => start)
    .filter((start) => start > t);
  return Math.min(...starts);
}

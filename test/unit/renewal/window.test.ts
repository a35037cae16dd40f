import { describe, expect, test } from '@jest/globals';
import { nextWindowOpening, parseMaintenanceWindows, windowIsOpen } from '../../../lib/renewal/window.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

// 2026-12-05 is a Saturday.
describe('nextWindowOpening', () => {
  const cases: [string, string, string, string][] = [
    // [window, at, next opening, why]
    ['Sat,Sun 02:00-06:00', '2026-12-05T03:00:00Z', '2026-12-05T03:00:00.000Z', 'inside: now'],
    ['Sat,Sun 02:00-06:00', '2026-12-05T06:00:00Z', '2026-12-06T02:00:00.000Z', 'end is exclusive: next day'],
    ['Sat,Sun 02:00-06:00', '2026-12-07T12:00:00Z', '2026-12-12T02:00:00.000Z', 'Monday: next Saturday'],
    ['Mon-Fri 22:00-04:00', '2026-12-05T01:00:00Z', '2026-12-05T01:00:00.000Z', "Friday's window runs into Saturday"],
    ['Mon-Fri 22:00-04:00', '2026-12-05T05:00:00Z', '2026-12-07T22:00:00.000Z', 'Saturday after 04:00: Monday night'],
    [
      'Fri-Mon 10:00-11:00',
      '2026-12-08T10:30:00Z',
      '2026-12-11T10:00:00.000Z',
      'a range that wraps the week (Tue: Fri)',
    ],
    ['* 00:00-24:00', '2026-12-08T10:30:00Z', '2026-12-08T10:30:00.000Z', 'always open'],
    ['* 03:00-04:00 UTC', '2026-12-08T04:00:00Z', '2026-12-09T03:00:00.000Z', 'daily, explicit UTC'],
    [
      'Sat 01:00-02:00; Wed 12:00-13:00',
      '2026-12-08T00:00:00Z',
      '2026-12-09T12:00:00.000Z',
      'the earlier of two windows',
    ],
  ];
  test.each(cases)('%s at %s → %s (%s)', (window, now, expected) => {
    expect(iso(nextWindowOpening(at(now), parseMaintenanceWindows(window)))).toBe(expected);
  });

  test('windowIsOpen agrees with the openings', () => {
    const w = parseMaintenanceWindows('Sat 22:00-02:00');
    expect(windowIsOpen(at('2026-12-05T23:59:00Z'), w)).toBe(true);
    expect(windowIsOpen(at('2026-12-06T01:59:00Z'), w)).toBe(true);
    expect(windowIsOpen(at('2026-12-06T02:00:00Z'), w)).toBe(false);
    expect(windowIsOpen(at('2026-12-05T21:59:00Z'), w)).toBe(false);
  });
});

describe('parseMaintenanceWindows rejects what it cannot read, and says how to write it', () => {
  const bad: [string, RegExp][] = [
    ['', /the annotation is empty/],
    ['weekends 02:00-06:00', /"weekends" is not a day or day range/],
    ['Sat 2am-6am', /"2am" is not a time from 00:00 to 24:00/],
    ['Sat 02:00-25:00', /"25:00" is not a time/],
    ['Sat 02:60-03:00', /"02:60" is not a time/],
    ['Sat 24:00-02:00', /cannot start at 24:00/],
    ['Sat 02:00', /is not "<days> <HH:MM>-<HH:MM>"/],
    ['Mon-Tue-Wed 02:00-03:00', /not a day or day range/],
  ];
  test.each(bad)('%j', (text, message) => {
    expect(() => parseMaintenanceWindows(text)).toThrow(message);
    expect(() => parseMaintenanceWindows(text)).toThrow(/write it like "Sat,Sun 02:00-06:00"/);
  });
});

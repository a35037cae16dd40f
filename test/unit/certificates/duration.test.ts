import { certificateDurationMs, parseDuration } from '../../../lib/certificates/duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('parseDuration (Go / metav1.Duration syntax)', () => {
  test.each([
    ['2160h', 2160 * H],
    ['90m', 90 * M],
    ['1h30m', H + 30 * M],
    ['45s', 45 * S],
    ['1h0m0s', H],
    ['1.5h', 1.5 * H],
    ['.5s', 500],
    ['300ms', 300],
    ['1500us', 1.5],
    ['2000000ns', 2],
    ['1µs', 0.001],
    ['0', 0],
    ['0s', 0],
    ['+5m', 5 * M],
    ['-5m', -5 * M],
    [' 10m ', 10 * M],
  ])('%s', (text, ms) => {
    expect(parseDuration(text, 'spec.timeout')).toBeCloseTo(ms, 9);
  });

  test.each([
    ['', 'spec.timeout: must be a duration; write it like 2160h'],
    ['10', 'spec.timeout: "10" is not a duration'],
    ['h', 'spec.timeout: "h" is not a duration'],
    ['1h 30m', 'spec.timeout: "1h 30m" is not a duration'],
    ['1H', 'spec.timeout: "1H" has the unknown unit "H"'],
    ['90d', 'spec.timeout: "90d" has the unknown unit "d"; Kubernetes durations have no day unit (90 days is 2160h)'],
    ['1y', 'spec.timeout: "1y" has the unknown unit "y"'],
    ['1..5h', 'spec.timeout: "1..5h" is not a duration'],
    ['3000000h', 'spec.timeout: "3000000h" is too long'],
  ])('rejects %j', (text, message) => {
    expect(() => parseDuration(text, 'spec.timeout')).toThrow(message);
  });

  test('rejects non-strings', () => {
    expect(() => parseDuration(5, 'spec.timeout')).toThrow('spec.timeout: must be a duration');
  });
});

describe('certificateDurationMs (cert-manager rules)', () => {
  const field = 'spec.tls.certificates[alias=server].duration';
  test('defaults to 90 days', () => {
    expect(certificateDurationMs(undefined, field)).toBe(90 * 24 * H);
  });
  test('accepts exactly one hour', () => {
    expect(certificateDurationMs('1h', field)).toBe(H);
    expect(certificateDurationMs('60m', field)).toBe(H);
  });
  test.each([
    ['59m59s', `${field}: "59m59s" is shorter than the minimum certificate duration of 1h`],
    ['-2160h', `${field}: "-2160h" is shorter than the minimum certificate duration of 1h`],
    ['0', `${field}: "0" is shorter than the minimum certificate duration of 1h`],
    ['90d', `${field}: "90d" has the unknown unit "d"`],
  ])('rejects %s', (text, message) => {
    expect(() => certificateDurationMs(text, field)).toThrow(message);
  });
});

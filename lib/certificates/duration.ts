// Kubernetes durations (metav1.Duration, i.e. Go's time.ParseDuration syntax) and cert-manager's
// rules for certificate lifetimes: 90 days by default, at least one hour.
import { CertificateInputError, quote } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu; Go accepts both
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// Go's time.Duration is int64 nanoseconds, so nothing longer than about 292 years parses in Go either.
const MAX_MS = 9_223_372_036_854;

export const DEFAULT_CERTIFICATE_DURATION = '2160h';
export const MIN_CERTIFICATE_DURATION_MS = 3_600_000;

const HINT = 'write it like 2160h, 90m, 1h30m or 45s (units h, m, s, ms, us, ns)';

/** Milliseconds in a Go duration such as `2160h`, `1h30m`, `1.5h` or `-90s`; `field` names it in errors. */
export function parseDuration(text: unknown, field: string): number {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new CertificateInputError(field, `must be a duration; ${HINT}`);
  }
  const trimmed = text.trim();
  const sign = trimmed[0] === '-' || trimmed[0] === '+' ? trimmed[0] : '';
  const body = trimmed.slice(sign.length);
  if (body === '0') return 0;
  const part = /(\d+\.?\d*|\.\d+)([^\d.\s]+)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(body); m; m = part.exec(body)) {
    const unit = UNIT_MS[m[2]!];
    if (unit === undefined) {
      const days = m[2] === 'd' ? '; Kubernetes durations have no day unit (90 days is 2160h)' : '';
      throw new CertificateInputError(field, `${quote(text)} has the unknown unit "${m[2]}"${days}; ${HINT}`);
    }
    total += Number(m[1]) * unit;
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== body.length) {
    throw new CertificateInputError(field, `${quote(text)} is not a duration; ${HINT}`);
  }
  if (total > MAX_MS) throw new CertificateInputError(field, `${quote(text)} is too long (at most about 290 years)`);
  return sign === '-' ? -total : total;
}

/** The lifetime of a certificate in ms: `2160h` when unset, and at least one hour, as in cert-manager. */
export function certificateDurationMs(text: string | undefined, field = 'duration'): number {
  const ms = parseDuration(text ?? DEFAULT_CERTIFICATE_DURATION, field);
  if (ms < MIN_CERTIFICATE_DURATION_MS) {
    throw new CertificateInputError(field, `${quote(text)} is shorter than the minimum certificate duration of 1h`);
  }
  return ms;
}

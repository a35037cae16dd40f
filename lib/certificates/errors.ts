// One error type for "the input is wrong": the caller (an activity) maps it to a non-retryable
// failure, because retrying cannot fix a bad spec or a broken CA Secret. Anything else thrown from
// this library is a bug or an environment failure and may be retried.
//
// Messages name the field or object and say what to fix. They never quote PEM text: a key could be
// in it, and error messages end up in logs, events and the Temporal history.
export class CertificateInputError extends Error {
  override readonly name = 'CertificateInputError';

  /** The field path or object label the message starts with, e.g. `spec.tls.certificates[alias=server].duration`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.field = field;
  }
}

/**
 * A user-supplied value, quoted for a message. PEM text and long base64 runs are withheld, so a key
 * pasted into the wrong field (or a fragment of one) cannot reach a log through an error.
 */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  if (/-----BEGIN |PRIVATE KEY|[A-Za-z0-9+/=]{40,}/.test(text)) return '(encoded data, not shown)';
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}…` : text);
}

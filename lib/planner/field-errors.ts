// FieldErrors as a user reads them: `<json path>: <what is wrong>; <how to fix it>`.
import { CertificateInputError } from '../certificates/index.js';
import type { FieldError } from './types.js';

export function fieldError(field: string, problem: string, fix: string): FieldError {
  return { field, message: `${field}: ${problem}; ${fix}` };
}

/** The problem part of a CertificateInputError (its message is `<field>: <problem>`). */
export function problemOf(err: CertificateInputError): string {
  return err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
}

/**
 * Runs a check from the certificate library and returns its complaint as a FieldError. The
 * library's messages mostly carry their own fix; `fix` is added when one is given. `field`
 * replaces the library's field when the caller knows the path better (list indexes).
 */
export function checkWith(
  check: () => unknown,
  options: { field?: string; fix?: string } = {},
): FieldError | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (!(err instanceof CertificateInputError)) throw err;
    const field = options.field ?? err.field;
    const problem = problemOf(err);
    return { field, message: options.fix ? `${field}: ${problem}; ${options.fix}` : `${field}: ${problem}` };
  }
}

/** Keeps the first of each identical error (two certificates can share one broken issuer). */
export function uniqueErrors(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A user's value in a message: JSON-quoted, shortened, and withheld when it looks like key material. */
export { quote } from '../certificates/errors.js';

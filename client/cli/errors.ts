// The CLI's exit codes and how any error becomes one line and one of them. Errors are classified by
// type: Kubernetes by HTTP status, Temporal by error class and gRPC status code.
import { WorkflowNotFoundError } from '@temporalio/client';
import { classifyKubeError } from '../../lib/kube/kube.js';
import { isTemporalUnavailable } from '../temporal.js';

export const EXIT = { ok: 0, requestFailed: 1, badInput: 2, notFound: 3, unreachable: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** Printed after the error as is (usage text). */
    readonly detail?: string,
  ) {
    super(message);
  }
}

export const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Maps any error to one line and an exit code. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof WorkflowNotFoundError) return new CliError(oneLine(err.message), EXIT.notFound);
  if (isTemporalUnavailable(err)) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    return new CliError(`Temporal unreachable: ${oneLine(String((cause as Error).message))}`, EXIT.unreachable);
  }
  const info = classifyKubeError(err);
  if (info.code === 404) return new CliError(oneLine(info.message), EXIT.notFound);
  if (info.code >= 500) return new CliError(`Kubernetes API error: ${oneLine(info.message)}`, EXIT.unreachable);
  if (info.code >= 400) return new CliError(oneLine(info.message), EXIT.badInput);
  if (info.retryable) return new CliError(`Kubernetes API unreachable: ${oneLine(info.message)}`, EXIT.unreachable);
  // Anything else is a server or client fault we cannot name better.
  return new CliError(oneLine(err instanceof Error ? err.message : String(err)), EXIT.unreachable);
}

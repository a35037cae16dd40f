// The Temporal client the watcher and the CLI share, from the one config (envconfig settings:
// address, namespace, mTLS or API key), and how its errors are told apart: by type and gRPC status
// code, never by message text. Lazy: the first call connects, so a process can start while
// Temporal is down and a command fails only when it actually needs the server.
import { status } from '@grpc/grpc-js';
import { Client, Connection, isGrpcServiceError, ServiceError } from '@temporalio/client';
import type { Config } from '../lib/config.js';

export function createTemporalClient(config: Config): Client {
  const connection = Connection.lazy(config.temporal.connectionOptions);
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** gRPC codes that mean "Temporal cannot answer right now", not "this call is wrong". */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
]);

/** True when Temporal is unreachable or overloaded: the call may succeed later as it is. */
export function isTemporalUnavailable(err: unknown): boolean {
  // The client wraps the gRPC error of a failed call in a ServiceError ("Failed to start Workflow").
  if (err instanceof ServiceError && err.cause) return isTemporalUnavailable(err.cause);
  return isGrpcServiceError(err) && UNAVAILABLE_CODES.has(err.code);
}

// The Temporal client the watcher and the CLI share, from the one config (envconfig settings:
// address, namespace, mTLS or API key). Lazy: the first call connects, so a process can start
// while Temporal is down and a command fails only when it actually needs the server.
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../lib/config.js';

export function createTemporalClient(config: Config): Client {
  const connection = Connection.lazy(config.temporal.connectionOptions);
  return new Client({ connection, namespace: config.temporal.namespace });
}

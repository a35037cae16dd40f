// What a running dev stack publishes about itself (written to <stateDir>/stack.json), so tests,
// the CLI and humans can find the servers without knowing which ports were free.
import type { PostgresInfo } from './postgres.js';

export interface StackInfo {
  stateDir: string;
  kubeconfig: string;
  kubectl: string;
  apiServer: string;
  temporal: { address: string; namespace: string; uiUrl: string };
  /** The PostgreSQL behind the PgBouncers (a local test cluster: its superuser and password). */
  postgres: PostgresInfo;
  /** Pid of the process that owns the stack (stopping it stops everything). */
  pid: number;
  /** Pid of each process of the stack when it started, by name (`worker`, `kube-apiserver`, …), for `npm run bench`. */
  pids?: Record<string, number>;
}

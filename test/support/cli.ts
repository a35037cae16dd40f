// The pgbtls CLI as a user runs it against the test stack: the built entry point in a child
// process with the stack's KUBECONFIG and TEMPORAL_ADDRESS; its exit code, stdout and stderr.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../stack/tools.js';
import { stackInfo } from './cluster.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` overrides the stack's settings (e.g. an unreachable TEMPORAL_ADDRESS). */
export function runPgbtls(taskQueue: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const info = stackInfo();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot(), 'dist/client/cli.js'), ...args],
      {
        env: {
          PATH: process.env.PATH,
          KUBECONFIG: info.kubeconfig,
          TEMPORAL_ADDRESS: info.temporal.address,
          TEMPORAL_NAMESPACE: info.temporal.namespace,
          PGBTLS_TASK_QUEUE: taskQueue,
          PGBTLS_CLUSTER_RESOURCE_NAMESPACE: 'cert-manager',
          ...env,
        },
        timeout: 170_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

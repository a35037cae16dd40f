// How a request's reconfigureTLS run is started: the one set of start options the watcher, the
// CLI and the tests use. The id comes from the request's uid and the start is USE_EXISTING /
// REJECT_DUPLICATE, so whoever starts first wins, every other starter finds that run, and a
// finished request never runs again.
import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { PgBouncerOpsRequest } from '../lib/api/types.js';
import type { OpsRequestRef } from '../lib/planner/types.js';
import { workflowIdFor } from '../workflows/ids.js';
import { SEARCH_ATTRIBUTES } from '../workflows/progress.js';
import { reconfigureTLS } from '../workflows/reconfigure-tls.js';

/** The workflow type, as visibility queries name it. */
export const WORKFLOW_TYPE = reconfigureTLS.name;

export const refOf = (r: PgBouncerOpsRequest): OpsRequestRef => ({
  namespace: r.metadata.namespace!,
  name: r.metadata.name!,
  uid: r.metadata.uid!,
});

export function reconfigureTLSStartOptions(
  request: PgBouncerOpsRequest,
  taskQueue: string,
): WorkflowStartOptions<typeof reconfigureTLS> {
  const ref = refOf(request);
  const pgbouncer = request.spec.databaseRef?.name;
  return {
    workflowId: workflowIdFor(ref),
    taskQueue,
    args: [{ request: ref }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTES.namespace, value: ref.namespace },
      { key: SEARCH_ATTRIBUTES.opsType, value: request.spec.type },
      ...(pgbouncer ? [{ key: SEARCH_ATTRIBUTES.pgbouncer, value: pgbouncer }] : []),
    ],
    staticSummary: `ReconfigureTLS ${ref.namespace}/${ref.name} on PgBouncer ${pgbouncer ?? '?'}`,
    staticDetails: describeTlsSpec(request),
  };
}

export type StartOutcome =
  | { workflowId: string; outcome: 'running'; handle: WorkflowHandle<typeof reconfigureTLS> }
  /** The request's run finished before: it never runs again. */
  | { workflowId: string; outcome: 'finished-before' };

/** Starts the request's run, or finds the one already open. */
export async function startReconfigureTLS(
  client: Client,
  request: PgBouncerOpsRequest,
  taskQueue: string,
): Promise<StartOutcome> {
  const options = reconfigureTLSStartOptions(request, taskQueue);
  try {
    const handle = await client.workflow.start(reconfigureTLS, options);
    return { workflowId: options.workflowId, outcome: 'running', handle };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { workflowId: options.workflowId, outcome: 'finished-before' };
    }
    throw err;
  }
}

/** The UI's static details: what the request asks for. */
function describeTlsSpec(r: PgBouncerOpsRequest): string {
  const tls = r.spec.tls ?? {};
  const parts: string[] = [];
  if (tls.remove) parts.push('remove TLS');
  if (tls.rotateCertificates) parts.push('rotate certificates');
  if (tls.issuerRef) parts.push(`issuer ${tls.issuerRef.kind}/${tls.issuerRef.name}`);
  if (tls.certificates?.length) parts.push(`certificates: ${tls.certificates.map((c) => c.alias).join(', ')}`);
  if (tls.sslMode) parts.push(`sslMode ${tls.sslMode}`);
  return `PgBouncerOpsRequest \`${r.metadata.namespace}/${r.metadata.name}\` (uid ${r.metadata.uid}): ${parts.join('; ') || 'no TLS change'}`;
}

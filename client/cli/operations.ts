// What each command does against the servers: create a request and start its run, read its
// status, cancel it, export its history, plan it. Each returns data; formatting is format.ts's.
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { gatherLiveStateFor } from '../../activities/kubernetes/live-state.js';
import { readPgBouncer } from '../../activities/kubernetes/pause.js';
import { inspectRenewal } from '../../activities/kubernetes/renewal.js';
import { OPS_REQUESTS } from '../../lib/api/resources.js';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import type { Config } from '../../lib/config.js';
import { classifyKubeError, isAlreadyExists, isNotFound, type Kube } from '../../lib/kube/kube.js';
import { planReconfigureTLS } from '../../lib/planner/plan.js';
import { opsRequestRef, type OpsRequestRef, type PlanResult } from '../../lib/planner/types.js';
import { workflowIdFor } from '../../workflows/ids.js';
import { progressQuery, SEARCH_ATTRIBUTES, type Progress } from '../../workflows/progress.js';
import { startReconfigureTLS } from '../start.js';
import { CliError, EXIT } from './errors.js';

/** The servers a command talks to. Temporal is connected only when a command needs it. */
export interface Session {
  config: Config;
  kube: Kube;
  temporal(): Client;
}

export interface RequestStatus {
  request: { namespace: string; name: string; uid: string; type: string; pgbouncer: string; phase: string };
  workflow?: { id: string; runId: string; status: string; startTime?: string; closeTime?: string; stage?: string };
  progress?: Progress;
  message?: string;
  /** The PgBouncer's certificates now: notAfter and the next renewal (absent: no TLS, or unreadable). */
  certificates?: CertificateExpiry[];
}

export interface CertificateExpiry {
  alias: string;
  notAfter: string;
  /** When the renewal request is created, or why none is scheduled. */
  nextRenewal: string;
}

/**
 * Each certificate's notAfter and the pooler's next renewal, from the renewal workflow's own
 * inspection (same policy, same answer), so it needs no worker.
 */
export async function certificateExpiry(
  s: Session,
  namespace: string,
  pgbouncer: string,
): Promise<CertificateExpiry[] | undefined> {
  try {
    const pb = await readPgBouncer(s.kube, namespace, pgbouncer);
    if (!pb) return undefined;
    const look = await inspectRenewal(s.kube, s.config, { namespace, name: pgbouncer, uid: pb.metadata.uid! });
    const plan = look.plan;
    if (!plan) return undefined;
    const next = plan.inProgress
      ? `now (${plan.inProgress})`
      : plan.blocked
        ? 'blocked: renew the CA'
        : plan.busyWith && Date.parse(plan.at!) <= Date.now()
          ? `after ${plan.busyWith.join(', ')}`
          : plan.at!;
    return look.certificates.map((c) => ({ alias: c.alias, notAfter: c.notAfter, nextRenewal: next }));
  } catch {
    return undefined; // no rights to read Secrets, or a broken issuer: show the rest
  }
}

export async function readRequest(s: Session, namespace: string, name: string): Promise<PgBouncerOpsRequest> {
  try {
    return (await s.kube.custom.getNamespacedCustomObject({
      ...OPS_REQUESTS,
      namespace,
      name,
    })) as PgBouncerOpsRequest;
  } catch (err) {
    if (isNotFound(err)) throw new CliError(`PgBouncerOpsRequest ${namespace}/${name} not found`, EXIT.notFound);
    throw err;
  }
}

/** Creates the request (or, with dryRun, has the API server validate and default it, storing nothing). */
export async function createRequest(
  s: Session,
  body: PgBouncerOpsRequest,
  dryRun = false,
): Promise<PgBouncerOpsRequest> {
  const namespace = body.metadata.namespace!;
  try {
    return (await s.kube.custom.createNamespacedCustomObject({
      ...OPS_REQUESTS,
      namespace,
      body,
      ...(dryRun ? { dryRun: 'All' } : {}),
    })) as PgBouncerOpsRequest;
  } catch (err) {
    const info = classifyKubeError(err);
    if (info.code === 404) throw new CliError(`namespace "${namespace}" not found`, EXIT.notFound);
    if (info.code === 422 || info.code === 400)
      throw new CliError(
        `PgBouncerOpsRequest ${namespace}/${body.metadata.name} rejected: ${info.message}`,
        EXIT.badInput,
      );
    throw err;
  }
}

/** Creates the request and starts its run the way the watcher does: whichever starts first wins. */
export async function applyRequest(
  s: Session,
  body: PgBouncerOpsRequest,
): Promise<{ ref: OpsRequestRef; workflowId: string }> {
  const created = await createRequest(s, body);
  const { workflowId } = await startReconfigureTLS(s.temporal(), created, s.config.taskQueue);
  return { ref: opsRequestRef(created), workflowId };
}

async function describeWorkflow(s: Session, id: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await s.temporal().workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The request's phase and its run as Temporal sees it; withProgress also asks the run itself. */
export async function requestStatus(
  s: Session,
  req: PgBouncerOpsRequest,
  withProgress: boolean,
): Promise<RequestStatus> {
  const ref = opsRequestRef(req);
  const id = workflowIdFor(ref);
  const d = await describeWorkflow(s, id);
  const last = (req.status?.conditions ?? []).find((c) => c.type === 'Successful' || c.type === 'Failed');
  const result: RequestStatus = {
    request: {
      ...ref,
      type: req.spec.type,
      pgbouncer: req.spec.databaseRef?.name ?? '',
      phase: req.status?.phase ?? 'Pending',
    },
    message: last?.message,
  };
  if (withProgress && result.request.pgbouncer) {
    result.certificates = await certificateExpiry(s, ref.namespace, result.request.pgbouncer);
  }
  if (!d) return result;
  result.workflow = {
    id,
    runId: d.runId,
    status: d.status.name,
    startTime: d.startTime?.toISOString(),
    closeTime: d.closeTime?.toISOString(),
    stage: d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage),
  };
  if (withProgress) {
    result.progress = await s
      .temporal()
      .workflow.getHandle(id)
      .query(progressQuery)
      .catch(() => undefined); // no worker polls the queue right now: show the rest
  }
  return result;
}

export async function listRequests(s: Session, namespace: string | undefined): Promise<RequestStatus[]> {
  const res = (await (namespace
    ? s.kube.custom.listNamespacedCustomObject({ ...OPS_REQUESTS, namespace })
    : s.kube.custom.listClusterCustomObject(OPS_REQUESTS))) as { items: PgBouncerOpsRequest[] };
  const rows: RequestStatus[] = [];
  const expiries = new Map<string, Promise<CertificateExpiry[] | undefined>>(); // one look per PgBouncer
  for (const req of res.items) {
    const row = await requestStatus(s, req, false);
    const key = `${row.request.namespace}/${row.request.pgbouncer}`;
    if (row.request.pgbouncer && !expiries.has(key))
      expiries.set(key, certificateExpiry(s, row.request.namespace, row.request.pgbouncer));
    row.certificates = await expiries.get(key);
    rows.push(row);
  }
  return rows;
}

/** The request's status now, refusing a request of the same name that is another request. */
export async function currentStatus(s: Session, ref: OpsRequestRef): Promise<RequestStatus> {
  const req = await readRequest(s, ref.namespace, ref.name);
  if (req.metadata.uid !== ref.uid)
    throw new CliError(`${ref.namespace}/${ref.name} was deleted and re-created`, EXIT.notFound);
  return requestStatus(s, req, true);
}

export type CancelOutcome =
  | { workflowId: string; outcome: 'cancel-requested' }
  | { workflowId: string; outcome: 'already-ended'; status: string };

/** Asks the request's run to cancel (it rolls back, then marks the request Failed). */
export async function cancelRequest(s: Session, namespace: string, name: string): Promise<CancelOutcome> {
  const workflowId = workflowIdFor(opsRequestRef(await readRequest(s, namespace, name)));
  const d = await describeWorkflow(s, workflowId);
  if (!d) throw new CliError(`no workflow for PgBouncerOpsRequest ${namespace}/${name} (${workflowId})`, EXIT.notFound);
  if (d.status.name !== 'RUNNING') return { workflowId, outcome: 'already-ended', status: d.status.name };
  await s.temporal().workflow.getHandle(workflowId).cancel();
  return { workflowId, outcome: 'cancel-requested' };
}

/** The run's history as the JSON `temporal workflow show --output json` writes. */
export async function exportHistory(s: Session, namespace: string, name: string): Promise<string> {
  const workflowId = workflowIdFor(opsRequestRef(await readRequest(s, namespace, name)));
  return historyToJSON(await s.temporal().workflow.getHandle(workflowId).fetchHistory());
}

/**
 * Plans the request without creating it. A server-side dry run validates and defaults it exactly
 * as `apply` would (a name already taken is planned under a generated one); the object the API
 * server returns is planned as it is, through the same gathering and planner the workflow uses.
 */
export async function planRequest(s: Session, body: PgBouncerOpsRequest): Promise<PlanResult> {
  let req: PgBouncerOpsRequest;
  try {
    req = await createRequest(s, body, true);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const { name, ...metadata } = body.metadata;
    req = await createRequest(s, { ...body, metadata: { ...metadata, generateName: `${name}-` } }, true);
  }
  req.metadata.uid ??= 'dry-run';
  const live = await gatherLiveStateFor(s.kube, s.config, req);
  return planReconfigureTLS(live, { hotReload: s.config.hotReload });
}

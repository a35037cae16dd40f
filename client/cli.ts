#!/usr/bin/env node
// pgbtls: the operator's command line for PgBouncerOpsRequests and their workflows.
//
//   pgbtls apply -f request.yaml [--wait]   create the request (and start its workflow); --wait follows it
//   pgbtls status <ns>/<name>               phase, current step, per-pod progress
//   pgbtls list                             requests and their workflows (-n: one namespace; default all)
//   pgbtls cancel <ns>/<name>               cancel the workflow (it rolls back)
//   pgbtls history export <ns>/<name>       the workflow history as JSON on stdout
//   pgbtls plan -f request.yaml             what the request would change, without changing anything
//
// Flags: --kubeconfig <path>, -n/--namespace <ns>, -o/--output table|json|yaml, -f/--file, --wait.
// Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* (see the README);
// task queue: PGBTLS_TASK_QUEUE.
//
// Exit codes (scripts may rely on them):
//   0  done; for apply --wait and status: the request is Successful, Skipped or still running
//   1  the request Failed
//   2  bad input or usage: unreadable file, invalid YAML, a request the API server or the planner rejects
//   3  not found: no such request, workflow or namespace
//   4  a server (Kubernetes API or Temporal) is unreachable or failing
// Errors are one line on stderr, starting with "pgbtls: ".
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ApiException, dumpYaml, loadYaml } from '@kubernetes/client-node';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { gatherLiveState } from '../activities/kubernetes/live-state.js';
import { OPS_GROUP, type PgBouncerOpsRequest } from '../lib/api/types.js';
import { loadConfig, type Config } from '../lib/config.js';
import { classifyKubeError, createKube, isAlreadyExists, type Kube } from '../lib/kube/kube.js';
import { describePlan, planReconfigureTLS } from '../lib/planner/plan.js';
import type { OpsRequestRef } from '../lib/planner/types.js';
import { workflowIdFor } from '../workflows/ids.js';
import { progressQuery, SEARCH_ATTRIBUTES, type Progress } from '../workflows/progress.js';
import { createTemporalClient } from './temporal.js';
import { FINISHED_PHASES, isTemporalUnavailable, WORKFLOW_TYPE } from './watcher.js';

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

const USAGE = `usage: pgbtls <command> [flags]
  apply -f request.yaml [--wait]   create a PgBouncerOpsRequest and start its workflow
  status <ns>/<name>               phase, current step and per-pod progress
  list                             requests and their workflows
  cancel <ns>/<name>               cancel the request's workflow (it rolls back)
  history export <ns>/<name>       the workflow history as JSON
  plan -f request.yaml             what the request would change (nothing is created)
flags: --kubeconfig <path>  -n, --namespace <ns>  -o, --output table|json|yaml  -f, --file <path>  --wait`;

type Output = 'table' | 'json' | 'yaml';

interface Ctx {
  config: Config;
  kube: Kube;
  namespace?: string;
  output: Output;
  temporal(): Client;
  out(text: string): void;
}

const api = { group: OPS_GROUP, version: 'v1alpha1', plural: 'pgbounceropsrequests' };

/** Maps any error to one line and an exit code. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof WorkflowNotFoundError) return new CliError(oneLine(err.message), EXIT.notFound);
  if (err instanceof ApiException) {
    const info = classifyKubeError(err);
    if (info.code === 404) return new CliError(oneLine(info.message), EXIT.notFound);
    if (info.code >= 500) return new CliError(`Kubernetes API error: ${oneLine(info.message)}`, EXIT.unreachable);
    return new CliError(oneLine(info.message), EXIT.badInput);
  }
  const info = classifyKubeError(err);
  if (info.retryable) return new CliError(`Kubernetes API unreachable: ${oneLine(info.message)}`, EXIT.unreachable);
  if (isTemporalUnavailable(err))
    return new CliError(`Temporal unreachable: ${oneLine((err as Error).message)}`, EXIT.unreachable);
  // Anything else is a server or client fault we cannot name better.
  return new CliError(oneLine(err instanceof Error ? err.message : String(err)), EXIT.unreachable);
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

function parseTarget(arg: string | undefined, ctx: Ctx, command: string): { namespace: string; name: string } {
  if (!arg) throw new CliError(`${command}: expected <namespace>/<name>`, EXIT.badInput);
  const parts = arg.split('/');
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  if (parts.length === 1 && ctx.namespace) return { namespace: ctx.namespace, name: arg };
  throw new CliError(`${command}: "${arg}" is not <namespace>/<name> (or give -n and a name)`, EXIT.badInput);
}

async function readRequest(ctx: Ctx, namespace: string, name: string): Promise<PgBouncerOpsRequest> {
  try {
    return (await ctx.kube.custom.getNamespacedCustomObject({ ...api, namespace, name })) as PgBouncerOpsRequest;
  } catch (err) {
    if (classifyKubeError(err).code === 404)
      throw new CliError(`PgBouncerOpsRequest ${namespace}/${name} not found`, EXIT.notFound);
    throw err;
  }
}

const refOf = (r: PgBouncerOpsRequest): OpsRequestRef => ({
  namespace: r.metadata.namespace!,
  name: r.metadata.name!,
  uid: r.metadata.uid!,
});

/** Reads a request manifest: one YAML (or JSON) document of kind PgBouncerOpsRequest. */
export function readManifest(file: string | undefined, namespace: string | undefined): PgBouncerOpsRequest {
  if (!file) throw new CliError('-f <request.yaml> is required', EXIT.badInput);
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.badInput);
  }
  let doc: unknown;
  try {
    doc = loadYaml(text);
  } catch (err) {
    const y = err as { reason?: string; mark?: { line: number; column: number }; message: string };
    const where = y.mark ? ` at line ${y.mark.line + 1}, column ${y.mark.column + 1}` : '';
    throw new CliError(`${file}: invalid YAML: ${y.reason ?? oneLine(y.message)}${where}`, EXIT.badInput);
  }
  const obj = doc as Partial<PgBouncerOpsRequest> | null;
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    throw new CliError(`${file}: expected one PgBouncerOpsRequest object`, EXIT.badInput);
  if (obj.kind !== 'PgBouncerOpsRequest' || obj.apiVersion !== `${OPS_GROUP}/v1alpha1`)
    throw new CliError(
      `${file}: kind must be PgBouncerOpsRequest and apiVersion ${OPS_GROUP}/v1alpha1 (got ${obj.kind ?? 'no kind'}, ${obj.apiVersion ?? 'no apiVersion'})`,
      EXIT.badInput,
    );
  if (!obj.metadata?.name && !obj.metadata?.generateName)
    throw new CliError(`${file}: metadata.name is required`, EXIT.badInput);
  const ns = namespace ?? obj.metadata.namespace ?? 'default';
  if (namespace && obj.metadata.namespace && obj.metadata.namespace !== namespace)
    throw new CliError(
      `${file}: metadata.namespace "${obj.metadata.namespace}" does not match -n ${namespace}`,
      EXIT.badInput,
    );
  return { ...obj, metadata: { ...obj.metadata, namespace: ns } } as PgBouncerOpsRequest;
}

async function createRequest(ctx: Ctx, body: PgBouncerOpsRequest, dryRun: boolean): Promise<PgBouncerOpsRequest> {
  const namespace = body.metadata.namespace!;
  try {
    return (await ctx.kube.custom.createNamespacedCustomObject({
      ...api,
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

async function startWorkflow(ctx: Ctx, req: PgBouncerOpsRequest): Promise<string> {
  const ref = refOf(req);
  const workflowId = workflowIdFor(ref);
  // The same options as the watcher: whichever starts first wins, the other finds the run.
  await ctx
    .temporal()
    .workflow.start(WORKFLOW_TYPE, {
      workflowId,
      taskQueue: ctx.config.taskQueue,
      args: [{ request: ref }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.namespace, value: ref.namespace },
        { key: SEARCH_ATTRIBUTES.opsType, value: req.spec.type },
        { key: SEARCH_ATTRIBUTES.pgbouncer, value: req.spec.databaseRef?.name ?? '' },
      ],
      staticSummary: `ReconfigureTLS ${ref.namespace}/${ref.name} on PgBouncer ${req.spec.databaseRef?.name ?? '?'}`,
    })
    .catch((err: unknown) => {
      if ((err as Error)?.name === 'WorkflowExecutionAlreadyStartedError') return; // ran already
      throw err;
    });
  return workflowId;
}

// ---- status: what a request and its workflow look like now ----

interface RequestStatus {
  request: { namespace: string; name: string; uid: string; type: string; pgbouncer: string; phase: string };
  workflow?: { id: string; runId: string; status: string; startTime?: string; closeTime?: string; stage?: string };
  progress?: Progress;
  message?: string;
}

async function describeWorkflow(ctx: Ctx, id: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await ctx.temporal().workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

async function statusOf(ctx: Ctx, req: PgBouncerOpsRequest, withProgress: boolean): Promise<RequestStatus> {
  const ref = refOf(req);
  const id = workflowIdFor(ref);
  const d = await describeWorkflow(ctx, id);
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
  if (d) {
    result.workflow = {
      id,
      runId: d.runId,
      status: d.status.name,
      startTime: d.startTime?.toISOString(),
      closeTime: d.closeTime?.toISOString(),
      stage: d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage),
    };
    if (withProgress) {
      result.progress = await ctx
        .temporal()
        .workflow.getHandle(id)
        .query(progressQuery)
        .catch(() => undefined); // no worker polls the queue right now: show the rest
    }
  }
  return result;
}

function formatStatus(s: RequestStatus): string {
  const lines = [
    `request:   ${s.request.namespace}/${s.request.name} (${s.request.type} on PgBouncer ${s.request.pgbouncer})`,
    `phase:     ${s.request.phase}`,
    `workflow:  ${s.workflow ? `${s.workflow.id} ${s.workflow.status}` : 'not started'}`,
  ];
  const p = s.progress;
  if (p || s.workflow?.stage)
    lines.push(`step:      ${p?.stage ?? s.workflow?.stage}${p?.intent ? ` (${p.intent})` : ''}`);
  if (p?.pods.length)
    lines.push(`pods:      ${p.pods.map((pod) => `${pod.name} ${pod.status} (${pod.method})`).join(', ')}`);
  for (const c of p?.certificates ?? []) lines.push(`cert:      ${c.alias} serial ${c.serialHex} until ${c.notAfter}`);
  if (p?.compensating) lines.push(`rollback:  compensating (${p.error ?? 'failure'})`);
  if (s.message) lines.push(`message:   ${s.message}`);
  return lines.join('\n');
}

function print(ctx: Ctx, value: unknown, table: () => string): void {
  if (ctx.output === 'json') ctx.out(JSON.stringify(value, null, 2));
  else if (ctx.output === 'yaml') ctx.out(dumpYaml(value).trimEnd());
  else ctx.out(table());
}

function exitForPhase(phase: string): number {
  return phase === 'Failed' ? EXIT.requestFailed : EXIT.ok;
}

// ---- commands ----

async function apply(ctx: Ctx, file: string | undefined, wait: boolean): Promise<number> {
  const body = readManifest(file, ctx.namespace);
  const created = await createRequest(ctx, body, false);
  const ref = refOf(created);
  const workflowId = await startWorkflow(ctx, created);
  if (ctx.output === 'table')
    ctx.out(`pgbounceropsrequest ${ref.namespace}/${ref.name} created (workflow ${workflowId})`);
  else print(ctx, { request: ref, workflowId }, () => '');
  if (!wait) return EXIT.ok;
  return follow(ctx, ref);
}

/** Follows a request until it ends: one line each time its step or a pod changes. */
async function follow(ctx: Ctx, ref: OpsRequestRef): Promise<number> {
  let lastLine = '';
  for (;;) {
    const req = await readRequest(ctx, ref.namespace, ref.name);
    if (req.metadata.uid !== ref.uid)
      throw new CliError(`${ref.namespace}/${ref.name} was deleted and re-created`, EXIT.notFound);
    const s = await statusOf(ctx, req, true);
    const p = s.progress;
    const line = `[${s.request.phase}] ${p?.stage ?? s.workflow?.stage ?? 'waiting for the workflow'}${
      p?.pods.length ? `  pods: ${p.pods.map((pod) => `${pod.name} ${pod.status} (${pod.method})`).join(', ')}` : ''
    }`;
    if (line !== lastLine && ctx.output === 'table') ctx.out(line);
    lastLine = line;
    if (FINISHED_PHASES.has(s.request.phase)) {
      if (ctx.output === 'table') ctx.out(`${s.request.phase}${s.message ? `: ${s.message}` : ''}`);
      else print(ctx, s, () => '');
      return exitForPhase(s.request.phase);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function status(ctx: Ctx, target: string | undefined): Promise<number> {
  const { namespace, name } = parseTarget(target, ctx, 'status');
  const s = await statusOf(ctx, await readRequest(ctx, namespace, name), true);
  print(ctx, s, () => formatStatus(s));
  return exitForPhase(s.request.phase);
}

async function list(ctx: Ctx): Promise<number> {
  const res = (await (ctx.namespace
    ? ctx.kube.custom.listNamespacedCustomObject({ ...api, namespace: ctx.namespace })
    : ctx.kube.custom.listClusterCustomObject(api))) as { items: PgBouncerOpsRequest[] };
  const rows: RequestStatus[] = [];
  for (const req of res.items) rows.push(await statusOf(ctx, req, false));
  print(ctx, rows, () => {
    const header = ['NAMESPACE', 'NAME', 'TYPE', 'PGBOUNCER', 'PHASE', 'WORKFLOW', 'STAGE'];
    const cells = rows.map((r) => [
      r.request.namespace,
      r.request.name,
      r.request.type,
      r.request.pgbouncer,
      r.request.phase,
      r.workflow?.status ?? '-',
      r.workflow?.stage ?? '-',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    return [header, ...cells]
      .map((c) =>
        c
          .map((v, i) => v.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n');
  });
  return EXIT.ok;
}

async function cancel(ctx: Ctx, target: string | undefined): Promise<number> {
  const { namespace, name } = parseTarget(target, ctx, 'cancel');
  const req = await readRequest(ctx, namespace, name);
  const id = workflowIdFor(refOf(req));
  const d = await describeWorkflow(ctx, id);
  if (!d) throw new CliError(`no workflow for PgBouncerOpsRequest ${namespace}/${name} (${id})`, EXIT.notFound);
  if (d.status.name !== 'RUNNING') {
    ctx.out(`workflow ${id} already ended (${d.status.name}); nothing to cancel`);
    return EXIT.ok;
  }
  await ctx.temporal().workflow.getHandle(id).cancel();
  ctx.out(`cancellation requested for ${namespace}/${name}: the workflow rolls back, then marks the request Failed`);
  return EXIT.ok;
}

async function historyExport(ctx: Ctx, target: string | undefined): Promise<number> {
  const { namespace, name } = parseTarget(target, ctx, 'history export');
  const req = await readRequest(ctx, namespace, name);
  const id = workflowIdFor(refOf(req));
  const history = await ctx.temporal().workflow.getHandle(id).fetchHistory();
  ctx.out(historyToJSON(history));
  return EXIT.ok;
}

async function plan(ctx: Ctx, file: string | undefined): Promise<number> {
  const body = readManifest(file, ctx.namespace);
  // A server-side dry run: the API server validates and defaults the request exactly as `apply`
  // would, and nothing is stored. A name already taken is planned under a generated one.
  let req: PgBouncerOpsRequest;
  try {
    req = await createRequest(ctx, body, true);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const { name, ...metadata } = body.metadata;
    req = await createRequest(ctx, { ...body, metadata: { ...metadata, generateName: `${name}-` } }, true);
  }
  req.metadata.uid ??= 'dry-run';
  const ref = refOf(req);
  // gatherLiveState reads the request from the cluster; hand it the dry-run object instead.
  const custom = Object.create(ctx.kube.custom) as Kube['custom'];
  const realGet = ctx.kube.custom.getNamespacedCustomObject.bind(ctx.kube.custom);
  custom.getNamespacedCustomObject = ((param: { plural: string; namespace: string; name: string }) =>
    param.plural === api.plural && param.namespace === ref.namespace && param.name === ref.name
      ? Promise.resolve(req)
      : realGet(param as Parameters<typeof realGet>[0])) as Kube['custom']['getNamespacedCustomObject'];
  const live = await gatherLiveState({ ...ctx.kube, custom }, ctx.config, ref);
  const result = planReconfigureTLS(live);
  if (!result.ok) {
    if (ctx.output !== 'table') print(ctx, result, () => '');
    throw new CliError(
      result.errors.map((e) => (e.message.startsWith(e.field) ? e.message : `${e.field}: ${e.message}`)).join('\n'),
      EXIT.badInput,
    );
  }
  print(ctx, result.plan, () => describePlan(result.plan));
  return EXIT.ok;
}

// ---- entry ----

export async function runCli(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void; env?: NodeJS.ProcessEnv } = {
    out: (s) => process.stdout.write(s + '\n'),
    err: (s) => process.stderr.write(s + '\n'),
  },
): Promise<number> {
  let temporal: Client | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          kubeconfig: { type: 'string' },
          namespace: { type: 'string', short: 'n' },
          output: { type: 'string', short: 'o', default: 'table' },
          file: { type: 'string', short: 'f' },
          wait: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
    } catch (err) {
      throw new CliError((err as Error).message, EXIT.badInput, USAGE);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out(USAGE);
      return EXIT.ok;
    }
    const output = values.output as string;
    if (!['table', 'json', 'yaml'].includes(output))
      throw new CliError(`-o must be table, json or yaml (got "${output}")`, EXIT.badInput);
    let config: Config;
    try {
      config = loadConfig(io.env ?? process.env);
    } catch (err) {
      throw new CliError((err as Error).message, EXIT.badInput);
    }
    if (values.kubeconfig) config = { ...config, kubeconfig: values.kubeconfig };
    let kube: Kube;
    try {
      kube = createKube(config.kubeconfig || undefined);
    } catch (err) {
      throw new CliError(`kubeconfig: ${oneLine((err as Error).message)}`, EXIT.badInput);
    }
    const ctx: Ctx = {
      config,
      kube,
      namespace: values.namespace,
      output: output as Output,
      temporal: () => (temporal ??= createTemporalClient(config)),
      out: io.out,
    };
    const [command, ...rest] = positionals;
    switch (command) {
      case 'apply':
        return await apply(ctx, values.file, values.wait);
      case 'status':
        return await status(ctx, rest[0]);
      case 'list':
        return await list(ctx);
      case 'cancel':
        return await cancel(ctx, rest[0]);
      case 'history':
        if (rest[0] !== 'export') throw new CliError('history: the only subcommand is "export"', EXIT.badInput, USAGE);
        return await historyExport(ctx, rest[1]);
      case 'plan':
        return await plan(ctx, values.file);
      default:
        throw new CliError(command ? `unknown command "${command}"` : 'a command is required', EXIT.badInput, USAGE);
    }
  } catch (err) {
    const e = toCliError(err);
    // One line per problem: usage text and planner errors are several problems, each on its line.
    io.err(
      e.message
        .split('\n')
        .map((l) => `pgbtls: ${l}`)
        .join('\n'),
    );
    if (e.detail) io.err(e.detail);
    return e.exitCode;
  } finally {
    await temporal?.connection.close().catch(() => undefined);
  }
}

function isEntryPoint(): boolean {
  try {
    return Boolean(process.argv[1]) && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isEntryPoint()) process.exitCode = await runCli(process.argv.slice(2));

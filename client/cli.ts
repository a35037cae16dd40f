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
//
// This file wires the commands: cli/args.ts parses, cli/operations.ts talks to the servers,
// cli/format.ts renders.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { FINISHED_PHASES } from '../lib/api/resources.js';
import { loadConfig, type Config } from '../lib/config.js';
import { createKube, type Kube } from '../lib/kube/kube.js';
import { describePlan } from '../lib/planner/plan.js';
import type { OpsRequestRef } from '../lib/planner/types.js';
import {
  parseCommandLine,
  parseTarget,
  readManifest,
  USAGE,
  type Command,
  type CommandLine,
  type Output,
} from './cli/args.js';
import { CliError, EXIT, oneLine, toCliError } from './cli/errors.js';
import { formatFieldErrors, formatFollowLine, formatList, formatOutcome, formatStatus, render } from './cli/format.js';
import {
  applyRequest,
  cancelRequest,
  currentStatus,
  exportHistory,
  listRequests,
  planRequest,
  readRequest,
  requestStatus,
  type Session,
} from './cli/operations.js';
import { createTemporalClient } from './temporal.js';

export { CliError, EXIT, toCliError } from './cli/errors.js';
export { readManifest } from './cli/args.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** What a command has: the servers, the flags, and where to write. */
interface Ctx extends Session {
  namespace?: string;
  output: Output;
  print(value: unknown, table: () => string): void;
  out(text: string): void;
}

const exitForPhase = (phase: string) => (phase === 'Failed' ? EXIT.requestFailed : EXIT.ok);

async function apply(ctx: Ctx, file: string | undefined, wait: boolean): Promise<number> {
  const { ref, workflowId } = await applyRequest(ctx, readManifest(file, ctx.namespace));
  if (ctx.output === 'table')
    ctx.out(`pgbounceropsrequest ${ref.namespace}/${ref.name} created (workflow ${workflowId})`);
  else ctx.print({ request: ref, workflowId }, () => '');
  return wait ? follow(ctx, ref) : EXIT.ok;
}

/** Follows a request until it ends: one line each time its step or a pod changes. */
async function follow(ctx: Ctx, ref: OpsRequestRef): Promise<number> {
  let lastLine = '';
  for (;;) {
    const s = await currentStatus(ctx, ref);
    const line = formatFollowLine(s);
    if (line !== lastLine && ctx.output === 'table') ctx.out(line);
    lastLine = line;
    if (FINISHED_PHASES.has(s.request.phase)) {
      if (ctx.output === 'table') ctx.out(formatOutcome(s));
      else ctx.print(s, () => '');
      return exitForPhase(s.request.phase);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function status(ctx: Ctx, target: string | undefined): Promise<number> {
  const { namespace, name } = parseTarget(target, ctx.namespace, 'status');
  const s = await requestStatus(ctx, await readRequest(ctx, namespace, name), true);
  ctx.print(s, () => formatStatus(s));
  return exitForPhase(s.request.phase);
}

async function list(ctx: Ctx): Promise<number> {
  const rows = await listRequests(ctx, ctx.namespace);
  ctx.print(rows, () => formatList(rows));
  return EXIT.ok;
}

async function cancel(ctx: Ctx, target: string | undefined): Promise<number> {
  const { namespace, name } = parseTarget(target, ctx.namespace, 'cancel');
  const result = await cancelRequest(ctx, namespace, name);
  if (result.outcome === 'already-ended')
    ctx.out(`workflow ${result.workflowId} already ended (${result.status}); nothing to cancel`);
  else
    ctx.out(`cancellation requested for ${namespace}/${name}: the workflow rolls back, then marks the request Failed`);
  return EXIT.ok;
}

async function historyExport(ctx: Ctx, target: string | undefined): Promise<number> {
  const { namespace, name } = parseTarget(target, ctx.namespace, 'history export');
  ctx.out(await exportHistory(ctx, namespace, name));
  return EXIT.ok;
}

async function plan(ctx: Ctx, file: string | undefined): Promise<number> {
  const result = await planRequest(ctx, readManifest(file, ctx.namespace));
  if (!result.ok) {
    if (ctx.output !== 'table') ctx.print(result, () => '');
    throw new CliError(formatFieldErrors(result.errors), EXIT.badInput);
  }
  ctx.print(result.plan, () => describePlan(result.plan));
  return EXIT.ok;
}

function run(ctx: Ctx, command: Exclude<Command, { name: 'help' }>): Promise<number> {
  switch (command.name) {
    case 'apply':
      return apply(ctx, command.file, command.wait);
    case 'status':
      return status(ctx, command.target);
    case 'list':
      return list(ctx);
    case 'cancel':
      return cancel(ctx, command.target);
    case 'history export':
      return historyExport(ctx, command.target);
    case 'plan':
      return plan(ctx, command.file);
  }
}

/** The config (with --kubeconfig) and the Kubernetes client; a bad setting is bad input. */
function connect(line: CommandLine, env: NodeJS.ProcessEnv): { config: Config; kube: Kube } {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.badInput);
  }
  if (line.kubeconfig) config = { ...config, kubeconfig: line.kubeconfig };
  try {
    return { config, kube: createKube(config.kubeconfig || undefined, { userAgent: 'pgbtls-cli' }) };
  } catch (err) {
    throw new CliError(`kubeconfig: ${oneLine((err as Error).message)}`, EXIT.badInput);
  }
}

export async function runCli(
  argv: string[],
  io: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') },
): Promise<number> {
  let temporal: Client | undefined;
  try {
    const line = parseCommandLine(argv);
    if (line.command.name === 'help') {
      io.out(USAGE);
      return EXIT.ok;
    }
    const { config, kube } = connect(line, io.env ?? process.env);
    const ctx: Ctx = {
      config,
      kube,
      temporal: () => (temporal ??= createTemporalClient(config)),
      namespace: line.namespace,
      output: line.output,
      out: io.out,
      print: (value, table) => io.out(render(line.output, value, table)),
    };
    return await run(ctx, line.command);
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

// Parsing what the operator typed: the command line, `<namespace>/<name>` targets, and request
// manifests. Nothing here talks to a server.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadYaml } from '@kubernetes/client-node';
import { apiVersionOf, OPS_REQUESTS } from '../../lib/api/resources.js';
import type { PgBouncerOpsRequest } from '../../lib/api/types.js';
import { CliError, EXIT, oneLine } from './errors.js';

export const USAGE = `usage: pgbtls <command> [flags]
  apply -f request.yaml [--wait]   create a PgBouncerOpsRequest and start its workflow
  status <ns>/<name>               phase, current step and per-pod progress
  list                             requests and their workflows
  cancel <ns>/<name>               cancel the request's workflow (it rolls back)
  history export <ns>/<name>       the workflow history as JSON
  plan -f request.yaml             what the request would change (nothing is created)
flags: --kubeconfig <path>  -n, --namespace <ns>  -o, --output table|json|yaml  -f, --file <path>  --wait`;

export type Output = 'table' | 'json' | 'yaml';
const OUTPUTS: readonly string[] = ['table', 'json', 'yaml'] satisfies Output[];

export type Command =
  | { name: 'help' }
  | { name: 'apply'; file?: string; wait: boolean }
  | { name: 'status' | 'cancel' | 'history export'; target?: string }
  | { name: 'list' }
  | { name: 'plan'; file?: string };

export interface CommandLine {
  command: Command;
  kubeconfig?: string;
  namespace?: string;
  output: Output;
}

export function parseCommandLine(argv: string[]): CommandLine {
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
  const output = values.output ?? 'table';
  if (values.help) return { output: 'table', command: { name: 'help' } };
  if (!OUTPUTS.includes(output)) throw new CliError(`-o must be table, json or yaml (got "${output}")`, EXIT.badInput);
  const common = { kubeconfig: values.kubeconfig, namespace: values.namespace, output: output as Output };
  const [name, ...rest] = positionals;
  switch (name) {
    case 'apply':
      return { ...common, command: { name, file: values.file, wait: values.wait ?? false } };
    case 'plan':
      return { ...common, command: { name, file: values.file } };
    case 'list':
      return { ...common, command: { name } };
    case 'status':
    case 'cancel':
      return { ...common, command: { name, target: rest[0] } };
    case 'history':
      if (rest[0] !== 'export') throw new CliError('history: the only subcommand is "export"', EXIT.badInput, USAGE);
      return { ...common, command: { name: 'history export', target: rest[1] } };
    default:
      throw new CliError(name ? `unknown command "${name}"` : 'a command is required', EXIT.badInput, USAGE);
  }
}

/** `<namespace>/<name>`, or a bare name with -n. */
export function parseTarget(
  arg: string | undefined,
  namespace: string | undefined,
  command: string,
): { namespace: string; name: string } {
  if (!arg) throw new CliError(`${command}: expected <namespace>/<name>`, EXIT.badInput);
  const parts = arg.split('/');
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  if (parts.length === 1 && namespace) return { namespace, name: arg };
  throw new CliError(`${command}: "${arg}" is not <namespace>/<name> (or give -n and a name)`, EXIT.badInput);
}

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
  const apiVersion = apiVersionOf(OPS_REQUESTS);
  if (obj.kind !== 'PgBouncerOpsRequest' || obj.apiVersion !== apiVersion)
    throw new CliError(
      `${file}: kind must be PgBouncerOpsRequest and apiVersion ${apiVersion} (got ${obj.kind ?? 'no kind'}, ${obj.apiVersion ?? 'no apiVersion'})`,
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

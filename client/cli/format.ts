// How the CLI shows what it found: tables and lines for people, JSON or YAML for scripts.
import { dumpYaml } from '@kubernetes/client-node';
import type { FieldError } from '../../lib/planner/types.js';
import type { Output } from './args.js';
import type { RequestStatus } from './operations.js';

/** The value as JSON or YAML, or the table's text for people. */
export function render(output: Output, value: unknown, table: () => string): string {
  if (output === 'json') return JSON.stringify(value, null, 2);
  if (output === 'yaml') return dumpYaml(value).trimEnd();
  return table();
}

const podsLine = (s: RequestStatus) =>
  (s.progress?.pods ?? []).map((pod) => `${pod.name} ${pod.status} (${pod.method})`).join(', ');

/** 2027-03-01T10:15:00.000Z → 2027-03-01T10:15:00Z; other text as it is. */
const shortTime = (t: string) => t.replace(/\.\d{3}Z$/, 'Z');

export function formatStatus(s: RequestStatus): string {
  const lines = [
    `request:   ${s.request.namespace}/${s.request.name} (${s.request.type} on PgBouncer ${s.request.pgbouncer})`,
    `phase:     ${s.request.phase}`,
    `workflow:  ${s.workflow ? `${s.workflow.id} ${s.workflow.status}` : 'not started'}`,
  ];
  const p = s.progress;
  if (p || s.workflow?.stage)
    lines.push(`step:      ${p?.stage ?? s.workflow?.stage}${p?.intent ? ` (${p.intent})` : ''}`);
  if (p?.pods.length) lines.push(`pods:      ${podsLine(s)}`);
  for (const c of p?.certificates ?? []) lines.push(`cert:      ${c.alias} serial ${c.serialHex} until ${c.notAfter}`);
  if (p?.compensating) lines.push(`rollback:  compensating (${p.error ?? 'failure'})`);
  if (s.message) lines.push(`message:   ${s.message}`);
  for (const c of s.certificates ?? [])
    lines.push(`expires:   ${c.alias} ${shortTime(c.notAfter)}, next renewal ${shortTime(c.nextRenewal)}`);
  return lines.join('\n');
}

/** One line while following a request: its phase, step and pods. */
export function formatFollowLine(s: RequestStatus): string {
  const step = s.progress?.stage ?? s.workflow?.stage ?? 'waiting for the workflow';
  const pods = podsLine(s);
  return `[${s.request.phase}] ${step}${pods ? `  pods: ${pods}` : ''}`;
}

export const formatOutcome = (s: RequestStatus) => `${s.request.phase}${s.message ? `: ${s.message}` : ''}`;

export function formatList(rows: RequestStatus[]): string {
  const header = ['NAMESPACE', 'NAME', 'TYPE', 'PGBOUNCER', 'PHASE', 'WORKFLOW', 'STAGE', 'NOT AFTER', 'NEXT RENEWAL'];
  const cells = rows.map((r) => [
    r.request.namespace,
    r.request.name,
    r.request.type,
    r.request.pgbouncer,
    r.request.phase,
    r.workflow?.status ?? '-',
    r.workflow?.stage ?? '-',
    r.certificates?.map((c) => `${c.alias} ${shortTime(c.notAfter)}`).join(', ') || '-',
    r.certificates?.[0] ? shortTime(r.certificates[0].nextRenewal) : '-',
  ]);
  return formatTable(header, cells);
}

/** Columns padded to their widest cell, two spaces apart. */
export function formatTable(header: string[], cells: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [header, ...cells]
    .map((c) =>
      c
        .map((v, i) => v.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Planner errors, one a line, each naming its field. */
export const formatFieldErrors = (errors: FieldError[]) =>
  errors.map((e) => (e.message.startsWith(e.field) ? e.message : `${e.field}: ${e.message}`)).join('\n');

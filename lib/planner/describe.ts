// The plan as a person reads it: what the CLI's `plan` prints before anything changes.
import type { X509Subject } from '../api/types.js';
import { formatDuration } from './format.js';
import type { CertificatePlan, Intent, Plan } from './types.js';

const INTENT_TEXT: Record<Intent, string> = {
  add: 'add TLS',
  rotate: 'rotate: re-issue the certificates from the same issuer',
  'change-issuer': 'change issuer: re-issue the certificates from another CA',
  remove: 'remove TLS',
  reissue: 're-issue the certificates with the new certificate spec',
  'update-settings': 'update TLS settings; no certificate is issued',
};

const SUBJECT_KEYS: [keyof X509Subject, string][] = [
  ['organizations', 'O'],
  ['organizationalUnits', 'OU'],
  ['countries', 'C'],
  ['provinces', 'ST'],
  ['localities', 'L'],
  ['streetAddresses', 'street'],
  ['postalCodes', 'postalCode'],
];

function subjectText(c: CertificatePlan): string {
  const parts = [`CN=${c.commonName}`];
  for (const [key, label] of SUBJECT_KEYS) {
    for (const value of (c.subject?.[key] as string[] | undefined) ?? []) parts.push(`${label}=${value}`);
  }
  if (c.subject?.serialNumber) parts.push(`serialNumber=${c.subject.serialNumber}`);
  return parts.join(', ');
}

const LIST_WIDTH = 110;

/** `    DNS:      a, b, c,` wrapped at LIST_WIDTH, continuation lines aligned under the first item. */
function listLines(label: string, items: string[]): string[] {
  const indent = '    ' + ' '.repeat(10);
  const lines: string[] = [];
  let line = `    ${label.padEnd(10)}`;
  items.forEach((item, i) => {
    const piece = i < items.length - 1 ? `${item}, ` : item;
    if (line.length + piece.length > LIST_WIDTH && line.trim() !== label) {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += piece;
  });
  if (items.length) lines.push(line);
  return lines;
}

function certificateLines(c: CertificatePlan): string[] {
  const issuer = `${c.issuer.kind} "${c.issuer.name}"${c.issuer.caNotAfter ? ` (CA valid until ${c.issuer.caNotAfter})` : ''}`;
  const lines = [
    `  ${c.alias} (${c.usage} certificate) → Secret ${c.secretName}, staged in ${c.stagingSecretName}`,
    `    issuer:   ${issuer}`,
    `    subject:  ${subjectText(c)}`,
    `    key:      ${c.privateKey.algorithm} ${c.privateKey.size}, ${c.privateKey.encoding}; valid ${formatDuration(c.durationMs)}`,
  ];
  lines.push(...listLines('DNS:', c.dnsNames), ...listLines('IP:', c.ipAddresses));
  lines.push(...listLines('URI:', c.uris), ...listLines('e-mail:', c.emailAddresses));
  return lines;
}

export function describePlan(plan: Plan): string {
  const { namespace, name } = plan.pgbouncer;
  const on = (b: boolean) => (b ? 'on' : 'off');
  const lines = [
    `PgBouncer ${namespace}/${name}: ${INTENT_TEXT[plan.intent]}`,
    `  TLS ${on(plan.tlsBefore)} → ${on(plan.tlsAfter)}; sslMode ${plan.newSpec.sslMode}${plan.newSpec.authType ? `; auth_type ${plan.newSpec.authType}` : ''}`,
  ];
  if (plan.newSpec.tls?.issuerRef) {
    lines.push(`  spec.tls.issuerRef: ${plan.newSpec.tls.issuerRef.kind} "${plan.newSpec.tls.issuerRef.name}"`);
  }

  if (plan.certificates.length) {
    lines.push('', 'Certificates to issue (each into its staging Secret, then swapped into the live Secret):');
    for (const c of plan.certificates) lines.push(...certificateLines(c));
    lines.push(
      plan.caBundleDuringRoll === 'old+new'
        ? '  ca.crt carries the old and the new CA until every pod serves the new certificate, then the new CA only'
        : '  ca.crt carries the new CA',
    );
  } else {
    lines.push('', 'Certificates to issue: none');
  }

  if (plan.revoke.length) {
    lines.push('', 'Revoke (serials recorded on the CRL of the CA that signed them):');
    for (const r of plan.revoke) lines.push(`  ${r.alias} serial ${r.serialHex} (${r.issuer.kind} "${r.issuer.name}")`);
  }
  if (plan.deleteSecrets.length) {
    lines.push('', 'Secrets deleted when the request succeeds:');
    for (const s of plan.deleteSecrets) lines.push(`  ${s}`);
  }

  lines.push('', 'Pods, one at a time, highest ordinal first:');
  if (plan.pods.length === 0) lines.push('  none');
  const drain = plan.drainBoundMs ? `drain up to ${formatDuration(plan.drainBoundMs)}, then eviction` : 'eviction';
  for (const p of plan.pods) {
    lines.push(`  ${p.name}: ${p.method === 'reload' ? 'reload (RELOAD, no restart)' : `restart (${drain})`}`);
  }

  const deadline = plan.stepTimeoutMs ? `at most ${formatDuration(plan.stepTimeoutMs)} each` : 'no deadline';
  lines.push('', `Steps: ${deadline}; a failed step is tried ${plan.maxRetries} more time(s)`);

  if (plan.warnings.length) {
    lines.push('', 'Warnings:');
    for (const w of plan.warnings) lines.push(`  ! ${w}`);
  }
  return lines.join('\n');
}

// "Revoke" as PgBouncer allows it (it has no CRL option): stop serving, delete the key, and
// record the serial in a CRL that the CA publishes next to its own Secret, `<ca-secret>-crl`.
import { crlSecretName } from '../../lib/api/names.js';
import { buildCrl } from '../../lib/certificates/index.js';
import type { Kube } from '../../lib/kube/kube.js';
import type { IssuerSummary, Plan } from '../../lib/planner/types.js';
import { CRL_LABEL, ORCHESTRATOR } from '../../lib/api/ownership.js';
import { assertCrlSecretOurs, b64, unb64, writeSecret } from '../kubernetes/secrets.js';
import { loadIssuerCA } from './ca-source.js';

interface RevokedEntry {
  serialHex: string;
  revokedAt: string;
  reason: 'superseded' | 'cessationOfOperation' | 'affiliationChanged';
}

const CRL_VALIDITY_MS = 7 * 24 * 3600_000;

export async function recordRevocations(
  kube: Kube,
  plan: Plan,
  now = new Date(),
): Promise<{ crlSecret: string; serials: string[] }[]> {
  const reason: RevokedEntry['reason'] =
    plan.intent === 'remove'
      ? 'cessationOfOperation'
      : plan.intent === 'change-issuer'
        ? 'affiliationChanged'
        : 'superseded';
  const byIssuer = new Map<string, { issuer: IssuerSummary; serials: string[] }>();
  for (const r of plan.revoke) {
    const key = `${r.issuer.caSecretNamespace}/${r.issuer.caSecretName}`;
    const entry = byIssuer.get(key) ?? { issuer: r.issuer, serials: [] };
    entry.serials.push(r.serialHex);
    byIssuer.set(key, entry);
  }
  const written: { crlSecret: string; serials: string[] }[] = [];
  for (const { issuer, serials } of byIssuer.values()) {
    const ca = await loadIssuerCA(kube, issuer);
    const name = crlSecretName(issuer.caSecretName);
    const existing = await assertCrlSecretOurs(kube, issuer.caSecretNamespace, name);
    const entries: RevokedEntry[] = existing ? JSON.parse(unb64(existing.data?.['revoked.json']) || '[]') : [];
    const known = new Set(entries.map((e) => e.serialHex));
    const added = serials.filter((s) => !known.has(s));
    if (existing && added.length === 0) {
      written.push({ crlSecret: name, serials });
      continue; // a retry after the CRL was written
    }
    entries.push(...added.map((serialHex) => ({ serialHex, revokedAt: now.toISOString(), reason })));
    const crlNumber = Number(unb64(existing?.data?.['crlNumber']) || '0') + 1;
    const crlPem = buildCrl({
      ca,
      revoked: entries.map((e) => ({ serialHex: e.serialHex, revokedAt: new Date(e.revokedAt), reason: e.reason })),
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + CRL_VALIDITY_MS),
      crlNumber,
    });
    await writeSecret(kube, issuer.caSecretNamespace, name, {
      type: 'Opaque',
      data: {
        'ca.crl': b64(crlPem),
        'revoked.json': b64(JSON.stringify(entries)),
        crlNumber: b64(String(crlNumber)),
        'ca.crt': b64(ca.certPem),
      },
      labels: { 'app.kubernetes.io/managed-by': ORCHESTRATOR, [CRL_LABEL]: 'true' },
      annotations: { 'pgbtls.dev/issuer': `${issuer.kind}/${issuer.name}` },
    });
    written.push({ crlSecret: name, serials });
  }
  return written;
}

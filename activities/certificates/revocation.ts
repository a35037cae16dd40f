// "Revoke" as PgBouncer allows it (it has no CRL option): stop serving, delete the key, and
// record the serial in a CRL that the CA publishes next to its own Secret, `<ca-secret>-crl`.
import type { V1Secret } from '@kubernetes/client-node';
import { crlSecretName } from '../../lib/api/names.js';
import { CRL_LABEL, crlSecretOwnership, ORCHESTRATOR } from '../../lib/api/ownership.js';
import { buildCrl, type CAKeyPair } from '../../lib/certificates/index.js';
import { isConflict, type Kube } from '../../lib/kube/kube.js';
import type { IssuerSummary, Plan } from '../../lib/planner/types.js';
import { invalidInput } from '../failures.js';
import { b64, readSecret, unb64, writeSecret, type SecretContent } from '../kubernetes/secrets.js';
import { loadIssuerCA } from './ca-source.js';

interface RevokedEntry {
  serialHex: string;
  revokedAt: string;
  reason: 'superseded' | 'cessationOfOperation' | 'affiliationChanged';
}

/** How long a CRL is valid; it is re-signed once less than half of that is left (refreshCrls). */
export const CRL_VALIDITY_MS = 7 * 24 * 3600_000;
const CRL_REFRESH_WHEN_LEFT_MS = CRL_VALIDITY_MS / 2;
/** Compare-and-swap attempts within one activity attempt before the conflict is left to Temporal's retry. */
const CAS_ATTEMPTS = 5;

const CA_SECRET_ANNOTATION = 'pgbtls.dev/ca-secret';

/** A CRL Secret we wrote (lib/api/ownership.ts): it carries our CRL label or our managed-by label. */
export const isOurCrlSecret = (secret: V1Secret): boolean => crlSecretOwnership(secret.metadata) === 'ours';

function refuseForeign(namespace: string, name: string): never {
  throw invalidInput(
    `Secret ${namespace}/${name} exists but was not created by pgbouncer-tls-orchestrator (no label ${CRL_LABEL}=true); ` +
      `refusing to overwrite it. Rename or delete it, or label it ${CRL_LABEL}=true to hand it over`,
  );
}

interface CrlState {
  entries: RevokedEntry[];
  crlNumber: number;
}

const stateOf = (secret: V1Secret | undefined): CrlState => ({
  entries: secret ? JSON.parse(unb64(secret.data?.['revoked.json']) || '[]') : [],
  crlNumber: Number(unb64(secret?.data?.['crlNumber']) || '0'),
});

/** The CRL Secret's content for `state`, signed now with the next CRL number. */
function signedContent(ca: CAKeyPair, issuer: string, caSecretName: string, state: CrlState, now: Date): SecretContent {
  const crlNumber = state.crlNumber + 1;
  const nextUpdate = new Date(now.getTime() + CRL_VALIDITY_MS);
  const crlPem = buildCrl({
    ca,
    revoked: state.entries.map((e) => ({ serialHex: e.serialHex, revokedAt: new Date(e.revokedAt), reason: e.reason })),
    thisUpdate: now,
    nextUpdate,
    crlNumber,
  });
  return {
    type: 'Opaque',
    data: {
      'ca.crl': b64(crlPem),
      'revoked.json': b64(JSON.stringify(state.entries)),
      crlNumber: b64(String(crlNumber)),
      nextUpdate: b64(nextUpdate.toISOString()),
      'ca.crt': b64(ca.certPem),
    },
    labels: { 'app.kubernetes.io/managed-by': ORCHESTRATOR, [CRL_LABEL]: 'true' },
    annotations: { 'pgbtls.dev/issuer': issuer, [CA_SECRET_ANNOTATION]: caSecretName },
  };
}

/**
 * Reads the CRL Secret, lets `change` decide the new state (undefined: nothing to write), and
 * writes it as a compare-and-swap; on a conflict (another pooler of the same CA wrote first) it
 * reads again and recomputes, so no serial is lost and no CRL number repeats.
 */
async function updateCrlSecret(
  kube: Kube,
  namespace: string,
  name: string,
  content: (current: CrlState) => SecretContent | undefined,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const existing = await readSecret(kube, namespace, name);
    if (existing && !isOurCrlSecret(existing)) refuseForeign(namespace, name);
    const next = content(stateOf(existing));
    if (!next) return false;
    try {
      await writeSecret(kube, namespace, name, next, existing);
      return true;
    } catch (err) {
      if (!isConflict(err) || attempt >= CAS_ATTEMPTS) throw err;
    }
  }
}

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
    await updateCrlSecret(kube, issuer.caSecretNamespace, name, (state) => {
      const known = new Set(state.entries.map((e) => e.serialHex));
      const added = serials.filter((s) => !known.has(s));
      if (state.crlNumber > 0 && added.length === 0) return undefined; // a retry after the CRL was written
      const entries = [
        ...state.entries,
        ...added.map((serialHex) => ({ serialHex, revokedAt: now.toISOString(), reason })),
      ];
      return signedContent(ca, `${issuer.kind}/${issuer.name}`, issuer.caSecretName!, { ...state, entries }, now);
    });
    written.push({ crlSecret: name, serials });
  }
  return written;
}

/**
 * Re-signs every CRL of ours whose nextUpdate is less than half its validity away, so clients
 * that check the CRL (PostgreSQL's ssl_crl_file, OpenSSL's -crl_check) never find it expired.
 * The worker calls this periodically; a CA Secret that is gone or broken is reported and skipped.
 */
export async function refreshCrls(
  kube: Kube,
  /** Where CRLs may live: the managed namespaces and the cluster-resource namespace; empty: every namespace. */
  namespaces: string[] = [],
  now = new Date(),
): Promise<{ refreshed: string[]; failed: { crlSecret: string; error: string }[] }> {
  const labelSelector = `${CRL_LABEL}=true`;
  // Listed per namespace when the worker manages a list of them, so it needs no Secret access beyond those.
  const items = namespaces.length
    ? (
        await Promise.all(
          [...new Set(namespaces)].map(
            async (namespace) => (await kube.core.listNamespacedSecret({ namespace, labelSelector })).items,
          ),
        )
      ).flat()
    : (await kube.core.listSecretForAllNamespaces({ labelSelector })).items;
  const refreshed: string[] = [];
  const failed: { crlSecret: string; error: string }[] = [];
  for (const secret of items) {
    const namespace = secret.metadata!.namespace!;
    const name = secret.metadata!.name!;
    const nextUpdate = Date.parse(unb64(secret.data?.nextUpdate));
    if (Number.isFinite(nextUpdate) && nextUpdate - now.getTime() > CRL_REFRESH_WHEN_LEFT_MS) continue;
    const caSecretName = secret.metadata?.annotations?.[CA_SECRET_ANNOTATION] ?? name.replace(/-crl$/, '');
    const issuer = secret.metadata?.annotations?.['pgbtls.dev/issuer'] ?? '';
    try {
      const [kind, issuerName] = issuer.split('/');
      const ca = await loadIssuerCA(kube, {
        kind: kind === 'ClusterIssuer' ? 'ClusterIssuer' : 'Issuer',
        name: issuerName ?? caSecretName,
        caSecretNamespace: namespace,
        caSecretName,
      });
      const wrote = await updateCrlSecret(kube, namespace, name, (state) => {
        // Someone refreshed it meanwhile (another worker): nothing to do.
        return state.crlNumber > Number(unb64(secret.data?.crlNumber) || '0')
          ? undefined
          : signedContent(ca, issuer, caSecretName, state, now);
      });
      if (wrote) refreshed.push(`${namespace}/${name}`);
    } catch (err) {
      failed.push({ crlSecret: `${namespace}/${name}`, error: (err as Error).message });
    }
  }
  return { refreshed, failed };
}

// The swap: live certificate Secrets take the staging material, the PgBouncer spec takes the new
// TLS fields, and the config Secret and StatefulSet template are rendered by the provisioner's
// own functions (same field manager), so after resume the provisioner finds nothing to change.
import type { KubernetesObject } from '@kubernetes/client-node';
import { PGBOUNCERS } from '../../lib/api/resources.js';
import type { PgBouncer } from '../../lib/api/types.js';
import { describeCertificate, splitPemBundle } from '../../lib/certificates/index.js';
import { mergePatch, type Kube } from '../../lib/kube/kube.js';
import type { Plan } from '../../lib/planner/types.js';
import { resolveBackend } from '../../lib/pgbouncer/backend.js';
import { desiredObjects } from '../../lib/pgbouncer/desired-objects.js';
import { applyAsProvisioner } from '../../lib/pgbouncer/apply.js';
import { authSecretName } from '../../lib/api/names.js';
import { renderPgBouncerIni } from '../../lib/pgbouncer/render-ini.js';
import { poolerUsers, renderUserlist } from '../../lib/pgbouncer/userlist.js';
import type { MintedCertificate } from '../certificates/mint.js';
import { objectGone } from '../failures.js';
import { readPgBouncer } from './pause.js';
import { readSnapshot, restoreSnapshotContents } from './snapshot.js';
import { markOwned, poolerOwnerReference } from '../../lib/api/ownership.js';
import { assertSecretOurs, b64, readSecret, unb64, writeSecret } from './secrets.js';

/** Renders config and StatefulSet for `pb` as it is now, and applies them as the provisioner would. */
export async function applyRenderedObjects(kube: Kube, pb: PgBouncer): Promise<string[]> {
  const backend = await resolveBackend(kube, pb);
  const auth = await readSecret(kube, pb.metadata.namespace!, authSecretName(pb));
  const password = unb64(auth?.data?.password);
  if (!password)
    throw objectGone(
      `Secret ${pb.metadata.namespace}/${authSecretName(pb)} has no password; the provisioner creates it`,
    );
  const desired = desiredObjects(
    pb,
    renderPgBouncerIni(pb, backend.address),
    renderUserlist(poolerUsers(password, backend.credentials)),
  );
  const changed: string[] = [];
  for (const obj of [desired.configSecret, desired.userlistSecret, desired.statefulSet] as KubernetesObject[]) {
    const { change } = await applyAsProvisioner(kube, obj);
    if (change) changed.push(change);
  }
  return changed;
}

async function patchPgBouncerSpec(kube: Kube, plan: Plan): Promise<PgBouncer> {
  const { namespace, name } = plan.pgbouncer;
  await kube.custom.patchNamespacedCustomObject(
    {
      ...PGBOUNCERS,
      namespace,
      name,
      // tls and sslMode change together: the CRD refuses TLS modes without spec.tls.
      body: {
        spec: {
          tls: plan.newSpec.tls ?? null,
          sslMode: plan.newSpec.sslMode,
          ...(plan.newSpec.authType ? { connectionPool: { authType: plan.newSpec.authType } } : {}),
        },
      },
    },
    mergePatch,
  );
  const pb = await readPgBouncer(kube, namespace, name);
  if (!pb) throw objectGone(`PgBouncer ${namespace}/${name} no longer exists`);
  return pb;
}

export async function applyNewConfiguration(kube: Kube, plan: Plan, minted: MintedCertificate[]): Promise<string[]> {
  const { namespace } = plan.pgbouncer;
  const changed: string[] = [];
  for (const m of minted) {
    const owner = { name: plan.pgbouncer.name, uid: plan.pgbouncer.uid };
    const staging = await assertSecretOurs(kube, namespace, m.stagingSecretName, owner);
    const live = await assertSecretOurs(kube, namespace, m.secretName, owner);
    if (live && live.data?.['tls.crt'] === staging?.data?.['tls.crt'] && live.data?.['tls.crt']) continue; // a retry: already swapped
    if (!staging)
      throw objectGone(`staging Secret ${namespace}/${m.stagingSecretName} is gone; the request must be retried`);
    const newCa = unb64(staging.data?.['ca.crt']);
    // During an issuer change ca.crt trusts both CAs, so clients and pods on either side verify.
    const oldCas = plan.caBundleDuringRoll === 'old+new' ? splitPemBundle(unb64(live?.data?.['ca.crt'])) : [];
    const bundle = [newCa.trim(), ...oldCas.map((c) => c.trim()).filter((c) => c !== newCa.trim())].join('\n') + '\n';
    await writeSecret(
      kube,
      namespace,
      m.secretName,
      markOwned(
        {
          type: 'kubernetes.io/tls',
          data: { 'tls.crt': staging.data!['tls.crt'], 'tls.key': staging.data!['tls.key'], 'ca.crt': b64(bundle) },
          labels: { 'app.kubernetes.io/instance': plan.pgbouncer.name },
          annotations: staging.metadata?.annotations,
          ownerReferences: [{ ...poolerOwnerReference(owner), controller: true, blockOwnerDeletion: true }],
        },
        owner,
      ),
      live,
    );
    changed.push(`Secret/${m.secretName}`);
  }
  const pb = await patchPgBouncerSpec(kube, plan);
  changed.push(`PgBouncer/${plan.pgbouncer.name}`);
  changed.push(...(await applyRenderedObjects(kube, pb)));
  return changed;
}

/** After an issuer change has reached every pod: ca.crt holds only the new CA. */
export async function finalizeCaBundle(kube: Kube, plan: Plan, minted: MintedCertificate[]): Promise<void> {
  const { namespace } = plan.pgbouncer;
  for (const m of minted) {
    const live = await assertSecretOurs(kube, namespace, m.secretName, plan.pgbouncer);
    if (!live) throw objectGone(`Secret ${namespace}/${m.secretName} is gone`);
    const cas = splitPemBundle(unb64(live.data?.['ca.crt']));
    const newCa = cas.find((c) => describeCertificate(c).fingerprintSha256 === m.caFingerprintSha256);
    if (!newCa || cas.length === 1) continue;
    await writeSecret(
      kube,
      namespace,
      m.secretName,
      {
        type: live.type ?? 'kubernetes.io/tls',
        data: { ...live.data, 'ca.crt': b64(newCa.trim() + '\n') },
        labels: live.metadata?.labels,
        annotations: live.metadata?.annotations,
        ownerReferences: live.metadata?.ownerReferences,
      },
      live,
    );
  }
}

/**
 * Compensation: the snapshot's spec and Secrets back, and the StatefulSet rendered from them.
 * Idempotent; a PgBouncer deleted meanwhile is done (nothing to restore into). A snapshot that is
 * gone is not: that fails non-retryably and is reported as left undone.
 */
export async function restoreConfiguration(
  kube: Kube,
  plan: Plan,
  snapshotName: string,
): Promise<'restored' | 'pgbouncer-gone'> {
  const { namespace, name } = plan.pgbouncer;
  if (!(await readPgBouncer(kube, namespace, name))) return 'pgbouncer-gone';
  const snapshot = await readSnapshot(kube, namespace, snapshotName, plan.pgbouncer);
  await restoreSnapshotContents(kube, namespace, name, snapshot, plan.pgbouncer);
  const pb = await readPgBouncer(kube, namespace, name);
  if (!pb) return 'pgbouncer-gone'; // deleted meanwhile
  await applyRenderedObjects(kube, pb);
  // The rendered config equals the snapshot's when nothing else moved; the snapshot's bytes win.
  await restoreSnapshotContents(kube, namespace, name, snapshot, plan.pgbouncer);
  return 'restored';
}

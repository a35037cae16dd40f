// How the worker logs in to one pod's admin console (RELOAD, SHOW CLIENTS): as the pooler's admin
// user, over TLS verified against every CA the pod may be serving under during a change — the
// current ca.crt, the snapshot's (what the pod served before the change) and the staging Secret's
// (what a rollback replaces) — for the pod's own DNS name or the Service's. Without any CA there is
// no admin access: the password is never sent to an unverified peer.
import { authSecretName, certificateSecretName, governingServiceName } from '../../lib/api/names.js';
import type { V1Secret } from '@kubernetes/client-node';
import type { PgBouncer } from '../../lib/api/types.js';
import type { Kube } from '../../lib/kube/kube.js';
import type { AdminConnection } from '../../lib/pgbouncer/admin-console.js';
import { TLS_CA_KEY, TLS_CERT_KEY, TLS_KEY_KEY } from '../../lib/pgbouncer/paths.js';
import { effectiveSslMode } from '../../lib/pgbouncer/tls-settings.js';
import type { Snapshot } from '../kubernetes/snapshot.js';
import { assertSecretOurs, readSecret, unb64 } from '../kubernetes/secrets.js';

export interface AdminAccessTarget {
  namespace: string;
  pgbouncer: string;
  pod: string;
  /** The request's snapshot Secret: its server ca.crt is what the pod served before the change. */
  snapshot?: string;
  /** Staging Secrets of the request (their ca.crt: what a rolled-back pod may still serve). */
  staging?: string[];
}

export type AdminAccess = Pick<AdminConnection, 'user' | 'password' | 'tls'>;

const pemBlocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

async function readSnapshotOf(kube: Kube, pb: PgBouncer, t: AdminAccessTarget): Promise<Snapshot | undefined> {
  if (!t.snapshot) return undefined;
  const secret = await assertSecretOurs(kube, t.namespace, t.snapshot, {
    name: pb.metadata.name!,
    uid: pb.metadata.uid!,
  }).catch(() => undefined);
  return secret ? (JSON.parse(unb64(secret.data?.['snapshot.json'])) as Snapshot) : undefined;
}

const checksClientCertificates = (mode: string) => mode === 'verify-ca' || mode === 'verify-full';

/** `known.server`: the server certificate Secret as the caller just read it (undefined: gone), not read again. */
export async function adminAccess(
  kube: Kube,
  pb: PgBouncer,
  t: AdminAccessTarget,
  known?: { server: V1Secret | undefined },
): Promise<AdminAccess> {
  const authSecret = await readSecret(kube, t.namespace, authSecretName(pb));
  const login = {
    user: unb64(authSecret?.data?.username) || 'pgbouncer',
    password: unb64(authSecret?.data?.password),
  };
  const server = known ? known.server : await readSecret(kube, t.namespace, certificateSecretName(pb, 'server'));
  const staged = await Promise.all((t.staging ?? []).map((name) => readSecret(kube, t.namespace, name)));
  const snapshot = await readSnapshotOf(kube, pb, t);
  const cas = [
    unb64(server?.data?.[TLS_CA_KEY]),
    unb64(snapshot?.secrets[certificateSecretName(pb, 'server')]?.data?.[TLS_CA_KEY]),
    ...staged.map((s) => unb64(s?.data?.[TLS_CA_KEY])),
  ];
  const caBundle = [...new Set(cas.flatMap(pemBlocks))].join('\n');
  if (!caBundle) return login;
  // The pooler's own client certificate (CN = the admin user) only where the pod demands one
  // (verify-ca/verify-full, before or after the change): PgBouncer checks a presented certificate
  // against its CA even under require, so a certificate from a new CA, shown to a pod that still
  // trusts the old one, would fail the handshake.
  const snapshotMode = snapshot
    ? effectiveSslMode({ ...pb, spec: { ...pb.spec, ...snapshot.pgbouncerSpec } } as PgBouncer)
    : 'disable';
  const client = [effectiveSslMode(pb), snapshotMode].some(checksClientCertificates)
    ? await readSecret(kube, t.namespace, certificateSecretName(pb, 'client'))
    : undefined;
  const clientTls = client?.data?.[TLS_KEY_KEY]
    ? { certPem: unb64(client.data[TLS_CERT_KEY]), keyPem: unb64(client.data[TLS_KEY_KEY]) }
    : {};
  return {
    ...login,
    tls: {
      ...clientTls,
      caBundle,
      hostnames: [
        `${t.pod}.${governingServiceName(t.pgbouncer)}.${t.namespace}.svc`,
        `${t.pgbouncer}.${t.namespace}.svc`,
      ],
    },
  };
}

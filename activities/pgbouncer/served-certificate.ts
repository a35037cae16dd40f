// Proof that a pod serves what the workflow intended: probe it as a PostgreSQL client would
// (SSLRequest, then the TLS handshake) until the served leaf is the intended one, its chain
// verifies against the CA bundle clients hold, and it is valid for the pod's DNS name — or, when
// TLS is gone, until the pod answers the SSLRequest with N. With `reload`, the pod is first asked
// to RELOAD (again on each try: the kubelet projects a changed Secret into a running pod only
// after a delay). Bounded: past the deadline the mismatch fails the step, which compensates.
import type { V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { describeCertificate } from '../../lib/certificates/index.js';
import type { Kube } from '../../lib/kube/kube.js';
import { reloadPgBouncer, type AdminConnection } from '../../lib/pgbouncer/admin-console.js';
import { probeServedTls, type ServedTls } from '../../lib/pgbouncer/tls-probe.js';
import { certificateSecretName, governingServiceName } from '../../lib/api/names.js';
import { adminAccess } from './admin-access.js';
import { CONTAINER_PORT_NAME } from '../../lib/pgbouncer/desired-objects.js';
import { effectiveSslMode } from '../../lib/pgbouncer/tls-settings.js';
import { TLS_CA_KEY, TLS_CERT_KEY } from '../../lib/pgbouncer/paths.js';
import { readPgBouncer } from '../kubernetes/pause.js';
import { FAILURE_TYPES } from '../../lib/failure-types.js';
import { objectGone } from '../failures.js';
import { expectPodWanted, podReader, WANTED_CHECK_MS, type WaitHooks } from '../kubernetes/pods.js';
import { readSecret, unb64 } from '../kubernetes/secrets.js';

export interface ServingTarget {
  namespace: string;
  pgbouncer: string;
  pod: string;
  /** Whether the pod has TLS configured; with sslMode disable it still offers none. */
  tls: boolean;
  /** The leaf it must serve; absent: whatever the server certificate Secret holds now. */
  fingerprintSha256?: string;
  /** Send RELOAD through the admin console until the pod serves what was intended. */
  reload: boolean;
  /** The request's snapshot Secret and staging Secrets: more CAs the admin console may be served under. */
  snapshot?: string;
  staging?: string[];
}

export interface ServingCheck {
  pod: string;
  address: string;
  /** What the pod serves now. */
  served: { tls: false } | { tls: true; serialHex: string; fingerprintSha256: string; notAfter: string };
  probes: number;
  reloads: number;
  /** From the first probe to the one that matched. */
  elapsedMs: number;
}

const RELOAD_EVERY_MS = 1_000;

/**
 * What "right" means for this pod, read from the live objects (after a swap or a restore). The
 * admin console's credentials and client certificate are read only to RELOAD.
 */
async function expectation(kube: Kube, t: ServingTarget) {
  const pb = await readPgBouncer(kube, t.namespace, t.pgbouncer);
  if (!pb) throw objectGone(`PgBouncer ${t.namespace}/${t.pgbouncer} is gone`);
  const hostname = `${t.pod}.${governingServiceName(t.pgbouncer)}.${t.namespace}.svc`;
  // What the configuration means, not whether certificates exist: sslMode disable keeps the
  // certificates mounted, yet the pooler answers the SSLRequest with N.
  const wantsTls = t.tls && effectiveSslMode(pb) !== 'disable';
  const serverSecretName = certificateSecretName(pb, 'server');
  // Read once, for the expectation and for the admin console's CAs alike.
  const server = wantsTls || t.reload ? await readSecret(kube, t.namespace, serverSecretName) : undefined;
  // The admin console is reached over TLS the pod serves now, which may be what it served before
  // the change (a RELOAD that turns TLS off, or one that rolls a new CA back). Read only to RELOAD.
  const admin = t.reload ? await adminAccess(kube, pb, t, { server }) : undefined;
  if (!wantsTls) return { pb, hostname, admin, tls: undefined };
  const certPem = unb64(server?.data?.[TLS_CERT_KEY]);
  const caBundle = unb64(server?.data?.[TLS_CA_KEY]);
  if (!certPem || !caBundle) {
    throw objectGone(
      `Secret ${t.namespace}/${serverSecretName} has no ${TLS_CERT_KEY} or ${TLS_CA_KEY}: nothing to compare the served certificate with`,
    );
  }
  const fingerprintSha256 = t.fingerprintSha256 ?? describeCertificate(certPem, serverSecretName).fingerprintSha256;
  return { pb, hostname, admin, tls: { fingerprintSha256, caBundle, serverSecretName } };
}

type Expectation = Awaited<ReturnType<typeof expectation>>;
export type ExpectationSource = (kube: Kube, t: ServingTarget) => Promise<Expectation>;

/**
 * Expectations kept per intended certificate, for the pods of one roll: after the swap, nothing
 * they are read from changes until the roll ends, so the second and third pod need no reads. Only
 * where the target names the certificate just minted (its fingerprint is new, so it names one
 * swap); a rollback, which names none, reads the restored objects every time.
 */
export function rememberedExpectations(max = 1_000): ExpectationSource {
  const kept = new Map<string, Promise<Expectation>>();
  return (kube, t) => {
    if (!t.fingerprintSha256) return expectation(kube, t);
    const key = `${t.namespace}/${t.pgbouncer}/${t.fingerprintSha256}/${t.tls}/${t.reload}`;
    const hit = kept.get(key);
    if (hit) return hit.then((e) => forPod(e, t));
    const read = expectation(kube, t);
    if (kept.size >= max) kept.delete(kept.keys().next().value!);
    kept.set(key, read);
    read.catch(() => kept.delete(key));
    return read;
  };
}

/** A kept expectation, aimed at another pod of the same roll: its DNS name first (also the admin console's SNI). */
function forPod(e: Expectation, t: ServingTarget): Expectation {
  const hostname = `${t.pod}.${governingServiceName(t.pgbouncer)}.${t.namespace}.svc`;
  const adminTls = e.admin?.tls && { ...e.admin.tls, hostnames: [hostname, ...e.admin.tls.hostnames.slice(1)] };
  return { ...e, hostname, admin: e.admin && { ...e.admin, tls: adminTls } };
}

function podAddress(pod: V1Pod | undefined): { address: string; port: number } | undefined {
  const ready = (pod?.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const address = pod?.status?.podIP;
  const port = pod?.spec?.containers
    .flatMap((c) => c.ports ?? [])
    .find((p) => p.name === CONTAINER_PORT_NAME)?.containerPort;
  return ready && !pod?.metadata?.deletionTimestamp && address && port ? { address, port } : undefined;
}

/** Why `served` is not what was intended, or undefined when it is. */
function mismatch(served: ServedTls, want: Awaited<ReturnType<typeof expectation>>): string | undefined {
  if (!want.tls) return served.offered ? `still offers TLS (serial ${served.leaf.serialHex})` : undefined;
  if (!served.offered) return 'does not offer TLS (answers the SSLRequest with N)';
  if (served.leaf.fingerprintSha256 !== want.tls.fingerprintSha256) {
    return `serves serial ${served.leaf.serialHex} (${served.leaf.fingerprintSha256.slice(0, 23)}…), not the intended certificate (${want.tls.fingerprintSha256.slice(0, 23)}…)`;
  }
  if (served.chainError)
    return `serves a certificate that does not verify against ca.crt of Secret ${want.tls.serverSecretName}: ${served.chainError}`;
  if (served.hostnameError) return `serves a certificate not valid for ${want.hostname}: ${served.hostnameError}`;
  return undefined;
}

export async function waitUntilPodServes(
  kube: Kube,
  target: ServingTarget,
  hooks: WaitHooks,
  opts: { timeoutMs: number; pollMs?: number; expect?: ExpectationSource },
): Promise<ServingCheck> {
  const pollMs = opts.pollMs ?? 250;
  const started = Date.now();
  let probes = 0;
  let reloads = 0;
  let lastReload = 0;
  let why = 'not probed yet';
  // The Secrets and spec do not change during one call (the swap or the restore came before it).
  const want = await (opts.expect ?? expectation)(kube, target);
  const readPod = podReader(kube, hooks);
  let wantedCheckedAt = 0;
  for (;;) {
    hooks.progress({ phase: `probing: ${why}` });
    const pod = await readPod(target.namespace, target.pod);
    const at = podAddress(pod);
    if (!at) {
      if (Date.now() - wantedCheckedAt >= WANTED_CHECK_MS) {
        await expectPodWanted(kube, target.namespace, target.pod);
        wantedCheckedAt = Date.now();
      }
      why = 'is not Ready or has no address';
    } else {
      try {
        const served = await probeServedTls({
          ...at,
          hostname: want.hostname,
          caBundle: want.tls?.caBundle ?? '',
        });
        probes++;
        const wrong = mismatch(served, want);
        if (!wrong) {
          return {
            pod: target.pod,
            address: `${at.address}:${at.port}`,
            served: served.offered
              ? {
                  tls: true,
                  serialHex: served.leaf.serialHex,
                  fingerprintSha256: served.leaf.fingerprintSha256,
                  notAfter: served.leaf.notAfter,
                }
              : { tls: false },
            probes,
            reloads,
            elapsedMs: Date.now() - started,
          };
        }
        why = wrong;
        // RELOAD only while the pod serves the wrong thing: once it stops offering TLS (a removal),
        // there is no verified admin path left, and none is needed.
        if (target.reload && Date.now() - lastReload >= RELOAD_EVERY_MS) {
          if (!served.offered) {
            throw ApplicationFailure.nonRetryable(
              `pod ${target.pod} ${wrong}: it cannot be reloaded without a verified TLS admin path; restart it (kubectl -n ${target.namespace} delete pod ${target.pod})`,
              FAILURE_TYPES.servedCertificateMismatch,
            );
          }
          // Verified against the CAs the pod may serve, for its own name: no password to anyone else.
          if (!want.admin) throw new Error('no admin access was read for a RELOAD'); // reload targets always read it
          const conn: AdminConnection = { ...at, ...want.admin };
          await reloadPgBouncer(conn);
          reloads++;
          lastReload = Date.now();
          // A heartbeat between RELOAD and the next probe: each stays far below the heartbeat timeout.
          hooks.progress({ phase: 'reloaded; probing' });
        }
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        why = `cannot be probed at ${at.address}:${at.port}: ${(err as Error).message}`;
      }
    }
    if (Date.now() - started >= opts.timeoutMs) {
      throw ApplicationFailure.nonRetryable(
        `pod ${target.pod} ${why} after ${Math.round((Date.now() - started) / 1000)} s${target.reload ? ` and ${reloads} RELOAD(s)` : ''}`,
        FAILURE_TYPES.servedCertificateMismatch,
      );
    }
    await hooks.sleep(pollMs);
  }
}

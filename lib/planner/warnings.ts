// What a valid plan may still break or surprise, said before anything changes (DESIGN §4 step 1).
// Each warning says what happens and what to do about it.
import type { PgBouncerTLSSpec, SslMode } from '../api/types.js';
import { quote } from './field-errors.js';
import { formatDuration } from './format.js';
import type { ResolvedCertificate } from './resolve.js';
import type { CertificatePlan, LiveState, PodPlan } from './types.js';

export interface WarningInput {
  live: LiveState;
  tls: PgBouncerTLSSpec;
  tlsBefore: boolean;
  tlsAfter: boolean;
  sslModeBefore: SslMode;
  sslMode: SslMode;
  certificates: CertificatePlan[];
  resolved: ResolvedCertificate[];
  pods: PodPlan[];
  /** ca.crt trusts old and new CA during the roll: a minted certificate comes from another CA. */
  caChanges: boolean;
}

const verifies = (mode: SslMode) => mode === 'verify-ca' || mode === 'verify-full';

function sslModeWarnings(w: WarningInput): string[] {
  if (!w.tlsAfter) return [];
  if (verifies(w.sslMode)) {
    // kubedb.md §2: client_tls_sslmode verify-* makes PgBouncer demand a client certificate.
    const server = w.certificates.find((c) => c.alias === 'server') ?? w.resolved.find((c) => c.alias === 'server');
    const ca = server ? ` in ca.crt of Secret ${server.secretName}` : '';
    const unchanged = w.tlsBefore && verifies(w.sslModeBefore);
    const out = [
      `sslMode ${w.sslMode}${unchanged ? ' (as before)' : ''}: ${unchanged ? '' : 'from now on '}every application client must present a certificate signed by the CA${ca}; clients that log in with a password alone are refused. Issue client certificates from that CA first, or set spec.tls.sslMode: require to encrypt without client certificates`,
    ];
    const newServer = w.certificates.find((c) => c.alias === 'server');
    if (w.tlsBefore && w.caChanges && newServer) {
      out.push(
        `the CA changes to that of ${newServer.issuer.kind} ${quote(newServer.issuer.name)}: ca.crt trusts the old and the new CA only until every pod serves its new certificate, so application client certificates from the old CA stop working when the request ends; issue them from the new CA before that`,
      );
    }
    return out;
  }
  if (w.sslMode === 'disable') {
    return [
      'sslMode disable: TLS stays configured but PgBouncer accepts no TLS connection (client_tls_sslmode = disable); to turn TLS off, use spec.tls.remove',
    ];
  }
  return [];
}

/** Whoever checks PgBouncer's certificate (libpq sslmode=verify-ca/verify-full) must trust the new CA. */
function caWarnings(w: WarningInput): string[] {
  const server = w.certificates.find((c) => c.alias === 'server');
  if (!w.tlsBefore || !w.caChanges || !server) return [];
  return [
    `the server certificate will be signed by the CA of ${server.issuer.kind} ${quote(server.issuer.name)}: applications that verify PgBouncer (sslmode=verify-ca or verify-full, sslrootcert) must trust that CA before their pod's turn comes; ca.crt of Secret ${server.secretName} carries both CAs during the roll`,
  ];
}

function podWarnings(w: WarningInput): string[] {
  const pb = w.live.pgbouncer!;
  const out: string[] = [];
  const restarts = w.pods.filter((p) => p.method === 'restart');
  if ((pb.spec.replicas ?? 1) === 1 && restarts.length) {
    out.push(
      `PgBouncer ${quote(pb.name)} has 1 replica: restarting ${restarts[0]!.name} drops every connection until it is Ready again (about 30-45 s); run this in a maintenance window, or scale to 2 or more replicas first`,
    );
  }
  if (w.pods.length === 0) {
    out.push(
      `no pods of PgBouncer ${quote(pb.name)} were found: none is restarted; pods created later start with the new configuration`,
    );
  }
  const notReady = w.live.pods.filter((p) => !p.ready).map((p) => p.name);
  if (notReady.length) {
    out.push(`pods not Ready now: ${notReady.join(', ')}; the roll waits for each pod to be Ready after its restart`);
  }
  return out;
}

function certificateWarnings(w: WarningInput): string[] {
  const out: string[] = [];
  const now = Date.parse(w.live.now);
  for (const c of w.certificates) {
    const caEnd = c.issuer.caNotAfter ? Date.parse(c.issuer.caNotAfter) : Number.NaN;
    if (now + c.durationMs > caEnd) {
      out.push(
        `${c.alias} certificate: the requested ${formatDuration(c.durationMs)} outlasts the CA of ${c.issuer.kind} ${quote(c.issuer.name)}, which expires ${c.issuer.caNotAfter}; the certificate will end at the CA's notAfter. Renew the CA, or ask for a shorter duration`,
      );
    }
  }
  for (const r of w.resolved) {
    if (w.certificates.some((c) => c.alias === r.alias) && r.secretName !== r.currentSecretName && w.tlsBefore) {
      out.push(
        `the ${r.alias} certificate moves from Secret ${r.currentSecretName} to ${r.secretName}; ${r.currentSecretName} is deleted when the request succeeds, so update anything else that mounts it`,
      );
    }
  }
  (w.tls.certificates ?? []).forEach((entry, i) => {
    if (entry.alias === 'metrics-exporter') {
      out.push(
        `spec.tls.certificates[${i}]: alias metrics-exporter is kept in the PgBouncer's spec.tls, but no certificate is issued for it: this orchestrator runs no metrics exporter`,
      );
    }
  });
  return out;
}

function pgbouncerWarnings(w: WarningInput): string[] {
  const pb = w.live.pgbouncer!;
  const out: string[] = [];
  if (w.live.request.spec.apply === 'Always' && pb.phase !== 'Ready') {
    out.push(`PgBouncer ${quote(pb.name)} is ${pb.phase ?? 'not Ready'}; spec.apply: Always runs the request anyway`);
  }
  if (pb.paused) {
    out.push(
      `PgBouncer ${quote(pb.name)} is already paused (condition Paused=True), by something else or an earlier run; this request resumes it when it ends`,
    );
  }
  return out;
}

export function planWarnings(w: WarningInput): string[] {
  return [
    ...sslModeWarnings(w),
    ...caWarnings(w),
    ...podWarnings(w),
    ...certificateWarnings(w),
    ...pgbouncerWarnings(w),
  ];
}

// What a PgBouncer really serves, seen the way a PostgreSQL client sees it: an SSLRequest, then
// (if the server answers 'S') a TLS handshake. The handshake never fails on the certificate
// itself: the probe reports the leaf, whether its chain verifies against the CA bundle clients
// hold, and whether it is valid for the host name clients use, so the caller decides.
import { connect as connectTcp, type Socket } from 'node:net';
import { canonicalSerialHex } from '../certificates/serial.js';
import { checkServerIdentity, connect as connectTls, type PeerCertificate } from 'node:tls';

/** PostgreSQL's SSLRequest: length 8, then the magic code 1234.5679. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export interface ServedLeaf {
  serialHex: string;
  /** Colon-separated upper-case hex, as the mint activity reports it. */
  fingerprintSha256: string;
  subject: string;
  notAfter: string;
}

export type ServedTls =
  | { offered: false }
  | {
      offered: true;
      leaf: ServedLeaf;
      /** undefined when the chain verifies against the CA bundle, else OpenSSL's reason. */
      chainError?: string;
      /** undefined when the leaf is valid for the host name, else why not. */
      hostnameError?: string;
    };

/**
 * Each stage of a probe (SSLRequest answer, handshake) gets this long. RELOAD + SSLRequest +
 * handshake then stays near 6 s, well inside the 10 s heartbeat timeout of the activities that
 * probe, so an unreachable pod is reported as itself, not as a missed heartbeat.
 */
export const PROBE_STEP_TIMEOUT_MS = 2_000;

export interface ProbeTarget {
  /** Address to connect to (the pod IP). */
  address: string;
  port: number;
  /** The name clients use (SNI and the verify-full host check), e.g. pb-0.pb-pods.ns.svc. */
  hostname: string;
  /** PEM bundle clients verify against. */
  caBundle: string;
  timeoutMs?: number;
}

function leafOf(cert: PeerCertificate): ServedLeaf {
  return {
    serialHex: canonicalSerialHex(cert.serialNumber),
    fingerprintSha256: cert.fingerprint256,
    subject: Object.entries(cert.subject ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    notAfter: new Date(cert.valid_to).toISOString(),
  };
}

/**
 * Sends the SSLRequest and reads the one-byte answer. Settles on every way the exchange can end:
 * an answer, an error, the peer closing (end/close) without a byte, or the deadline.
 */
function requestTls(target: ProbeTarget, timeoutMs: number): Promise<{ socket: Socket; answer: string }> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: target.address, port: target.port });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    // A wall-clock deadline, not socket.setTimeout: idle timers stop once the socket is closed.
    const timer = setTimeout(
      () => fail(new Error(`no answer from ${target.address}:${target.port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('error', fail);
    const closed = () =>
      fail(new Error(`${target.address}:${target.port} closed the connection without answering the SSLRequest`));
    socket.once('end', closed);
    socket.once('close', closed);
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (chunk: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', fail);
      socket.removeListener('end', closed);
      socket.removeListener('close', closed);
      resolve({ socket, answer: chunk.subarray(0, 1).toString('latin1') });
    });
  });
}

export async function probeServedTls(target: ProbeTarget): Promise<ServedTls> {
  const timeoutMs = target.timeoutMs ?? PROBE_STEP_TIMEOUT_MS;
  const { socket, answer } = await requestTls(target, timeoutMs);
  if (answer === 'N') {
    socket.destroy();
    return { offered: false };
  }
  if (answer !== 'S') {
    socket.destroy();
    throw new Error(
      `${target.address}:${target.port} answered the SSLRequest with ${JSON.stringify(answer)}, not S or N`,
    );
  }
  return new Promise((resolve, reject) => {
    let leaf: PeerCertificate | undefined;
    const tls = connectTls({
      socket,
      ca: target.caBundle,
      servername: target.hostname,
      rejectUnauthorized: false,
      // Called with the server's certificate once the chain was checked; we judge it below.
      checkServerIdentity: (_host, cert) => {
        leaf = cert;
        return undefined;
      },
    });
    const timer = setTimeout(
      () => finish(new Error(`TLS handshake with ${target.address}:${target.port} timed out`)),
      timeoutMs,
    );
    let settled = false;
    function finish(err?: Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const cert = leaf ?? (tls.getPeerCertificate() as PeerCertificate | undefined);
      const authorizationError = tls.authorizationError ? String(tls.authorizationError) : undefined;
      tls.destroy();
      if (!cert || !cert.fingerprint256) return reject(err ?? new Error('the server sent no certificate'));
      resolve({
        offered: true,
        leaf: leafOf(cert),
        chainError: authorizationError,
        hostnameError: checkServerIdentity(target.hostname, cert)?.message,
      });
    }
    tls.once('secureConnect', () => finish());
    // A server that demands a client certificate may end the handshake after sending its own.
    tls.once('error', (err) => finish(err));
    // A peer that hangs up mid-handshake without an error still ends the probe.
    tls.once('end', () =>
      finish(new Error(`${target.address}:${target.port} closed the connection during the TLS handshake`)),
    );
    tls.once('close', () =>
      finish(new Error(`${target.address}:${target.port} closed the connection during the TLS handshake`)),
    );
  });
}

// The probe against a local server that answers PostgreSQL's SSLRequest the way PgBouncer does
// ('S' then a TLS handshake, or 'N'), so each verdict — right leaf, foreign CA, wrong host, no
// TLS — is checked without a cluster. The integration suite probes real pgbouncer pods.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  createSelfSignedCA,
  generatePrivateKey,
  issueCertificate,
  type CAKeyPair,
  type IssuedCertificate,
} from '../../../lib/certificates/index.js';
import { PROBE_STEP_TIMEOUT_MS, probeServedTls } from '../../../lib/pgbouncer/tls-probe.js';
import { reloadPgBouncer } from '../../../lib/pgbouncer/admin-console.js';

const DAY = 86_400_000;
let ca: CAKeyPair;
let otherCa: CAKeyPair;
let leaf: IssuedCertificate & { keyPem: string };
const servers: Server[] = [];

/** Listens on 127.0.0.1; offers TLS with the given leaf, or answers N when there is none. */
async function pgLikeServer(serving?: { certPem: string; keyPem: string }): Promise<number> {
  const server = createServer((socket: Socket) => {
    socket.once('data', () => {
      if (!serving) return void socket.end('N');
      socket.write('S');
      const tls = new TLSSocket(socket, { isServer: true, cert: serving.certPem, key: serving.keyPem });
      tls.on('error', () => undefined);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

beforeAll(async () => {
  const notAfter = new Date(Date.now() + 365 * DAY);
  ca = await createSelfSignedCA({ commonName: 'probe CA', algorithm: 'ECDSA', size: 256, notAfter });
  otherCa = await createSelfSignedCA({ commonName: 'other CA', algorithm: 'ECDSA', size: 256, notAfter });
  const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  leaf = {
    ...issueCertificate({
      ca,
      publicKeyPem: key.publicKeyPem,
      subject: { commonName: 'pb' },
      dnsNames: ['pb-0.pb-pods.demo.svc'],
      usage: 'server',
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 30 * DAY),
    }),
    keyPem: key.keyPem,
  };
}, 60_000);

afterAll(() => servers.forEach((s) => s.close()));

describe('probeServedTls', () => {
  test('reports the served leaf by serial and fingerprint, chain and host name good', async () => {
    const port = await pgLikeServer(leaf);
    const served = await probeServedTls({
      address: '127.0.0.1',
      port,
      hostname: 'pb-0.pb-pods.demo.svc',
      caBundle: ca.certPem,
    });
    expect(served).toEqual({
      offered: true,
      leaf: expect.objectContaining({ serialHex: leaf.serialHex, fingerprintSha256: leaf.fingerprintSha256 }),
      chainError: undefined,
      hostnameError: undefined,
    });
  });

  test('a CA bundle that did not sign the leaf gives a chain error, not a throw', async () => {
    const port = await pgLikeServer(leaf);
    const served = await probeServedTls({
      address: '127.0.0.1',
      port,
      hostname: 'pb-0.pb-pods.demo.svc',
      caBundle: otherCa.certPem,
    });
    expect(served.offered && served.chainError).toMatch(/^UNABLE_TO_VERIFY_LEAF_SIGNATURE$/);
  });

  test('a host name the leaf does not carry gives a host name error', async () => {
    const port = await pgLikeServer(leaf);
    const served = await probeServedTls({
      address: '127.0.0.1',
      port,
      hostname: 'pb-1.pb-pods.demo.svc',
      caBundle: ca.certPem,
    });
    expect(served.offered && served.hostnameError).toMatch(/pb-1\.pb-pods\.demo\.svc/);
  });

  test('a server that answers N offers no TLS', async () => {
    const port = await pgLikeServer();
    await expect(
      probeServedTls({ address: '127.0.0.1', port, hostname: 'pb-0.pb-pods.demo.svc', caBundle: ca.certPem }),
    ).resolves.toEqual({ offered: false });
  });

  test('nobody listening is an error naming the address', async () => {
    const port = await pgLikeServer();
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(probeServedTls({ address: '127.0.0.1', port, hostname: 'x', caBundle: ca.certPem })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});

/** A server that does `onData` with every connection's first bytes (or nothing at all). */
async function rudeServer(onData?: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket: Socket) => {
    socket.on('error', () => undefined);
    if (onData) socket.once('data', () => onData(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** How long `p` took to settle, and how. */
async function settle(p: Promise<unknown>): Promise<{ ms: number; error?: string }> {
  const t0 = Date.now();
  try {
    await p;
    return { ms: Date.now() - t0 };
  } catch (err) {
    return { ms: Date.now() - t0, error: (err as Error).message };
  }
}

describe('every probe and RELOAD settles, in bounded time', () => {
  // A long deadline proves it is the close, not the deadline, that ends these probes.
  const target = (port: number) => ({
    address: '127.0.0.1',
    port,
    hostname: 'x',
    caBundle: ca.certPem,
    timeoutMs: 30_000,
  });

  test('a peer that closes without answering the SSLRequest ends the probe at once', async () => {
    const port = await rudeServer((socket) => socket.end());
    const { ms, error } = await settle(probeServedTls(target(port)));
    expect(error).toMatch(/closed the connection without answering the SSLRequest/);
    expect(ms).toBeLessThan(1_000);
  }, 10_000);

  test('a peer that answers S and then hangs up ends the probe at once', async () => {
    const port = await rudeServer((socket) => socket.end('S'));
    const { ms, error } = await settle(probeServedTls(target(port)));
    expect(error).toMatch(/closed the connection during the TLS handshake|ECONNRESET|socket disconnected/);
    expect(ms).toBeLessThan(1_000);
  }, 10_000);

  test('a silent peer is given up on after the probe deadline', async () => {
    const port = await rudeServer();
    const { ms, error } = await settle(probeServedTls({ ...target(port), timeoutMs: undefined }));
    expect(error).toMatch(/no answer .* within 2000 ms/);
    expect(ms).toBeGreaterThanOrEqual(PROBE_STEP_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(PROBE_STEP_TIMEOUT_MS + 1_000);
  }, 10_000);

  test('RELOAD to a pooler that accepts but never answers times out well inside a 10 s heartbeat', async () => {
    const port = await rudeServer(() => undefined); // reads the startup packet, never replies
    const { ms, error } = await settle(reloadPgBouncer({ address: '127.0.0.1', port, user: 'u', password: 'p' }));
    expect(error).toBeDefined();
    expect(ms).toBeLessThan(4_000);
  }, 10_000);
});

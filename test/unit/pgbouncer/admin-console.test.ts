// RELOAD never sends the admin password to a peer that has not proved it is the pod: a local
// server plays PgBouncer (SSLRequest → 'S' → TLS, then asks for a cleartext password, the worst
// case) and records every byte the client sends after the handshake.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  createSelfSignedCA,
  generatePrivateKey,
  issueCertificate,
  type CAKeyPair,
} from '../../../lib/certificates/index.js';
import { reloadPgBouncer, UnverifiedAdminPeerError } from '../../../lib/pgbouncer/admin-console.js';

const DAY = 86_400_000;
const PASSWORD = 'admin-secret-password';
let ca: CAKeyPair;
let otherCa: CAKeyPair;
const servers: Server[] = [];

async function leafFrom(issuer: CAKeyPair, dnsNames: string[]) {
  const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const cert = issueCertificate({
    ca: issuer,
    publicKeyPem: key.publicKeyPem,
    subject: { commonName: 'pb' },
    dnsNames,
    usage: 'server',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * DAY),
  });
  return { certPem: cert.certPem, keyPem: key.keyPem };
}

/** A PgBouncer look-alike: TLS with `serving` (or plaintext), then demands a cleartext password. */
async function fakePooler(serving?: { certPem: string; keyPem: string }) {
  const received: Buffer[] = [];
  let connections = 0;
  const server = createServer((socket: Socket) => {
    connections++;
    socket.on('error', () => undefined);
    const speak = (s: Socket | TLSSocket) => {
      s.on('error', () => undefined);
      s.on('data', (chunk: Buffer) => {
        received.push(chunk);
        // AuthenticationCleartextPassword: 'R', length 8, code 3.
        if (chunk.length > 8 && chunk.readInt32BE(4) === 196608) s.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
      });
    };
    socket.once('data', () => {
      if (!serving) {
        socket.write('N');
        return speak(socket);
      }
      socket.write('S');
      speak(new TLSSocket(socket, { isServer: true, cert: serving.certPem, key: serving.keyPem }));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    sawPassword: () => Buffer.concat(received).includes(PASSWORD),
    sawStartup: () => received.length > 0,
    connections: () => connections,
  };
}

const conn = (port: number, caBundle?: string) => ({
  address: '127.0.0.1',
  port,
  user: 'pgbouncer',
  password: PASSWORD,
  timeoutMs: 2_000,
  tls: caBundle === undefined ? undefined : { caBundle, hostnames: ['pb-0.pb-pods.demo.svc', 'pb.demo.svc'] },
});

beforeAll(async () => {
  const notAfter = new Date(Date.now() + 365 * DAY);
  ca = await createSelfSignedCA({ commonName: 'pod CA', algorithm: 'ECDSA', size: 256, notAfter });
  otherCa = await createSelfSignedCA({ commonName: 'impostor CA', algorithm: 'ECDSA', size: 256, notAfter });
}, 60_000);

afterAll(() => servers.forEach((s) => s.close()));

test('a peer whose certificate another CA signed gets no password', async () => {
  const pooler = await fakePooler(await leafFrom(otherCa, ['pb-0.pb-pods.demo.svc']));
  await expect(reloadPgBouncer(conn(pooler.port, ca.certPem))).rejects.toThrow();
  expect(pooler.sawStartup()).toBe(false);
  expect(pooler.sawPassword()).toBe(false);
});

test("a peer with the right CA but another pooler's name gets no password", async () => {
  const pooler = await fakePooler(await leafFrom(ca, ['other-0.other-pods.demo.svc']));
  await expect(reloadPgBouncer(conn(pooler.port, ca.certPem))).rejects.toThrow(/pb-0\.pb-pods\.demo\.svc/);
  expect(pooler.sawPassword()).toBe(false);
});

test('without TLS nothing is sent: the call refuses before connecting', async () => {
  const pooler = await fakePooler();
  await expect(reloadPgBouncer(conn(pooler.port))).rejects.toThrow(UnverifiedAdminPeerError);
  expect(pooler.connections()).toBe(0);
});

test('a peer that offers no TLS although TLS is expected gets no password', async () => {
  const pooler = await fakePooler();
  await expect(reloadPgBouncer(conn(pooler.port, ca.certPem))).rejects.toThrow();
  expect(pooler.sawPassword()).toBe(false);
});

test('the verified pod (by its pod name or by the Service name) is sent the login', async () => {
  for (const names of [['pb-0.pb-pods.demo.svc'], ['pb.demo.svc']]) {
    const pooler = await fakePooler(await leafFrom(ca, names));
    // The look-alike never finishes the login; what matters is that the verified peer got it.
    await reloadPgBouncer(conn(pooler.port, ca.certPem)).catch(() => undefined);
    expect(pooler.sawPassword()).toBe(true);
  }
});

// The CRL Secret against the real API server: concurrent writers of one CA (two poolers, two
// Leases) lose no serial and repeat no CRL number; the list is re-signed before nextUpdate; a
// Secret of the CRL's name that we did not create is never overwritten.
import type { Plan } from '../../lib/planner/types.js';
import { recordRevocations, refreshCrls } from '../../activities/certificates/revocation.js';
import { crlSecretName } from '../../lib/api/names.js';
import { createTestNamespace, testKube } from '../support/cluster.js';
import { createCaIssuer, openssl, secretText } from '../support/tls-fixtures.js';

const kube = testKube();
let namespace: string;
let caPem: string;

beforeAll(async () => {
  namespace = await createTestNamespace('crl');
  caPem = await createCaIssuer(namespace, 'ca');
});

/** The part of a plan recordRevocations reads: which serials, and which CA's list. */
function revoking(serials: string[], caSecretName = 'ca-ca'): Plan {
  const issuer = { kind: 'Issuer' as const, name: 'ca', caSecretNamespace: namespace, caSecretName };
  return {
    intent: 'rotate',
    revoke: serials.map((serialHex) => ({ alias: 'server' as const, serialHex, issuer })),
  } as unknown as Plan;
}

const listed = (crl: string) => openssl({ 'crl.pem': crl }, ['crl', '-in', 'crl.pem', '-noout', '-text']);

test('two poolers of one CA revoke at the same moment: both serials listed, CRL numbers 1 and 2', async () => {
  await Promise.all([
    recordRevocations(kube, revoking(['0A11'])),
    recordRevocations(kube, revoking(['0B22'])),
    recordRevocations(kube, revoking(['0C33'])),
  ]);
  const crl = await secretText(namespace, crlSecretName('ca-ca'), 'ca.crl');
  expect(openssl({ 'ca.crt': caPem, 'crl.pem': crl }, ['crl', '-in', 'crl.pem', '-CAfile', 'ca.crt', '-noout'])).toBe(
    '',
  );
  const text = listed(crl);
  for (const serial of ['0A11', '0B22', '0C33']) expect(text).toContain(serial);
  expect(await secretText(namespace, 'ca-ca-crl', 'crlNumber')).toBe('3');
  expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*3\b/);
});

test('the CRL is re-signed before its nextUpdate, keeping every serial', async () => {
  const fiveDaysAgo = new Date(Date.now() - 5 * 86_400_000);
  await recordRevocations(kube, revoking(['0D44']), fiveDaysAgo);
  const before = await kube.core.readNamespacedSecret({ name: 'ca-ca-crl', namespace });
  const numberBefore = Number(Buffer.from(before.data!.crlNumber, 'base64').toString());
  // As a worker that manages a list of namespaces sees it: only those are listed.
  const { refreshed, failed } = await refreshCrls(kube, [namespace]);
  expect(failed.filter((f) => f.crlSecret.startsWith(`${namespace}/`))).toEqual([]);
  expect(refreshed).toContain(`${namespace}/ca-ca-crl`);
  const crl = await secretText(namespace, 'ca-ca-crl', 'ca.crl');
  const nextUpdate = Date.parse(listed(crl).match(/Next Update: (.*)/)![1]);
  expect(nextUpdate).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  expect(await secretText(namespace, 'ca-ca-crl', 'crlNumber')).toBe(String(numberBefore + 1));
  for (const serial of ['0A11', '0B22', '0C33', '0D44']) expect(listed(crl)).toContain(serial);
  // Fresh now: the next pass leaves it alone.
  expect((await refreshCrls(kube)).refreshed).not.toContain(`${namespace}/ca-ca-crl`);
});

test('a Secret of the CRL name that we did not create is refused, and left byte for byte', async () => {
  await createCaIssuer(namespace, 'other');
  await kube.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'other-ca-crl' }, type: 'Opaque', stringData: { 'ca.crl': 'not ours' } },
  });
  const before = await kube.core.readNamespacedSecret({ name: 'other-ca-crl', namespace });
  await expect(recordRevocations(kube, revoking(['0E55'], 'other-ca'))).rejects.toThrow(
    /Secret .*\/other-ca-crl exists but was not created by pgbouncer-tls-orchestrator.*refusing to overwrite/,
  );
  const after = await kube.core.readNamespacedSecret({ name: 'other-ca-crl', namespace });
  expect(after.data).toEqual(before.data);
  expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
});

// The ownership rule: a request may make the worker write or delete only Secrets that do not exist
// yet or that we made for its own pooler.
import { crlSecretOwnership, markOwned, secretOwnership } from '../../../lib/api/ownership.js';
import { planReconfigureTLS } from '../../../lib/planner/plan.js';
import type { LiveState } from '../../../lib/planner/types.js';
import { liveState, ref, withTls, type Scenario } from './live-state-builder.js';

const pb = { name: 'pb', uid: 'pb-uid' };

describe('secretOwnership', () => {
  const ownerRef = { apiVersion: 'kubedb.com/v1', kind: 'PgBouncer', name: 'pb', uid: 'pb-uid' };
  test.each([
    ['absent', undefined, 'absent'],
    ['marked now (markOwned)', markOwned({}, pb), 'ours'],
    [
      'made before the pooler label: our managed-by label and the ownerReference',
      { labels: { 'app.kubernetes.io/managed-by': 'pgbouncer-tls-orchestrator' }, ownerReferences: [ownerRef] },
      'ours',
    ],
    [
      "the provisioner's Secrets before the pooler label",
      { labels: { 'app.kubernetes.io/managed-by': 'kubedb.com' }, ownerReferences: [ownerRef] },
      'ours',
    ],
    ['no marks (a CA Secret, credentials)', { labels: {} }, 'foreign'],
    ['our label but no ownerReference', { labels: { 'pgbtls.dev/pgbouncer': 'pb' } }, 'foreign'],
    [
      'an ownerReference to the pooler but no label of ours (cert-manager, the user)',
      { labels: { 'controller.cert-manager.io/fao': 'true' }, ownerReferences: [ownerRef] },
      'foreign',
    ],
    ['made for another pooler of the same name (other uid)', markOwned({}, { name: 'pb', uid: 'old-uid' }), 'foreign'],
    ['made for another pooler', markOwned({}, { name: 'other', uid: 'other-uid' }), 'foreign'],
  ])('%s', (_what, meta, expected) => {
    expect(secretOwnership(meta, pb)).toBe(expected);
  });

  test('markOwned keeps existing labels and a controller reference, and adds no second reference', () => {
    const marked = markOwned(
      {
        labels: { a: 'b' },
        ownerReferences: [
          { apiVersion: 'kubedb.com/v1', kind: 'PgBouncer', name: 'pb', uid: 'pb-uid', controller: true },
        ],
      },
      pb,
    );
    expect(marked.labels).toEqual({
      a: 'b',
      'app.kubernetes.io/managed-by': 'pgbouncer-tls-orchestrator',
      'pgbtls.dev/pgbouncer': 'pb',
    });
    expect(marked.ownerReferences).toHaveLength(1);
    expect(marked.ownerReferences![0].controller).toBe(true);
  });

  test('a CRL Secret is ours by our managed-by label', () => {
    expect(crlSecretOwnership({ labels: { 'app.kubernetes.io/managed-by': 'pgbouncer-tls-orchestrator' } })).toBe(
      'ours',
    );
    expect(crlSecretOwnership({ labels: {} })).toBe('foreign');
    expect(crlSecretOwnership(undefined)).toBe('absent');
  });
});

function errors(s: Scenario, secrets: LiveState['secrets'], crlSecrets?: LiveState['crlSecrets']) {
  const live = { ...liveState(s), secrets, crlSecrets };
  const result = planReconfigureTLS(live);
  return result.ok ? [] : result.errors;
}

describe('the planner refuses foreign Secrets, naming the field', () => {
  test('a secretName naming the CA Secret (add TLS)', () => {
    const errs = errors(
      { tls: { issuerRef: ref('ca-one'), certificates: [{ alias: 'server', secretName: 'ca-one-ca' }] } },
      { 'ca-one-ca': 'foreign' },
    );
    expect(errs).toHaveLength(1);
    expect(errs[0].field).toBe('spec.tls.certificates[0].secretName');
    expect(errs[0].message).toMatch(/Secret demo\/ca-one-ca exists and was not created by this orchestrator/);
    expect(errs[0].message).toMatch(/choose a secretName that does not exist yet/);
  });

  test("the default name taken by someone else's Secret", () => {
    const errs = errors({ tls: { issuerRef: ref('ca-one') } }, { 'pb-client-cert': 'foreign' });
    expect(errs.map((e) => e.field)).toEqual(['spec.tls.certificates']);
    expect(errs[0].message).toMatch(/pb-client-cert.*the client certificate's Secret/);
  });

  test('a Secret that does not exist yet, or is ours, is fine', () => {
    expect(
      errors(
        {
          tls: { rotateCertificates: true, certificates: [{ alias: 'server', secretName: 'new-name' }] },
          ...withTls(),
        },
        { 'new-name': 'absent', 'pb-server-cert': 'ours', 'pb-client-cert': 'ours' },
      ),
    ).toEqual([]);
  });

  test("a staging Secret name taken by someone else's Secret", () => {
    const errs = errors(
      { tls: { rotateCertificates: true }, ...withTls() },
      { 'pb-server-cert-next-abcdef12': 'foreign' },
    );
    expect(errs[0].field).toBe('spec.tls.certificates');
    expect(errs[0].message).toMatch(/staging Secret demo\/pb-server-cert-next-abcdef12/);
  });

  test('remove would delete a Secret that is not ours', () => {
    const errs = errors({ tls: { remove: true }, ...withTls() }, { 'pb-server-cert': 'foreign' });
    expect(errs.map((e) => e.field)).toEqual(['spec.tls.remove']);
    expect(errs[0].message).toMatch(/would delete it/);
  });

  test('a rename would delete a Secret that is not ours', () => {
    const errs = errors(
      { tls: { rotateCertificates: true, certificates: [{ alias: 'server', secretName: 'pb-tls' }] }, ...withTls() },
      { 'pb-server-cert': 'foreign' },
    );
    expect(errs.map((e) => e.field)).toEqual(['spec.tls.certificates[0].secretName']);
  });

  test('the snapshot name taken', () => {
    const errs = errors({ tls: { rotateCertificates: true }, ...withTls() }, { 'pb-tls-snapshot-abcdef12': 'foreign' });
    expect(errs.map((e) => e.field)).toEqual(['metadata.uid']);
  });

  test("the CRL Secret next to the CA is someone else's", () => {
    const errs = errors({ tls: { rotateCertificates: true }, ...withTls() }, {}, { 'demo/ca-one-ca-crl': 'foreign' });
    expect(errs.map((e) => e.field)).toEqual(['spec.tls.rotateCertificates']);
    expect(errs[0].message).toMatch(/CRL Secret demo\/ca-one-ca-crl/);
  });
});

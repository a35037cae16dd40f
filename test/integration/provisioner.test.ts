// The provisioner against the real control plane: a PgBouncer becomes a StatefulSet whose pods the
// real StatefulSet controller creates (and the kubelet stand-in makes Ready), a paused PgBouncer is
// left alone, and after resume the provisioner catches up and then finds nothing more to change.
import type { V1StatefulSet } from '@kubernetes/client-node';
import { APPCATALOG_GROUP, KUBEDB_GROUP, type AppBinding, type PgBouncer } from '../../lib/api/types.js';
import { mergePatch } from '../../lib/kube/kube.js';
import { createLogger } from '../../lib/log.js';
import { backendAddress } from '../../lib/pgbouncer/backend.js';
import { configHash, CONFIG_HASH_ANNOTATION } from '../../lib/pgbouncer/desired-objects.js';
import { reconcilePgBouncer } from '../../provisioner/provisioner.js';
import { renderPgBouncerIni } from '../../lib/pgbouncer/render-ini.js';
import { createTestNamespace, eventually, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';

const kube = testKube();
const quietLogger = createLogger({ component: 'provisioner-test' }, 'warn');
let namespace: string;

const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
const readSts = (name: string) => kube.apps.readNamespacedStatefulSet({ name, namespace });
const isReady = (pod: { status?: { conditions?: { type: string; status: string }[] } }) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function readyPods(instance: string) {
  const { items } = await kube.core.listNamespacedPod({
    namespace,
    labelSelector: `app.kubernetes.io/instance=${instance}`,
  });
  return items.filter((p) => isReady(p) && !p.metadata?.deletionTimestamp);
}

const setPaused = (name: string, paused: boolean) =>
  kube.custom.patchNamespacedCustomObjectStatus(
    {
      group: KUBEDB_GROUP,
      version: 'v1',
      plural: 'pgbouncers',
      namespace,
      name,
      body: {
        status: {
          conditions: paused
            ? [
                {
                  type: 'Paused',
                  status: 'True',
                  reason: 'Test',
                  message: 'paused by test',
                  lastTransitionTime: new Date().toISOString(),
                },
              ]
            : null,
        },
      },
    },
    mergePatch,
  );

const setReplicas = (name: string, replicas: number) =>
  kube.custom.patchNamespacedCustomObject(
    { group: KUBEDB_GROUP, version: 'v1', plural: 'pgbouncers', namespace, name, body: { spec: { replicas } } },
    mergePatch,
  );

/** The last time our field manager changed the object (server-side apply records it). */
const provisionerWriteTime = (sts: V1StatefulSet) =>
  sts.metadata?.managedFields
    ?.find((m) => m.manager === 'pgbouncer-provisioner' && m.operation === 'Apply')
    ?.time?.toISOString();

async function readyPgBouncer(name: string, replicas: number): Promise<PgBouncer> {
  return eventually(
    async () => {
      const pb = await readPgBouncer(namespace, name);
      const ready = await readyPods(name);
      return (
        pb.status?.phase === 'Ready' &&
        pb.status.observedGeneration === pb.metadata.generation &&
        ready.length === replicas &&
        pb
      );
    },
    { what: `PgBouncer ${name} Ready with ${replicas} Ready pods` },
  );
}

beforeAll(async () => {
  namespace = await createTestNamespace('prov');
  // The backend: an AppBinding to a Service, with the database user in a Secret.
  await kube.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'backend-auth' }, stringData: { username: 'postgres', password: 'db-pass' } },
  });
  await createAppBinding(namespace, 'backend', {}, 'backend-auth');
});

// Other suites list PgBouncers cluster-wide: leave none behind (the namespace goes in the background).
afterAll(async () => {
  const pgbouncers = { group: KUBEDB_GROUP, version: 'v1', plural: 'pgbouncers', namespace };
  const { items } = (await kube.custom.listNamespacedCustomObject(pgbouncers)) as { items: PgBouncer[] };
  for (const pb of items) await kube.custom.deleteNamespacedCustomObject({ ...pgbouncers, name: pb.metadata.name! });
  await eventually(
    async () => ((await kube.custom.listNamespacedCustomObject(pgbouncers)) as { items: unknown[] }).items.length === 0,
    {
      what: 'the test PgBouncers to be deleted',
    },
  );
  await kube.core.deleteNamespace({ name: namespace });
});

let adminPassword: string;

test('a PgBouncer with 3 replicas gets 3 Ready pods, its config, users and budget, and phase Ready', async () => {
  await createPgBouncer(namespace, 'pb', { replicas: 3 });
  const pb = await readyPgBouncer('pb', 3);

  const pods = await readyPods('pb');
  expect(pods.map((p) => p.metadata?.name).sort()).toEqual(['pb-0', 'pb-1', 'pb-2']);

  // The config Secret holds exactly what the one renderer makes of the live objects.
  const binding = (await kube.custom.getNamespacedCustomObject({
    group: APPCATALOG_GROUP,
    version: 'v1',
    namespace,
    plural: 'appbindings',
    name: 'backend',
  })) as AppBinding;
  const expectedIni = renderPgBouncerIni(pb, backendAddress(binding));
  expect(expectedIni).toContain(`postgres = host=backend.${namespace}.svc port=5432 dbname=postgres`);
  const config = await kube.core.readNamespacedSecret({ name: 'pb-config', namespace });
  expect(unb64(config.data!['pgbouncer.ini'])).toBe(expectedIni);
  // Every pod was created from that config.
  for (const pod of pods) expect(pod.metadata?.annotations?.[CONFIG_HASH_ANNOTATION]).toBe(configHash(expectedIni));

  // The admin password is generated once into the auth Secret; the userlist has it and the backend user.
  const auth = await kube.core.readNamespacedSecret({ name: 'pb-auth', namespace });
  expect(auth.type).toBe('kubernetes.io/basic-auth');
  expect(unb64(auth.data!.username)).toBe('pgbouncer');
  adminPassword = unb64(auth.data!.password);
  expect(adminPassword.length).toBeGreaterThanOrEqual(24);
  const userlist = await kube.core.readNamespacedSecret({ name: 'pb-userlist', namespace });
  expect(unb64(userlist.data!.userlist)).toBe(`"pgbouncer" "${adminPassword}"\n"postgres" "db-pass"\n`);

  const pdb = await kube.policy.readNamespacedPodDisruptionBudget({ name: 'pb', namespace });
  expect(pdb.spec?.maxUnavailable).toBe(1);
  const sts = await readSts('pb');
  expect(sts.spec?.updateStrategy?.type).toBe('OnDelete');
  expect(sts.metadata?.ownerReferences).toEqual([
    expect.objectContaining({
      kind: 'PgBouncer',
      name: 'pb',
      uid: pb.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    }),
  ]);
  const governing = await kube.core.readNamespacedService({ name: 'pb-pods', namespace });
  expect(governing.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  await kube.core.readNamespacedService({ name: 'pb', namespace });
});

test('while Paused the provisioner changes nothing; after resume it catches up, then has nothing to change', async () => {
  await readyPgBouncer('pb', 3);
  await setPaused('pb', true);
  const pausedAt = await readPgBouncer(namespace, 'pb');
  const before = await readSts('pb');
  await setReplicas('pb', 4);

  // A direct reconcile refuses too.
  expect(await reconcilePgBouncer(kube, pausedAt, quietLogger)).toMatchObject({ outcome: 'paused', changes: [] });

  // About 5 s: the StatefulSet spec stays, the provisioner writes nothing, status is not touched.
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const during = await readSts('pb');
    expect(during.spec?.replicas).toBe(3);
    expect(during.metadata?.generation).toBe(before.metadata?.generation);
    expect(provisionerWriteTime(during)).toBe(provisionerWriteTime(before));
    const pb = await readPgBouncer(namespace, 'pb');
    expect(pb.status?.observedGeneration).toBe(pausedAt.status?.observedGeneration);
    expect(pb.status?.phase).toBe('Ready');
    await new Promise((r) => setTimeout(r, 500));
  }

  await setPaused('pb', false);
  await eventually(async () => (await readSts('pb')).spec?.replicas === 4, {
    what: 'the StatefulSet to grow to 4 after resume',
  });
  const pb = await readyPgBouncer('pb', 4);
  expect(pb.status?.conditions ?? []).toEqual([]);
  const pdb = await kube.policy.readNamespacedPodDisruptionBudget({ name: 'pb', namespace });
  expect(pdb.spec?.maxUnavailable).toBe(1); // max(1, floor(3/2))

  // Caught up: one more reconcile finds nothing to change, and the admin password never moved.
  expect(await reconcilePgBouncer(kube, pb, quietLogger)).toMatchObject({
    outcome: 'reconciled',
    changes: [],
    phase: 'Ready',
    statusUpdated: false,
  });
  const auth = await kube.core.readNamespacedSecret({ name: 'pb-auth', namespace });
  expect(unb64(auth.data!.password)).toBe(adminPassword);
});

test('going down to one replica removes the budget; deleting the PgBouncer removes what it owned', async () => {
  await createPgBouncer(namespace, 'small', { replicas: 2 });
  await readyPgBouncer('small', 2);
  expect((await kube.policy.readNamespacedPodDisruptionBudget({ name: 'small', namespace })).spec?.maxUnavailable).toBe(
    1,
  );

  await setReplicas('small', 1);
  await eventually(
    async () => {
      const { items } = await kube.policy.listNamespacedPodDisruptionBudget({
        namespace,
        fieldSelector: 'metadata.name=small',
      });
      return items.length === 0;
    },
    { what: 'the PodDisruptionBudget of a 1-replica PgBouncer to be deleted' },
  );
  await readyPgBouncer('small', 1);

  await kube.custom.deleteNamespacedCustomObject({
    group: KUBEDB_GROUP,
    version: 'v1',
    plural: 'pgbouncers',
    namespace,
    name: 'small',
  });
  await eventually(
    async () => {
      const [sts, secrets, services] = await Promise.all([
        kube.apps.listNamespacedStatefulSet({ namespace, labelSelector: 'app.kubernetes.io/instance=small' }),
        kube.core.listNamespacedSecret({ namespace, labelSelector: 'app.kubernetes.io/instance=small' }),
        kube.core.listNamespacedService({ namespace, labelSelector: 'app.kubernetes.io/instance=small' }),
      ]);
      return sts.items.length + secrets.items.length + services.items.length === 0;
    },
    { what: 'the garbage collector to remove the StatefulSet, Secrets and Services' },
  );
});

// The control plane and the kubelet stand-in behave like a real cluster where it matters to us:
// RBAC is enforced, the StatefulSet controller recreates deleted pods and the stand-in makes
// them Ready, evictions go through, and the garbage collector follows owner references.
import { execFileSync } from 'node:child_process';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { createTestNamespace, eventually, stackInfo, testKube } from '../support/cluster.js';
import { createPgBouncer } from '../support/fixtures.js';
import { createOpsRequest } from '../support/tls-fixtures.js';

const kube = testKube();
let namespace: string;

beforeAll(async () => {
  namespace = await createTestNamespace('cp');
});

function kubectl(...args: string[]): string {
  const { kubectl, kubeconfig } = stackInfo();
  return execFileSync(kubectl, ['--kubeconfig', kubeconfig, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function statefulSet(name: string, replicas: number): V1StatefulSet {
  const labels = { 'app.kubernetes.io/managed-by': 'kubedb.com', 'app.kubernetes.io/instance': name };
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: labels },
      updateStrategy: { type: 'OnDelete' },
      template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'stand-in' }] } },
    },
  };
}

const isReady = (pod: V1Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function readyPods(selector: string): Promise<V1Pod[]> {
  const { items } = await kube.core.listNamespacedPod({ namespace, labelSelector: selector });
  return items.filter((p) => isReady(p) && !p.metadata?.deletionTimestamp);
}

test('the API server enforces RBAC and serves our resources to kubectl', async () => {
  expect(kubectl('auth', 'can-i', 'list', 'secrets', '-A').trim()).toBe('yes');
  // `can-i` answers "no" with exit code 1.
  let answer: string;
  try {
    answer = kubectl(
      'auth',
      'can-i',
      'list',
      'secrets',
      '-n',
      namespace,
      `--as=system:serviceaccount:${namespace}:default`,
    );
  } catch (err) {
    answer = String((err as { stdout?: string }).stdout);
  }
  expect(answer.trim()).toBe('no');
  expect(kubectl('get', '--raw', '/readyz')).toBe('ok');

  await createPgBouncer(namespace, 'listed', { replicas: 1 });
  await createOpsRequest(namespace, 'listed-rotate', {
    databaseRef: { name: 'listed' },
    tls: { rotateCertificates: true },
  });
  const listing = kubectl('get', 'pgbouncers,pgbounceropsrequests', '-A');
  expect(listing).toMatch(new RegExp(`${namespace}\\s+pgbouncer.kubedb.com/listed\\s`));
  expect(listing).toMatch(
    new RegExp(`${namespace}\\s+pgbounceropsrequest.ops.kubedb.com/listed-rotate\\s+ReconfigureTLS`),
  );
  expect(kubectl('get', 'pb,pbops', '-n', namespace, '-o', 'name').trim().split('\n').sort()).toEqual([
    'pgbouncer.kubedb.com/listed',
    'pgbounceropsrequest.ops.kubedb.com/listed-rotate',
  ]);
});

test('a StatefulSet gets Ready pods on the stand-in node, and a deleted pod comes back as a new one', async () => {
  await kube.apps.createNamespacedStatefulSet({ namespace, body: statefulSet('web', 3) });
  const pods = await eventually(
    async () => {
      const ready = await readyPods('app.kubernetes.io/instance=web');
      return ready.length === 3 && ready;
    },
    { what: '3 Ready pods' },
  );
  expect(pods.map((p) => p.spec?.nodeName)).toEqual(['pgbtls-node-0', 'pgbtls-node-0', 'pgbtls-node-0']);
  expect(new Set(pods.map((p) => p.status?.podIP)).size).toBe(3);

  const victim = pods.find((p) => p.metadata?.name === 'web-1')!;
  // A pod on a node is deleted gracefully: the stand-in must finish the deletion, then the
  // StatefulSet controller creates web-1 again with a new uid.
  await kube.core.deleteNamespacedPod({ name: 'web-1', namespace });
  const replacement = await eventually(
    async () => {
      const pod = (await readyPods('app.kubernetes.io/instance=web')).find((p) => p.metadata?.name === 'web-1');
      return pod && pod.metadata?.uid !== victim.metadata?.uid && pod;
    },
    { what: 'web-1 to come back Ready with a new uid' },
  );
  expect(replacement.spec?.nodeName).toBe('pgbtls-node-0');

  const sts = await eventually(
    async () => {
      const s = await kube.apps.readNamespacedStatefulSet({ name: 'web', namespace });
      return s.status?.readyReplicas === 3 && s;
    },
    { what: 'StatefulSet status readyReplicas 3' },
  );
  expect(sts.status?.replicas).toBe(3);
});

test('the Eviction API applies a PodDisruptionBudget computed by the real disruption controller', async () => {
  await kube.apps.createNamespacedStatefulSet({ namespace, body: statefulSet('pdb', 2) });
  await eventually(async () => (await readyPods('app.kubernetes.io/instance=pdb')).length === 2, {
    what: '2 Ready pods',
  });
  await kube.policy.createNamespacedPodDisruptionBudget({
    namespace,
    body: {
      metadata: { name: 'pdb' },
      spec: { minAvailable: 2, selector: { matchLabels: { 'app.kubernetes.io/instance': 'pdb' } } },
    },
  });
  await eventually(
    async () => {
      const pdb = await kube.policy.readNamespacedPodDisruptionBudget({ name: 'pdb', namespace });
      return pdb.status?.observedGeneration === pdb.metadata?.generation && pdb.status?.currentHealthy === 2;
    },
    { what: 'the disruption controller to observe the PDB' },
  );
  const evict = () =>
    kube.core.createNamespacedPodEviction({
      name: 'pdb-0',
      namespace,
      body: { metadata: { name: 'pdb-0', namespace } },
    });
  await expect(evict()).rejects.toMatchObject({ code: 429 });

  await kube.policy.patchNamespacedPodDisruptionBudget({
    name: 'pdb',
    namespace,
    body: [{ op: 'replace', path: '/spec/minAvailable', value: 1 }],
  });
  await eventually(
    async () => {
      await evict();
      return true;
    },
    { what: 'the eviction to be allowed once minAvailable is 1' },
  );
  await eventually(async () => (await readyPods('app.kubernetes.io/instance=pdb')).length === 2, {
    what: 'the evicted pod to come back',
  });
});

test('the garbage collector removes objects whose owner is deleted', async () => {
  const owner = await kube.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'owner' } } });
  await kube.core.createNamespacedSecret({
    namespace,
    body: {
      metadata: {
        name: 'owned',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
      },
      stringData: { a: 'b' },
    },
  });
  await kube.core.deleteNamespacedConfigMap({ name: 'owner', namespace });
  await eventually(
    async () => {
      const { items } = await kube.core.listNamespacedSecret({ namespace, fieldSelector: 'metadata.name=owned' });
      return items.length === 0;
    },
    { what: 'the owned Secret to be garbage-collected' },
  );
});

// The Helm chart and its least-privilege RBAC, proven against the real API server (issue #14).
// helm lints, renders and installs the chart; the worker, the watcher and the provisioner then run
// as the chart's ServiceAccounts (TokenRequest tokens in their kubeconfigs) through add, rotate,
// change issuer, a rollback, and a remove the watcher catches up on, in both RBAC modes; and each
// ServiceAccount is refused what it must not do. The provisioner must be the one under test, so
// this file starts a stack of its own without the stack's provisioner; the modes run one after the
// other on it. `kubectl auth can-i --list` per ServiceAccount lands in test-output/rbac/.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml, type KubeConfig, type V1Deployment, type V1PolicyRule } from '@kubernetes/client-node';
import { createLogger } from '../../lib/log.js';
import { FORCE_RESTART_ANNOTATION } from '../../lib/planner/pods.js';
import type { OpsRequestRef } from '../../lib/planner/types.js';
import { freePort } from '../../stack/ports.js';
import { startStack, type RunningStack } from '../../stack/stack.js';
import { loadTools, repoRoot } from '../../stack/tools.js';
import { eventually, stackInfo, testKube } from '../support/cluster.js';
import { createAppBinding, createPgBouncer, readPgBouncer } from '../support/fixtures.js';
import { setPodFaults } from '../support/kubelet/faults.js';
import {
  canI,
  serviceAccountKubeconfig,
  startProductProcess,
  type ProductProcess,
} from '../support/service-accounts.js';
import { closeTestClient, startWorkerProcess, type WorkerProcess } from '../support/temporal.js';
import { createCaClusterIssuer, createCaIssuer, createOpsRequest, readOpsRequest } from '../support/tls-fixtures.js';

const root = repoRoot();
const chart = join(root, 'deploy', 'helm', 'pgbouncer-tls-orchestrator');
// Under test-output/stack*, so the test command's leftover check covers its processes too.
const stateDir = join(root, 'test-output', 'stack-rbac');
const outDir = join(root, 'test-output', 'rbac');
const helmHome = join(root, 'test-output', 'helm');
const tools = loadTools();
const COMPONENTS = ['worker', 'watcher', 'provisioner'] as const;
type Component = (typeof COMPONENTS)[number];
const CLUSTER_RESOURCE_NAMESPACE = 'cert-manager';
let stack: RunningStack | undefined;

function helm(args: string[]): string {
  return execFileSync(tools.helm, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: helmHome, // kubectl's discovery cache goes under $HOME/.kube
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data'),
    },
  });
}

const objectsOf = (yaml: string) =>
  loadAllYaml(yaml).filter(Boolean) as {
    kind: string;
    metadata: { name: string; namespace?: string };
    rules?: V1PolicyRule[];
  }[];

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  stack = await startStack({
    stateDir,
    fresh: true,
    ephemeralTemporalPorts: true,
    withWorker: false,
    withProvisioner: false,
    logger: createLogger({ stack: 'rbac' }, 'warn'),
  });
  process.env.PGBTLS_STACK_FILE = join(stateDir, 'stack.json');
  await testKube().core.createNamespace({ body: { metadata: { name: CLUSTER_RESOURCE_NAMESPACE } } });
}, 240_000);

afterAll(async () => {
  await closeTestClient();
  await stack?.stop();
});

describe('the chart renders', () => {
  test('helm lint passes in both modes; a namespaced install without namespaces is refused by name', () => {
    expect(helm(['lint', chart])).toContain('0 chart(s) failed');
    expect(helm(['lint', chart, '--set', 'rbac.mode=namespaced', '--set', 'rbac.namespaces={a,b}'])).toContain(
      '0 chart(s) failed',
    );
    expect(() => helm(['template', 'x', chart, '--set', 'rbac.mode=namespaced'])).toThrow(
      /rbac\.namespaces: namespaced mode needs at least one namespace/,
    );
  });

  test.each(['cluster', 'namespaced'])(
    '%s mode: exact verbs and resources, no wildcard, no escalate/bind/impersonate',
    (mode) => {
      const objects = objectsOf(
        helm(['template', 'x', chart, '--set', `rbac.mode=${mode}`, '--set', 'rbac.namespaces={a,b}']),
      );
      const roles = objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
      expect(roles.length).toBeGreaterThan(0);
      for (const role of roles) {
        for (const rule of role.rules ?? []) {
          for (const field of [rule.apiGroups, rule.resources, rule.verbs]) expect(field).not.toContain('*');
          expect(rule.verbs).not.toEqual(expect.arrayContaining(['escalate']));
          for (const verb of ['escalate', 'bind', 'impersonate']) expect(rule.verbs).not.toContain(verb);
          expect(rule.resourceNames ?? []).not.toContain('*');
        }
      }
      const secretRules = (o: (typeof roles)[number]) => (o.rules ?? []).some((r) => r.resources?.includes('secrets'));
      if (mode === 'namespaced') {
        // Secrets only through Roles, only in the listed namespaces and the cluster-resource namespace.
        expect(roles.filter((o) => o.kind === 'ClusterRole' && secretRules(o))).toEqual([]);
        const secretNamespaces = new Set(roles.filter(secretRules).map((o) => o.metadata.namespace));
        expect([...secretNamespaces].sort()).toEqual(['a', 'b', 'cert-manager']);
      } else {
        expect(roles.filter((o) => o.kind === 'Role')).toEqual([]);
      }
    },
  );

  test('the CRDs the chart installs are the repository crds/ (one source of truth)', () => {
    const crds = objectsOf(helm(['template', 'x', chart, '--include-crds'])).filter(
      (o) => o.kind === 'CustomResourceDefinition',
    );
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      'appbindings.appcatalog.appscode.com',
      'clusterissuers.cert-manager.io',
      'issuers.cert-manager.io',
      'pgbounceropsrequests.ops.kubedb.com',
      'pgbouncers.kubedb.com',
    ]);
  });
});

describe.each([{ mode: 'cluster' as const }, { mode: 'namespaced' as const }])(
  'installed in $mode mode, run as its ServiceAccounts',
  ({ mode }) => {
    const suffix = randomBytes(2).toString('hex');
    const release = `pgbtls-${mode}`;
    const releaseNamespace = `pgbtls-${mode}-system`;
    const app = `${mode}-app-${suffix}`; // managed
    const other = `${mode}-other-${suffix}`; // not managed in namespaced mode
    const taskQueue = `rbac-${mode}-${suffix}`;
    const clusterIssuer = `${mode}-cluster-ca-${suffix}`;
    const logDir = join(root, 'test-output', 'rbac', mode);
    const kubeconfigs = {} as Record<Component, KubeConfig>;
    const kubeconfigFiles = {} as Record<Component, string>;
    const chartEnv = {} as Record<Component, Record<string, string>>;
    let worker: WorkerProcess | undefined;
    let watcher: ProductProcess | undefined;
    let provisioner: ProductProcess | undefined;
    const serviceAccounts = {} as Record<Component, string>;
    const sa = (c: Component) => serviceAccounts[c];

    /** The literal env the chart gives a component, with the addresses pointed at this machine's stack. */
    async function processEnv(c: Component): Promise<Record<string, string>> {
      const info = stackInfo();
      // The chart's 0.0.0.0 listeners are for pods; here each process gets loopback ports of its own.
      const fromChart = Object.fromEntries(
        Object.entries(chartEnv[c]).filter(
          ([name]) => !['PGBTLS_HEALTH_ADDRESS', 'PGBTLS_METRICS_ADDRESS'].includes(name),
        ),
      );
      return {
        ...fromChart,
        KUBECONFIG: kubeconfigFiles[c],
        TEMPORAL_ADDRESS: info.temporal.address,
        TEMPORAL_NAMESPACE: info.temporal.namespace,
        PGBTLS_TASK_QUEUE: taskQueue,
        // startWorkerProcess picks the worker's own free ports; the others serve health only.
        ...(c === 'worker'
          ? {}
          : { PGBTLS_HEALTH_ADDRESS: `127.0.0.1:${await freePort()}`, PGBTLS_METRICS_ADDRESS: '' }),
      };
    }
    const startWatcher = async () =>
      (watcher = await startProductProcess(
        `watcher-${mode}`,
        'dist/client/watcher-main.js',
        await processEnv('watcher'),
        'watcher running',
        logDir,
      ));

    beforeAll(async () => {
      const kube = testKube();
      for (const ns of [app, other]) await kube.core.createNamespace({ body: { metadata: { name: ns } } });
      const t0 = performance.now();
      helm([
        'install',
        release,
        chart,
        '--kubeconfig',
        stackInfo().kubeconfig,
        '--namespace',
        releaseNamespace,
        '--create-namespace',
        '--set',
        `rbac.mode=${mode}`,
        ...(mode === 'namespaced' ? ['--set', `rbac.namespaces={${app}}`] : []),
        '--set',
        `clusterResourceNamespace=${CLUSTER_RESOURCE_NAMESPACE}`,
        '--set',
        `temporal.taskQueue=${taskQueue}`,
      ]);
      process.stdout.write(
        `[helm-rbac] helm install (${mode} mode): ${((performance.now() - t0) / 1000).toFixed(1)}s\n`,
      );
      const manifest = objectsOf(
        helm(['get', 'manifest', release, '--kubeconfig', stackInfo().kubeconfig, '-n', releaseNamespace]),
      );
      for (const c of COMPONENTS) {
        const deployment = manifest.find(
          (o) => o.kind === 'Deployment' && o.metadata.name.endsWith(`-${c}`),
        ) as unknown as V1Deployment;
        const env = deployment.spec!.template.spec!.containers[0].env ?? [];
        chartEnv[c] = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
        serviceAccounts[c] = deployment.spec!.template.spec!.serviceAccountName!;
        kubeconfigFiles[c] = join(logDir, `${c}.kubeconfig`);
        mkdirSync(logDir, { recursive: true });
        kubeconfigs[c] = await serviceAccountKubeconfig(kube, releaseNamespace, sa(c), kubeconfigFiles[c]);
      }
      provisioner = await startProductProcess(
        `provisioner-${mode}`,
        'dist/provisioner/main.js',
        await processEnv('provisioner'),
        'provisioner running',
        logDir,
      );
      worker = await startWorkerProcess(taskQueue, await processEnv('worker'));
      await startWatcher();
      await createAppBinding(app);
      await createCaIssuer(app, 'ca-one');
      await createCaClusterIssuer(clusterIssuer, CLUSTER_RESOURCE_NAMESPACE, [app]);
      await createPgBouncer(app, 'pb', { replicas: 1 });
      await waitReady(app);
    }, 240_000);

    afterAll(async () => {
      await watcher?.stop();
      await worker?.stop();
      await provisioner?.stop();
      // Nothing any of them did was refused: the rules cover every call the scenarios make.
      for (const p of [watcher, provisioner]) if (p) expect(p.log()).not.toMatch(/forbidden/i);
      if (worker) expect(readFileSync(worker.logFile, 'utf8')).not.toMatch(/forbidden/i);
      const t0 = performance.now();
      helm(['uninstall', release, '--kubeconfig', stackInfo().kubeconfig, '-n', releaseNamespace]);
      process.stdout.write(
        `[helm-rbac] helm uninstall (${mode} mode): ${((performance.now() - t0) / 1000).toFixed(1)}s\n`,
      );
    }, 120_000);

    test('each process runs as its ServiceAccount and answers /healthz', async () => {
      for (const c of COMPONENTS) {
        const whoami = execFileSync(
          tools.kubectl,
          ['--kubeconfig', kubeconfigFiles[c], 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'],
          { encoding: 'utf8' },
        );
        expect(whoami).toBe(`system:serviceaccount:${releaseNamespace}:${sa(c)}`);
      }
      for (const p of [watcher!, provisioner!]) {
        const address = /"health":"(http:[^"]+)"/.exec(p.log())?.[1];
        expect(address).toBeDefined();
        expect((await fetch(address!)).status).toBe(200);
      }
      expect((await fetch(worker!.healthUrl)).status).toBe(200);
    });

    test('add TLS, rotate, change issuer to a ClusterIssuer', async () => {
      await expectSuccessful('add', {
        tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'Issuer', name: 'ca-one' } },
      });
      await expectSuccessful('rotate', { tls: { rotateCertificates: true } });
      await expectSuccessful('to-cluster-ca', {
        tls: { issuerRef: { apiGroup: 'cert-manager.io', kind: 'ClusterIssuer', name: clusterIssuer } },
      });
    });

    test('a failing rotation rolls back', async () => {
      const before = (await testKube().core.readNamespacedSecret({ name: 'pb-server-cert', namespace: app })).data;
      await setPodFaults(testKube(), app, { 'pb-0': { neverReady: true, times: 1 } });
      const ref = await createOpsRequest(
        app,
        'stuck',
        { databaseRef: { name: 'pb' }, tls: { rotateCertificates: true }, timeout: '8s', maxRetries: 0 },
        { [FORCE_RESTART_ANNOTATION]: 'true' },
      );
      const done = await waitPhase(ref);
      expect(done.status?.phase).toBe('Failed');
      expect(done.status?.conditions?.map((c) => c.type)).toContain('CompensateRestoreSnapshot');
      const after = (await testKube().core.readNamespacedSecret({ name: 'pb-server-cert', namespace: app })).data;
      expect(after).toEqual(before);
      const pb = await readPgBouncer(app, 'pb');
      expect((pb.status?.conditions ?? []).some((c) => c.type === 'Paused')).toBe(false);
      await waitReady(app);
    });

    test('the watcher catches up on a remove created while it was down', async () => {
      await watcher!.stop();
      const ref = await createOpsRequest(app, 'remove', { databaseRef: { name: 'pb' }, tls: { remove: true } });
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await readOpsRequest(ref)).status?.phase ?? 'Pending').toBe('Pending');
      await startWatcher();
      expect((await waitPhase(ref)).status?.phase).toBe('Successful');
      expect((await readPgBouncer(app, 'pb')).spec.tls).toBeUndefined();
    });

    test('each ServiceAccount is refused what it must not do', async () => {
      const refusals: [Component, Parameters<typeof canI>[1]][] = [];
      for (const c of COMPONENTS) {
        refusals.push(
          [c, { verb: 'delete', resource: 'pods', namespace: app }],
          [c, { verb: 'deletecollection', resource: 'pods', namespace: app }],
          [c, { verb: 'create', resource: 'roles', group: 'rbac.authorization.k8s.io', namespace: app }],
          [c, { verb: 'create', resource: 'rolebindings', group: 'rbac.authorization.k8s.io', namespace: app }],
          [c, { verb: 'create', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' }],
          [c, { verb: 'create', resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io' }],
          [c, { verb: 'escalate', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' }],
          [c, { verb: 'bind', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' }],
          [c, { verb: 'impersonate', resource: 'serviceaccounts', namespace: app }],
          [c, { verb: 'create', resource: 'serviceaccounts/token', namespace: releaseNamespace }],
        );
        if (mode === 'namespaced' || c === 'watcher') {
          refusals.push(
            [c, { verb: 'get', resource: 'secrets', namespace: other }],
            [c, { verb: 'list', resource: 'secrets', namespace: '' }], // every Secret, cluster-wide
          );
        }
        if (c !== 'worker' && mode === 'namespaced')
          refusals.push([c, { verb: 'get', resource: 'secrets', namespace: CLUSTER_RESOURCE_NAMESPACE }]);
      }
      const allowed = [];
      for (const [c, attrs] of refusals) if (await canI(kubeconfigs[c], attrs)) allowed.push({ c, ...attrs });
      expect(allowed).toEqual([]);
      // And what they must be able to do, so the refusals above are not a broken review.
      expect(
        await canI(kubeconfigs.worker, { verb: 'create', resource: 'pods', subresource: 'eviction', namespace: app }),
      ).toBe(true);
      // The drain relabels a pod so its Service no longer selects it.
      expect(await canI(kubeconfigs.worker, { verb: 'patch', resource: 'pods', namespace: app })).toBe(true);
      expect(
        await canI(kubeconfigs.worker, { verb: 'get', resource: 'secrets', namespace: CLUSTER_RESOURCE_NAMESPACE }),
      ).toBe(true);
      expect(
        await canI(kubeconfigs.provisioner, {
          verb: 'watch',
          resource: 'pgbouncers',
          group: 'kubedb.com',
          namespace: app,
        }),
      ).toBe(true);
      // For the README: what each may do in a managed namespace, in the cluster-resource namespace
      // and in a namespace it does not manage.
      for (const c of COMPONENTS) {
        for (const [where, ns] of [
          ['managed', app],
          ['cert-manager', CLUSTER_RESOURCE_NAMESPACE],
          ['unmanaged', other],
        ]) {
          const list = execFileSync(
            tools.kubectl,
            ['--kubeconfig', kubeconfigFiles[c], 'auth', 'can-i', '--list', '-n', ns],
            { encoding: 'utf8' },
          );
          writeFileSync(join(outDir, `${mode}-${c}-${where}.txt`), list);
        }
      }
    });

    async function expectSuccessful(name: string, spec: Record<string, unknown>): Promise<void> {
      const ref = await createOpsRequest(app, name, { databaseRef: { name: 'pb' }, ...spec });
      const done = await waitPhase(ref);
      expect({
        name,
        phase: done.status?.phase,
        conditions: done.status?.phase === 'Successful' ? [] : done.status?.conditions,
      }).toEqual({ name, phase: 'Successful', conditions: [] });
      await waitReady(app);
    }
  },
);

async function waitReady(namespace: string): Promise<void> {
  await eventually(async () => (await readPgBouncer(namespace, 'pb')).status?.phase === 'Ready', {
    what: `${namespace}/pb Ready`,
    timeoutMs: 90_000,
  });
}

async function waitPhase(ref: OpsRequestRef) {
  return eventually(
    async () => {
      const r = await readOpsRequest(ref);
      return ['Successful', 'Failed', 'Skipped'].includes(r.status?.phase ?? '') ? r : undefined;
    },
    { what: `${ref.namespace}/${ref.name} to finish`, timeoutMs: 120_000, intervalMs: 250 },
  );
}

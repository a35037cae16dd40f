import type { KubernetesObject } from '@kubernetes/client-node';
import {
  configHash,
  CONFIG_HASH_ANNOTATION,
  desiredAuthSecret,
  desiredObjects,
  pdbMaxUnavailable,
  renderUserlist,
} from '../../../lib/pgbouncer/desired-objects.js';
import { poolerUsers } from '../../../lib/pgbouncer/userlist.js';
import { pgbouncer, tls } from './fixtures.js';

const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

test.each([
  [1, undefined],
  [2, 1],
  [3, 1],
  [4, 1],
  [5, 2],
  [7, 3],
])('PDB for %i replicas: maxUnavailable %s', (replicas, expected) => {
  const objs = desiredObjects(pgbouncer({ replicas }), 'ini', 'users');
  expect(objs.pdb?.spec?.maxUnavailable).toBe(expected);
  if (expected !== undefined) {
    expect(pdbMaxUnavailable(replicas)).toBe(expected);
    expect(objs.pdb!.spec!.selector!.matchLabels).toEqual(objs.statefulSet.spec!.selector.matchLabels);
  }
});

test('names, labels and owner references follow KubeDB', () => {
  const objs = desiredObjects(pgbouncer(), 'ini', 'users');
  const all: KubernetesObject[] = [
    objs.statefulSet,
    ...objs.services,
    objs.configSecret,
    objs.userlistSecret,
    objs.pdb!,
    desiredAuthSecret(pgbouncer(), 'pw'),
  ];
  expect(all.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata!.name}`)).toEqual([
    'apps/v1 StatefulSet/pb',
    'v1 Service/pb',
    'v1 Service/pb-pods',
    'v1 Secret/pb-config',
    'v1 Secret/pb-userlist',
    'policy/v1 PodDisruptionBudget/pb',
    'v1 Secret/pb-auth',
  ]);
  for (const o of all) {
    expect(o.metadata!.namespace).toBe('demo');
    expect(o.metadata!.ownerReferences).toEqual([
      {
        apiVersion: 'kubedb.com/v1',
        kind: 'PgBouncer',
        name: 'pb',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(o.metadata!.labels).toEqual({
      'app.kubernetes.io/name': 'pgbouncers.kubedb.com',
      'app.kubernetes.io/instance': 'pb',
      'app.kubernetes.io/managed-by': 'kubedb.com',
      'app.kubernetes.io/component': 'connection-pooler',
      // Secrets also say which pooler they were made for (the worker's ownership rule).
      ...(o.kind === 'Secret' ? { 'pgbtls.dev/pgbouncer': 'pb' } : {}),
    });
  }
});

test('the StatefulSet: governing Service, ordered start, OnDelete, the pgbouncer container', () => {
  const sts = desiredObjects(pgbouncer({ version: '1.24.0' }), 'ini', 'u').statefulSet;
  expect(sts.spec).toMatchObject({
    serviceName: 'pb-pods',
    replicas: 3,
    podManagementPolicy: 'OrderedReady',
    updateStrategy: { type: 'OnDelete' },
  });
  // The selector is immutable: it must not include the component label (or anything that may change).
  expect(sts.spec!.selector.matchLabels).toEqual({
    'app.kubernetes.io/name': 'pgbouncers.kubedb.com',
    'app.kubernetes.io/instance': 'pb',
    'app.kubernetes.io/managed-by': 'kubedb.com',
  });
  expect(sts.spec!.template.metadata!.labels).toMatchObject(sts.spec!.selector.matchLabels!);
  const [container] = sts.spec!.template.spec!.containers;
  expect(container).toMatchObject({
    name: 'pgbouncer',
    image: 'ghcr.io/appscode-images/pgbouncer:1.24.0',
    ports: [{ name: 'pgbouncer', containerPort: 5432, protocol: 'TCP' }],
    readinessProbe: { tcpSocket: { port: 'pgbouncer' } },
  });
  expect(desiredObjects(pgbouncer(), 'ini', 'u').statefulSet.spec!.template.spec!.containers[0].image).toBe(
    'ghcr.io/appscode-images/pgbouncer:1.18.0',
  );
  expect(desiredObjects(pgbouncer({ replicas: undefined }), 'ini', 'u').statefulSet.spec!.replicas).toBe(1);
});

test('Services: primary on the pool port, governing headless and publishing not-ready pods', () => {
  const objects = desiredObjects(pgbouncer({ connectionPool: { port: 6432 } }), 'ini', 'u');
  const [primary, governing] = objects.services;
  const sts = objects.statefulSet;
  expect(primary.spec).toMatchObject({
    type: 'ClusterIP',
    ports: [{ name: 'primary', port: 6432, targetPort: 'pgbouncer' }],
  });
  expect(governing.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ port: 6432 }] });
  // The primary Service also selects the component label, which a drain changes; the governing
  // Service (pod DNS) and the StatefulSet keep the pod.
  expect(primary.spec!.selector).toEqual({
    ...governing.spec!.selector,
    'app.kubernetes.io/component': 'connection-pooler',
  });
  expect(sts.spec!.selector!.matchLabels).toEqual(governing.spec!.selector);
});

test('volumes without TLS: config and userlist Secrets at KubeDB paths', () => {
  const pod = desiredObjects(pgbouncer(), 'ini', 'u').statefulSet.spec!.template.spec!;
  expect(pod.volumes!.map((v) => [v.name, v.secret!.secretName])).toEqual([
    ['config', 'pb-config'],
    ['userlist', 'pb-userlist'],
  ]);
  expect(pod.containers[0].volumeMounts!.map((m) => [m.name, m.mountPath, m.readOnly])).toEqual([
    ['config', '/etc/config', true],
    ['userlist', '/var/run/pgbouncer/secret', true],
  ]);
});

test('volumes with TLS add the server and client certificate Secrets', () => {
  const pod = desiredObjects(pgbouncer({ tls }), 'ini', 'u').statefulSet.spec!.template.spec!;
  expect(pod.volumes!.map((v) => v.secret!.secretName)).toEqual([
    'pb-config',
    'pb-userlist',
    'pb-server-cert',
    'pb-client-cert',
  ]);
  expect(pod.containers[0].volumeMounts!.map((m) => m.mountPath)).toEqual([
    '/etc/config',
    '/var/run/pgbouncer/secret',
    '/var/run/pgbouncer/tls/serving/server',
    '/var/run/pgbouncer/tls/serving/client',
  ]);
  const custom = desiredObjects(
    pgbouncer({ tls: { ...tls, certificates: [{ alias: 'server', secretName: 'my-server' }] } }),
    'ini',
    'u',
  );
  expect(custom.statefulSet.spec!.template.spec!.volumes!.map((v) => v.secret!.secretName)).toEqual([
    'pb-config',
    'pb-userlist',
    'my-server',
    'pb-client-cert',
  ]);
});

test('the pod template carries the hash of the config it was made with', () => {
  const hashOf = (ini: string) =>
    desiredObjects(pgbouncer(), ini, 'u').statefulSet.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION];
  expect(CONFIG_HASH_ANNOTATION).toBe('pgbtls.dev/config-hash');
  expect(hashOf('one')).toBe(configHash('one'));
  expect(configHash('one')).toMatch(/^[0-9a-f]{64}$/);
  expect(hashOf('one')).not.toBe(hashOf('two'));
});

test('the config and userlist Secrets hold exactly the rendered texts', () => {
  const objs = desiredObjects(pgbouncer(), 'the ini\n', 'the users\n');
  expect(objs.configSecret.type).toBe('Opaque');
  expect(Object.keys(objs.configSecret.data!)).toEqual(['pgbouncer.ini']);
  expect(unb64(objs.configSecret.data!['pgbouncer.ini'])).toBe('the ini\n');
  expect(Object.keys(objs.userlistSecret.data!)).toEqual(['userlist']);
  expect(unb64(objs.userlistSecret.data!.userlist)).toBe('the users\n');
});

test('the auth Secret is basic-auth for the pgbouncer admin', () => {
  const auth = desiredAuthSecret(pgbouncer(), 's3cret');
  expect(auth.type).toBe('kubernetes.io/basic-auth');
  expect(unb64(auth.data!.username)).toBe('pgbouncer');
  expect(unb64(auth.data!.password)).toBe('s3cret');
  expect(desiredAuthSecret(pgbouncer({ authSecret: { name: 'mine' } }), 'x').metadata!.name).toBe('mine');
});

test('userlist quotes names and passwords the way pgbouncer reads them', () => {
  expect(
    renderUserlist([
      { username: 'pgbouncer', password: 'a"b' },
      { username: 'postgres', password: 'x' },
    ]),
  ).toBe('"pgbouncer" "a""b"\n"postgres" "x"\n');
});

test.each([
  ['no backend user', undefined, ['pgbouncer']],
  ['a backend user', { username: 'postgres', password: 'p' }, ['pgbouncer', 'postgres']],
  ['a backend user named like the admin (admin wins)', { username: 'pgbouncer', password: 'p' }, ['pgbouncer']],
])('pooler users: %s', (_name, backend, expected) => {
  const users = poolerUsers('admin-pw', backend);
  expect(users.map((u) => u.username)).toEqual(expected);
  expect(users[0].password).toBe('admin-pw');
});

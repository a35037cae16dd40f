// How the processes and the CLI find the cluster without a kubeconfig path (issue #14): kubectl's
// order, then the running dev stack (said on stderr), then an error that says what to set.
import { expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeConfig } from '../../../lib/kube/kube.js';

const home = mkdtempSync(join(tmpdir(), 'pgbtls-home-'));
const kubeconfig = (server: string) =>
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{ name: c, cluster: { server: "' + server + '" } }]',
    'users: [{ name: u, user: { token: t } }]',
    'contexts: [{ name: x, context: { cluster: c, user: u } }]',
    'current-context: x',
  ].join('\n');
const devStackFile = join(home, 'stack-kubeconfig');
writeFileSync(devStackFile, kubeconfig('https://127.0.0.1:6443'));

test('with nothing configured and no stack running, the error says what to set', () => {
  expect(() => loadKubeConfig(undefined, { env: {}, home, devStackKubeconfig: () => undefined })).toThrow(
    /no Kubernetes cluster configured: KUBECONFIG is unset.*Set KUBECONFIG \(or --kubeconfig\)/,
  );
});

test('with nothing configured, a running npm start stack is used and the choice is said', () => {
  const notices: string[] = [];
  const kc = loadKubeConfig(undefined, {
    env: {},
    home,
    devStackKubeconfig: () => devStackFile,
    notice: (l) => notices.push(l),
  });
  expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  expect(notices).toEqual([expect.stringContaining(`using the running npm start stack's kubeconfig ${devStackFile}`)]);
});

test('an explicit path wins over the dev stack', () => {
  const own = join(home, 'own');
  writeFileSync(own, kubeconfig('https://127.0.0.2:6443'));
  const kc = loadKubeConfig(own, { env: {}, home, devStackKubeconfig: () => devStackFile });
  expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.2:6443');
});

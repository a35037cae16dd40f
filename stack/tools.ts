// Where the binaries built or installed by scripts/setup.sh are: it writes .tools.json at the
// repo root (per machine, not in git), so the version pins live only in scripts/lib.sh.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Tools {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  /** helm, for the chart's tests (deploy/helm/). */
  helm: string;
  temporal: string;
  /** Debian's pgbouncer, run by the kubelet stand-in as the pods' workload. */
  pgbouncer: string;
  /** Debian's PostgreSQL server and initdb, for the backend the test stack starts. */
  postgres: string;
  initdb: string;
  /** Clients the TLS tests use to check what a pod serves. */
  psql: string;
  openssl: string;
  versions: { kubernetes: string; etcd: string; temporalBin: string; helm: string };
}

/** The repo root: the nearest directory above this file with a package.json (works from the sources and from dist/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (no package.json above ' + dir + ')');
    dir = parent;
  }
  return dir;
}

export function loadTools(root = repoRoot()): Tools {
  const file = join(root, '.tools.json');
  if (!existsSync(file)) {
    throw new Error(
      `${file} is missing: run "npm run setup" (builds etcd/Kubernetes and installs Temporal once per machine)`,
    );
  }
  const tools = JSON.parse(readFileSync(file, 'utf8')) as Tools;
  for (const [name, path] of Object.entries(tools)) {
    if (typeof path === 'string' && !existsSync(path)) {
      throw new Error(`.tools.json: ${name} points at ${path}, which does not exist: run "npm run setup" again`);
    }
  }
  return tools;
}

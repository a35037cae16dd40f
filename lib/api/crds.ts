// The CustomResourceDefinitions in crds/ (one YAML file per CRD), found from this module's own
// location so the same code works from the sources under ts-jest and from dist/ after `tsc`.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';

/** Walks up from `start` to the first directory holding both package.json and crds/: the repository root. */
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && isDirectory(join(dir, 'crds'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`no directory with package.json and crds/ above ${start}: the CRDs ship with the repository`);
    }
  }
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** Absolute path of the repository's crds/ directory. */
export const CRD_DIR = join(findRepoRoot(dirname(fileURLToPath(import.meta.url))), 'crds');

/** Every CRD in crds/, in file-name order. Throws on a file that holds anything but CRDs. */
export function loadCrds(dir: string = CRD_DIR): V1CustomResourceDefinition[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of files) {
    for (const doc of loadAllYaml(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.apiVersion !== 'apiextensions.k8s.io/v1' || doc.kind !== 'CustomResourceDefinition') {
        throw new Error(
          `${join(dir, file)}: expected apiextensions.k8s.io/v1 CustomResourceDefinition, found ${doc.apiVersion} ${doc.kind}`,
        );
      }
      crds.push(doc as V1CustomResourceDefinition);
    }
  }
  if (crds.length === 0) throw new Error(`no CustomResourceDefinition found in ${dir}`);
  return crds;
}

// Where each custom resource lives in the Kubernetes API (group, version, plural), written once:
// every client call, watch path and manifest check takes it from here.
import { APPCATALOG_GROUP, CERT_MANAGER_GROUP, KUBEDB_GROUP, OPS_GROUP, type OpsRequestPhase } from './types.js';

export interface Resource {
  group: string;
  version: string;
  plural: string;
}

export const OPS_REQUESTS = { group: OPS_GROUP, version: 'v1alpha1', plural: 'pgbounceropsrequests' } as const;
export const PGBOUNCERS = { group: KUBEDB_GROUP, version: 'v1', plural: 'pgbouncers' } as const;
export const ISSUERS = { group: CERT_MANAGER_GROUP, version: 'v1', plural: 'issuers' } as const;
export const CLUSTER_ISSUERS = { group: CERT_MANAGER_GROUP, version: 'v1', plural: 'clusterissuers' } as const;
export const APP_BINDINGS = { group: APPCATALOG_GROUP, version: 'v1', plural: 'appbindings' } as const;

/** `apiVersion` of a manifest of this resource, e.g. ops.kubedb.com/v1alpha1. */
export const apiVersionOf = (r: Resource) => `${r.group}/${r.version}`;

/** The collection's path, for watches: in one namespace, or across all of them. */
export const collectionPath = (r: Resource, namespace?: string) =>
  `/apis/${r.group}/${r.version}${namespace ? `/namespaces/${namespace}` : ''}/${r.plural}`;

/** Phases after which a PgBouncerOpsRequest never runs again. */
export const FINISHED_PHASES: ReadonlySet<OpsRequestPhase | string> = new Set<OpsRequestPhase>([
  'Successful',
  'Failed',
  'Skipped',
]);

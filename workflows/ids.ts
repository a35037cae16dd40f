// The workflow id of an ops request: deterministic, so any number of starters (watcher replicas,
// restarts, the CLI) converge on one run per request.
export interface RequestIdentity {
  namespace: string;
  name: string;
  uid: string;
}

export const workflowIdFor = (ref: RequestIdentity) => `pgbouncer-ops/${ref.namespace}/${ref.name}/${ref.uid}`;

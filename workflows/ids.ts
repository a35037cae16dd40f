// The workflow id of an ops request: deterministic, so any number of starters (watcher replicas,
// restarts, the CLI) converge on one run per request.
export interface RequestIdentity {
  namespace: string;
  name: string;
  uid: string;
}

export const workflowIdFor = (ref: RequestIdentity) => `pgbouncer-ops/${ref.namespace}/${ref.name}/${ref.uid}`;

/** The request a workflow id names (the inverse of workflowIdFor), or undefined for an id of another shape. */
export function requestOfWorkflowId(id: string): RequestIdentity | undefined {
  const parts = id.split('/');
  if (parts.length !== 4 || parts[0] !== 'pgbouncer-ops' || parts.some((p) => p === '')) return undefined;
  const [, namespace, name, uid] = parts;
  return { namespace, name, uid };
}

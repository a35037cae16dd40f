// The orphan sweep's decisions, without servers: which open runs name a request that is gone.
import { openRunsQuery, orphanCandidates, requestOfWorkflowId } from '../../../client/orphan-sweep.js';
import { workflowIdFor } from '../../../workflows/ids.js';

const ref = (name: string, uid: string, namespace = 'demo') => ({ namespace, name, uid });

describe('requestOfWorkflowId', () => {
  test('inverts workflowIdFor', () => {
    const r = ref('rotate', '2b1f0c9e-7f5d-4c4e-9a51-0f3c2d1e0a9b');
    expect(requestOfWorkflowId(workflowIdFor(r))).toEqual(r);
  });

  test.each([
    ['another prefix', 'other/demo/rotate/uid'],
    ['too few parts', 'pgbouncer-ops/demo/rotate'],
    ['too many parts', 'pgbouncer-ops/demo/rotate/uid/extra'],
    ['an empty part', 'pgbouncer-ops/demo//uid'],
    ['no slashes', 'persist-123'],
  ])('%s: not ours', (_, id) => {
    expect(requestOfWorkflowId(id)).toBeUndefined();
  });
});

describe('orphanCandidates', () => {
  const live = ref('live', 'uid-live');
  const deleted = ref('deleted', 'uid-deleted');
  const recreated = ref('recreated', 'uid-old');
  const cache = new Map([
    ['demo/live', 'uid-live'],
    ['demo/recreated', 'uid-new'], // same name, another request
  ]);
  const cachedUid = (r: { namespace: string; name: string }) => cache.get(`${r.namespace}/${r.name}`);

  test('a run whose request exists with its uid is kept; a deleted or recreated one is a candidate', () => {
    const ids = [live, deleted, recreated].map(workflowIdFor);
    expect(orphanCandidates(ids, cachedUid)).toEqual([
      { workflowId: workflowIdFor(deleted), ref: deleted },
      { workflowId: workflowIdFor(recreated), ref: recreated },
    ]);
  });

  test('ids of another shape are left alone', () => {
    expect(orphanCandidates(['persist-1', 'pgbouncer-ops/x'], () => undefined)).toEqual([]);
  });
});

describe('openRunsQuery', () => {
  const base = `WorkflowType = 'reconfigureTLS' AND ExecutionStatus = 'Running' AND TaskQueue = 'pgbouncer-tls'`;
  test.each([
    [[], base],
    [['demo'], `${base} AND Namespace = 'demo'`],
    [['a', 'b'], `${base} AND Namespace IN ('a', 'b')`],
  ])('namespaces %p', (namespaces, query) => {
    expect(openRunsQuery({ workflowType: 'reconfigureTLS', taskQueue: 'pgbouncer-tls', namespaces })).toBe(query);
  });

  test('quotes in a task queue name cannot end the literal', () => {
    expect(openRunsQuery({ workflowType: 't', taskQueue: "q' OR 'x'='x", namespaces: [] })).toContain(
      `TaskQueue = 'q\\' OR \\'x\\'=\\'x'`,
    );
  });
});

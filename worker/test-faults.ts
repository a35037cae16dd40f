// A test-only fault hook for the fault sweeps. Inert unless PGBTLS_TEST_FAULTS names a JSON file;
// then, before each activity runs, the file's rules decide whether this call fails (non-retryably
// or transiently) or is held until the test lets it go (to kill the worker, or delete the request
// or the PgBouncer, while the step runs). The rules are re-read on every call, so a test changes
// them while the worker runs; nothing of this is reachable without the variable.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

export interface FaultRule {
  /** The activity, e.g. "mintCertificate". */
  activity: string;
  /** Only calls of runs whose workflow id contains this (the request's name, say). */
  request: string;
  /** Only calls whose JSON arguments contain this, e.g. '"phase":"Successful"'. */
  argsContain?: string;
  /** Which of those calls in that run (1-based, counted per worker process): [from, to]; absent: all. */
  calls?: [number, number];
  /**
   * fail: a non-retryable ApplicationFailure; transient: a retryable one; hold: the call waits
   * (heartbeating) until the rule is removed, after writing `<file>.<request>.held` for the test.
   */
  kind: 'fail' | 'transient' | 'hold';
}

export const TEST_FAULTS_ENV = 'PGBTLS_TEST_FAULTS';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyActivity = (...args: any[]) => Promise<unknown>;

export function withTestFaults<T extends Record<string, AnyActivity>>(activities: T, file: string | undefined): T {
  if (!file) return activities;
  const calls = new Map<string, number>();
  const rules = (): FaultRule[] => {
    try {
      return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as FaultRule[]) : [];
    } catch {
      return []; // unreadable (the test writes it atomically, so: removed meanwhile)
    }
  };
  /** The rule for this call, counting (per run) the calls of the activity whose arguments it matches. */
  const ruleFor = (name: string, workflowId: string, args: string, firstAttempt: boolean) => {
    for (const r of rules()) {
      if (r.activity !== name || !workflowId.includes(`/${r.request}/`)) continue;
      if (r.argsContain && !args.includes(r.argsContain)) continue;
      const key = `${workflowId}|${name}|${r.argsContain ?? ''}`;
      // A retry of the same activity (attempt > 1) is the same call.
      const n = (calls.get(key) ?? 0) + (firstAttempt ? 1 : 0);
      calls.set(key, n);
      if (!r.calls || (n >= r.calls[0] && n <= r.calls[1])) return { rule: r, n };
    }
    return undefined;
  };
  const stillHeld = (name: string, workflowId: string, request: string) =>
    rules().some(
      (r) => r.activity === name && r.request === request && r.kind === 'hold' && workflowId.includes(`/${request}/`),
    );
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: unknown[]) => {
      const ctx = Context.current();
      const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
      const found = ruleFor(name, workflowId, JSON.stringify(args), ctx.info.attempt === 1);
      if (found?.rule.kind === 'fail')
        throw ApplicationFailure.nonRetryable(`injected fault in ${name}`, 'InjectedFault');
      if (found?.rule.kind === 'transient') throw ApplicationFailure.retryable(`injected transient fault in ${name}`);
      if (found?.rule.kind === 'hold') {
        const { request } = found.rule;
        writeFileSync(`${file}.${request}.held`, JSON.stringify({ activity: name, workflowId, call: found.n }));
        while (stillHeld(name, workflowId, request)) {
          ctx.heartbeat({ phase: 'held by a test fault' });
          await ctx.sleep(200);
        }
      }
      return fn(...args);
    };
  }
  return wrapped as T;
}

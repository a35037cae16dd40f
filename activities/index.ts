// The worker's activities, built from the clients they use (the saga sample's factory shape), so
// tests hand them real clients pointed at the test stack. Grouped by what they touch.
import { Context } from '@temporalio/activity';
import { noopMetricMeter, type MetricMeter } from '@temporalio/common';
import type { Config } from '../lib/config.js';
import type { Kube } from '../lib/kube/kube.js';
import type { Logger } from '../lib/log.js';
import { planReconfigureTLS } from '../lib/planner/plan.js';
import type { CertificatePlan, OpsRequestRef, Plan, PlanResult } from '../lib/planner/types.js';
import { mintCertificate, type MintedCertificate } from './certificates/mint.js';
import { recordRevocations } from './certificates/revocation.js';
import { asActivity, objectGone } from './failures.js';
import { applyNewConfiguration, finalizeCaBundle, restoreConfiguration } from './kubernetes/configuration.js';
import { gatherLiveState } from './kubernetes/live-state.js';
import { updateOpsRequestStatus, type StatusUpdate } from './kubernetes/ops-request.js';
import type { WatchCaches } from './kubernetes/caches.js';
import { releaseRestartSlot, takeRestartSlot, type RestartSlots } from './kubernetes/restart-slots.js';
import { FINISHED_PHASES } from '../lib/api/resources.js';
import type { PgBouncerOpsRequest } from '../lib/api/types.js';
import { readPgBouncer, setPaused } from './kubernetes/pause.js';
import { evictPodAndWaitReady, expectReplicasAsPlanned, readPodUid, type RestartResult } from './kubernetes/pods.js';
import { deleteOwnedSecrets } from './kubernetes/secrets.js';
import { takeSnapshot } from './kubernetes/snapshot.js';
import { claimTurn, releaseTurn, renewTurn, type TurnOutcome } from './kubernetes/turn.js';
import { requestOfWorkflowId } from '../workflows/ids.js';
import {
  rememberedExpectations,
  waitUntilPodServes,
  type ServingCheck,
  type ServingTarget,
} from './pgbouncer/served-certificate.js';
import { drainPod, returnPodToService, type DrainResult, type DrainTarget } from './pgbouncer/drain.js';
import type { RenewalPlan } from '../lib/renewal/policy.js';
import { createCertificateMetrics } from './metrics/certificates.js';
import {
  createRenewalRequest,
  inspectRenewal,
  recordPgBouncerEvent,
  type PgBouncerEvent,
  type RenewalInspection,
  type RenewalTarget,
} from './kubernetes/renewal.js';

export interface PlannedRequest {
  result: PlanResult;
  /** The PgBouncer's name, when the request names one (for search attributes and the turn). */
  pgbouncer?: string;
  /** The worker's total budget for compensation (absent in histories from before the bound). */
  compensationBudgetMs?: number;
  /** Turn polls before a waiting run continues as new (absent in histories from before). */
  turnPollsPerRun?: number;
  /** The PgBouncer's resourceVersion the plan saw: unchanged at the turn, the plan still holds. */
  pgbouncerResourceVersion?: string;
}

export interface ActivityDeps {
  kube: Kube;
  config: Config;
  logger: Logger;
  /** Where the certificate gauges go (the worker's Prometheus exporter); none: not published. */
  meter?: MetricMeter;
  /** The worker's watch caches (ops requests, pods); without them every read goes to the API. */
  caches?: WatchCaches;
}

/** Requests whose status this worker wrote last, kept to write the next update without a read. */
const MAX_KNOWN_REQUESTS = 10_000;

/** How often a long wait renews its run's turn (renewTurn itself renews at most every third of the duration). */
const RENEW_EVERY_MS = 10_000;

export function createActivities({ kube, config, logger, meter, caches }: ActivityDeps) {
  /** Our logger, with the request and the ids that find this line's run and activity in Temporal. */
  const log = (ref: { namespace: string; name: string }) => {
    const { activityId, activityType, attempt, workflowExecution } = Context.current().info;
    return logger.child({
      request: `${ref.namespace}/${ref.name}`,
      workflowId: workflowExecution?.workflowId,
      runId: workflowExecution?.runId,
      activityType,
      activityId,
      attempt,
    });
  };
  const certificateMetrics = createCertificateMetrics(meter ?? noopMetricMeter);
  const expectations = rememberedExpectations();
  const slots: RestartSlots | undefined = config.maxConcurrentRestarts
    ? {
        max: config.maxConcurrentRestarts,
        namespace: config.restartSlotsNamespace,
        leaseDurationSeconds: config.leaseDurationSeconds,
      }
    : undefined;
  /** When this worker last took or renewed each request's restart slot (by request uid). */
  const slotTakenAt = new Map<string, number>();
  /**
   * Waits for a fleet-wide restart slot (PGBTLS_MAX_CONCURRENT_RESTARTS), heartbeating, so a
   * cancellation or spec.timeout ends the wait. Bounded by the activity's own timeout.
   */
  async function holdRestartSlot(): Promise<void> {
    if (!slots) return;
    const ctx = Context.current();
    const ref = requestOfWorkflowId(ctx.info.workflowExecution?.workflowId ?? '');
    if (!ref) return;
    if (Date.now() - (slotTakenAt.get(ref.uid) ?? 0) < (slots.leaseDurationSeconds * 1000) / 3) return;
    for (let waited = 0; !(await takeRestartSlot(kube, slots, ref)); waited++) {
      ctx.heartbeat({ phase: `waiting for one of ${slots.max} fleet-wide restart slots` });
      if (waited === 0) log(ref).info('waiting for a fleet-wide restart slot', { max: slots.max });
      await ctx.sleep(1_000);
    }
    slotTakenAt.delete(ref.uid);
    if (slotTakenAt.size >= MAX_KNOWN_REQUESTS) slotTakenAt.delete(slotTakenAt.keys().next().value!);
    slotTakenAt.set(ref.uid, Date.now());
  }
  /** When this worker last took or renewed each request's Lease (by request uid). */
  const renewedAt = new Map<string, number>();
  /** The request as this worker last wrote its status (by uid): the base of its next write. */
  const known = new Map<string, PgBouncerOpsRequest>();
  const remember = (uid: string, req: PgBouncerOpsRequest | undefined) => {
    known.delete(uid);
    if (!req || FINISHED_PHASES.has(req.status?.phase ?? '')) return;
    if (known.size >= MAX_KNOWN_REQUESTS) known.delete(known.keys().next().value!);
    known.set(uid, req);
  };
  /**
   * Keeps the run's Lease while it lives; a failed renewal is logged, never fails the step. A
   * Lease this worker took or renewed within a third of its duration needs no look (renewTurn
   * would not renew it yet either).
   */
  const renew = async (ref: OpsRequestRef, pgbouncer: string) => {
    if (Date.now() - (renewedAt.get(ref.uid) ?? 0) < (config.leaseDurationSeconds * 1000) / 3) return;
    try {
      await renewTurn(kube, ref, pgbouncer);
      renewedAt.delete(ref.uid);
      if (renewedAt.size >= MAX_KNOWN_REQUESTS) renewedAt.delete(renewedAt.keys().next().value!);
      renewedAt.set(ref.uid, Date.now());
    } catch (error) {
      log(ref).warn('could not renew the turn', { error });
    }
  };

  /**
   * Heartbeats every poll so a dead worker is noticed in seconds and cancellation arrives; the
   * run's turn is renewed on the way, so a long wait never lets it expire.
   */
  function activityWaitHooks(pgbouncer?: string) {
    const ctx = Context.current();
    const ref = requestOfWorkflowId(ctx.info.workflowExecution?.workflowId ?? '');
    let renewed = 0;
    return {
      progress: (details: { phase: string; uid?: string }) => {
        ctx.heartbeat(details);
        if (ref && pgbouncer && Date.now() - renewed > RENEW_EVERY_MS) {
          renewed = Date.now();
          void renew(ref, pgbouncer);
        }
      },
      sleep: (ms: number) => ctx.sleep(ms),
      readPod: caches?.readPod,
    };
  }

  return {
    // --- kubernetes: the ops request ---
    async planReconfiguration(ref: OpsRequestRef): Promise<PlannedRequest> {
      return asActivity('plan', async () => {
        const live = await gatherLiveState(kube, config, ref);
        const result = planReconfigureTLS(live, { hotReload: config.hotReload });
        log(ref).info('planned', { ok: result.ok, intent: result.ok ? result.plan.intent : undefined });
        return {
          result,
          // The request's own name for it when it is gone: the turn is released by that name.
          pgbouncer: live.pgbouncer?.name ?? live.request.spec.databaseRef?.name,
          compensationBudgetMs: config.compensationTimeoutMs,
          turnPollsPerRun: config.turnPollsPerRun,
          pgbouncerResourceVersion: live.pgbouncer?.resourceVersion,
        };
      });
    },
    async updateRequestStatus(
      ref: OpsRequestRef,
      update: StatusUpdate,
      opts: { ifExists?: boolean } = {},
    ): Promise<void> {
      return asActivity('update request status', async () => {
        // Deleted with ifExists: nobody to tell.
        const request = await updateOpsRequestStatus(kube, ref, update, { ...opts, known: known.get(ref.uid) });
        remember(ref.uid, request);
        if (request?.spec.databaseRef?.name) await renew(ref, request.spec.databaseRef.name);
      });
    },
    /**
     * With `planned`, an acquired turn also says whether the PgBouncer is still as that plan saw
     * it (every request pauses and resumes it, so no other request ran in between): the workflow
     * then keeps its plan instead of gathering everything again.
     */
    async claimTurn(
      ref: OpsRequestRef,
      planned?: { pgbouncer: string; resourceVersion: string },
    ): Promise<TurnOutcome> {
      return asActivity('claim turn', async () => {
        const turn = await claimTurn(kube, ref, config.leaseDurationSeconds, caches);
        if (turn.outcome !== 'acquired') return turn;
        renewedAt.set(ref.uid, Date.now());
        if (!planned) return turn;
        const pb = await readPgBouncer(kube, ref.namespace, planned.pgbouncer);
        return { ...turn, unchanged: pb?.metadata.resourceVersion === planned.resourceVersion };
      });
    },
    async releaseTurn(ref: OpsRequestRef, pgbouncer: string): Promise<void> {
      return asActivity('release turn', async () => {
        if (slots) await releaseRestartSlot(kube, slots, ref);
        slotTakenAt.delete(ref.uid);
        await releaseTurn(kube, ref, pgbouncer);
        renewedAt.delete(ref.uid);
        known.delete(ref.uid);
      });
    },
    // --- kubernetes: the PgBouncer and its objects ---
    async pausePgBouncer(plan: Plan): Promise<void> {
      return asActivity('pause', () =>
        setPaused(
          kube,
          plan.pgbouncer.namespace,
          plan.pgbouncer.name,
          true,
          `ReconfigureTLS (${plan.intent}) in progress`,
        ),
      );
    },
    async resumePgBouncer(plan: Plan): Promise<void> {
      return asActivity('resume', () => setPaused(kube, plan.pgbouncer.namespace, plan.pgbouncer.name, false, ''));
    },
    async snapshotConfiguration(ref: OpsRequestRef, plan: Plan): Promise<string> {
      return asActivity('snapshot', () => takeSnapshot(kube, ref, plan));
    },
    async applyNewConfiguration(_ref: OpsRequestRef, plan: Plan, minted: MintedCertificate[]): Promise<string[]> {
      return asActivity('swap configuration', () => applyNewConfiguration(kube, plan, minted));
    },
    async finalizeCaBundle(plan: Plan, minted: MintedCertificate[]): Promise<void> {
      return asActivity('finalize CA bundle', () => finalizeCaBundle(kube, plan, minted));
    },
    async restoreConfiguration(plan: Plan, snapshotName: string): Promise<'restored' | 'pgbouncer-gone'> {
      return asActivity('restore snapshot', () => restoreConfiguration(kube, plan, snapshotName));
    },
    /** Deletes only Secrets a pooler owns by our marks; any other is left and logged. */
    async deleteSecrets(namespace: string, names: string[]): Promise<string[]> {
      return asActivity('delete Secrets', async () => {
        const { deleted, kept } = await deleteOwnedSecrets(kube, namespace, names.filter(Boolean));
        if (kept.length) logger.warn('left Secrets alone: not created by this orchestrator', { namespace, kept });
        return deleted;
      });
    },
    /** The replica count the plan rolled is still what the PgBouncer and its StatefulSet want. */
    async checkReplicas(plan: Plan): Promise<void> {
      return asActivity('check replicas', async () => {
        const { namespace, name } = plan.pgbouncer;
        const pb = await readPgBouncer(kube, namespace, name);
        if (!pb) throw objectGone(`PgBouncer ${namespace}/${name} no longer exists`);
        await expectReplicasAsPlanned(kube, { namespace, name, replicas: pb.spec.replicas, planned: plan.pods.length });
      });
    },
    async listPodUids(plan: Plan): Promise<Record<string, string>> {
      return asActivity('list pods', async () => {
        const uids: Record<string, string> = {};
        for (const pod of plan.pods) {
          const uid = await readPodUid(kube, plan.pgbouncer.namespace, pod.name);
          if (uid) uids[pod.name] = uid;
        }
        return uids;
      });
    },
    async readPodUid(namespace: string, pod: string): Promise<string | null> {
      return asActivity('read pod', () => readPodUid(kube, namespace, pod));
    },
    async evictPodAndWaitReady(args: { namespace: string; pod: string; uid: string }): Promise<RestartResult> {
      return asActivity(`restart pod ${args.pod}`, async () => {
        await holdRestartSlot();
        return evictPodAndWaitReady(kube, args, activityWaitHooks(statefulSetOf(args.pod)));
      });
    },
    // --- pgbouncer: what the pods really serve ---
    /** After a restart: waits until the pod serves the intended certificate (or no TLS). */
    async verifyServedCertificate(target: Omit<ServingTarget, 'reload'>): Promise<ServingCheck> {
      return asActivity(`verify pod ${target.pod}`, () =>
        waitUntilPodServes(kube, { ...target, reload: false }, activityWaitHooks(target.pgbouncer), {
          timeoutMs: config.servedCertificateTimeoutMs,
          expect: expectations,
        }),
      );
    },
    /** Before a restart: out of the Service, then wait (bounded) until the sessions on the pod end. */
    async drainPod(target: DrainTarget): Promise<DrainResult> {
      return asActivity(`drain pod ${target.pod}`, () =>
        drainPod(kube, target, activityWaitHooks(target.pgbouncer), { blindDrainMs: config.blindDrainMs }),
      );
    },
    /** Compensation: a pod drained but never evicted is selected by its Service again. */
    async returnPodToService(target: { namespace: string; pod: string; uid: string }): Promise<boolean> {
      return asActivity(`return pod ${target.pod} to its Service`, () => returnPodToService(kube, target));
    },
    /** Hot reload: RELOAD through the admin console until the pod serves the intended certificate. */
    async reloadPodAndWaitServing(target: Omit<ServingTarget, 'reload'>): Promise<ServingCheck> {
      return asActivity(`reload pod ${target.pod}`, () =>
        waitUntilPodServes(kube, { ...target, reload: true }, activityWaitHooks(target.pgbouncer), {
          timeoutMs: config.servedCertificateTimeoutMs,
          expect: expectations,
        }),
      );
    },
    // --- certificates ---
    async mintCertificate(ref: OpsRequestRef, plan: Plan, cert: CertificatePlan): Promise<MintedCertificate> {
      return asActivity(`mint ${cert.alias} certificate`, async () => {
        const minted = await mintCertificate(kube, plan, cert, ref.uid);
        log(ref).info('minted', {
          alias: minted.alias,
          serial: minted.serialHex,
          notAfter: minted.notAfter,
          reused: minted.reused,
        });
        return minted;
      });
    },
    // --- kubernetes + metrics: unattended renewal ---
    /** The renewal policy over the pooler's live certificates; publishes the certificate gauges. */
    async inspectRenewal(target: RenewalTarget, watch?: string): Promise<RenewalInspection> {
      return asActivity('inspect certificates', async () => {
        const inspection = await inspectRenewal(kube, config, target, watch);
        certificateMetrics.publish(target, inspection.certificates, inspection.plan);
        return inspection;
      });
    },
    async createRenewalRequest(
      target: RenewalTarget,
      plan: RenewalPlan,
      workflowId: string,
    ): Promise<{ name: string; created: boolean }> {
      return asActivity('create renewal request', async () => {
        const result = await createRenewalRequest(kube, target, plan, workflowId);
        logger.child({ pgbouncer: `${target.namespace}/${target.name}`, workflowId }).info('renewal request', result);
        return result;
      });
    },
    /** An Event on the PgBouncer, and for finished tries the renewal counter. */
    async recordRenewalEvent(target: RenewalTarget, event: PgBouncerEvent, outcome?: string): Promise<void> {
      return asActivity('record renewal event', async () => {
        if (outcome) certificateMetrics.countRenewal(target, outcome);
        await recordPgBouncerEvent(kube, target, event);
      });
    },
    async recordRevocations(plan: Plan): Promise<{ crlSecret: string; serials: string[] }[]> {
      return asActivity('record revocations', () => recordRevocations(kube, plan));
    },
  };
}

/** A StatefulSet pod's set (and so PgBouncer) name: pb-2 → pb. */
const statefulSetOf = (pod: string) => pod.replace(/-\d+$/, '');

export type Activities = ReturnType<typeof createActivities>;

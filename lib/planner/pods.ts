// The roll: every pod, one at a time, highest ordinal first (as a StatefulSet rolls, so pod 0 —
// the one clients most often pin to — changes last). Each pod is reloaded or restarted by the
// decision table below (README "Reload or restart"), measured on PgBouncer 1.18: RELOAD re-reads
// the certificate and key, client_tls_ca_file, client_tls_sslmode (also to disable), auth_type and
// the server_tls_* files (server connections are then marked close_needed and reconnect with the
// new client certificate once released); open sessions keep their TLS and their backend.
import type { SslMode } from '../api/types.js';
import type { Intent, PodPlan, PodSummary } from './types.js';

/** On a PgBouncerOpsRequest: "true" restarts every pod even where a hot reload would do. */
export const FORCE_RESTART_ANNOTATION = 'pgbtls.dev/force-restart';

export const forceRestartRequested = (annotations: Record<string, string> | undefined) =>
  annotations?.[FORCE_RESTART_ANNOTATION] === 'true';

/** Without spec.timeout: how long a drain before a restart waits for the pod's sessions to end. */
export const DEFAULT_DRAIN_BOUND_MS = 30_000;

/** The drain bound: half of spec.timeout (the restart and its checks get the other half), else the default. */
export const drainBoundOf = (stepTimeoutMs: number) =>
  stepTimeoutMs ? Math.max(1_000, Math.floor(stepTimeoutMs / 2)) : DEFAULT_DRAIN_BOUND_MS;

export interface ReloadConditions {
  /** PGBTLS_HOT_RELOAD is on and the request does not carry pgbtls.dev/force-restart. */
  hotReload: boolean;
  intent: Intent;
  tlsBefore: boolean;
  sslModeBefore: SslMode;
  /** Any minted certificate comes from another issuer or CA than the one it replaces. */
  caChanges: boolean;
  /** A certificate moves to another Secret, so the pod's volume changes. */
  secretNameChanges: boolean;
}

export interface PodMethod {
  method: PodPlan['method'];
  /** Why, for the plan's description and the README's table. */
  reason: string;
}

/** The decision table (README "Reload or restart"): the first row that applies wins. */
export function podMethod(c: ReloadConditions): PodMethod {
  if (!c.hotReload) return { method: 'restart', reason: 'hot reload is off or pgbtls.dev/force-restart is set' };
  if (!c.tlsBefore || c.sslModeBefore === 'disable') {
    return {
      method: 'restart',
      reason:
        'the pods serve no TLS yet: no verified admin console to send RELOAD to (the password never goes in plaintext)',
    };
  }
  if (c.secretNameChanges) {
    return {
      method: 'restart',
      reason: "a certificate moves to another Secret: a running pod's volume keeps the old one",
    };
  }
  if (c.caChanges && (c.sslModeBefore === 'verify-ca' || c.sslModeBefore === 'verify-full')) {
    return {
      method: 'restart',
      reason: `sslMode ${c.sslModeBefore} checks client certificates against the CA being replaced, so the admin console's new certificate would be refused before the RELOAD`,
    };
  }
  return { method: 'reload', reason: `${c.intent}: PgBouncer re-reads these settings on RELOAD` };
}

export const canReload = (c: ReloadConditions): boolean => podMethod(c).method === 'reload';

const byName = (a: PodSummary, b: PodSummary) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function planPods(pods: PodSummary[], method: PodPlan['method']): PodPlan[] {
  return [...pods]
    .sort((a, b) => b.ordinal - a.ordinal || byName(a, b))
    .map((p) => ({ name: p.name, uid: p.uid, ordinal: p.ordinal, method }));
}

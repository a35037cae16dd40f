// The roll: every pod, one at a time, highest ordinal first (as a StatefulSet rolls, so pod 0 —
// the one clients most often pin to — changes last). A pod is restarted unless hot reload is on
// and nothing but certificate contents under the same CA changes: PgBouncer >= 1.16 re-reads its
// TLS files on RELOAD, but the CA it checks clients against, client_tls_sslmode, auth_type and the
// Secret a volume mounts all need a new pod.
import type { Intent, PodPlan, PodSummary } from './types.js';

/** On a PgBouncerOpsRequest: "true" restarts every pod even where a hot reload would do. */
export const FORCE_RESTART_ANNOTATION = 'pgbtls.dev/force-restart';

export const forceRestartRequested = (annotations: Record<string, string> | undefined) =>
  annotations?.[FORCE_RESTART_ANNOTATION] === 'true';

export interface ReloadConditions {
  hotReload: boolean;
  intent: Intent;
  tlsBefore: boolean;
  /** Any minted certificate comes from another issuer or CA than the one it replaces. */
  caChanges: boolean;
  sslModeChanges: boolean;
  authTypeChanges: boolean;
  /** A certificate moves to another Secret, so the pod's volume changes. */
  secretNameChanges: boolean;
}

export function canReload(c: ReloadConditions): boolean {
  return (
    c.hotReload &&
    (c.intent === 'rotate' || c.intent === 'reissue') &&
    c.tlsBefore &&
    !c.caChanges &&
    !c.sslModeChanges &&
    !c.authTypeChanges &&
    !c.secretNameChanges
  );
}

const byName = (a: PodSummary, b: PodSummary) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function planPods(pods: PodSummary[], method: PodPlan['method']): PodPlan[] {
  return [...pods]
    .sort((a, b) => b.ordinal - a.ordinal || byName(a, b))
    .map((p) => ({ name: p.name, uid: p.uid, ordinal: p.ordinal, method }));
}

// status.phase from replica readiness, with KubeDB's meanings: a new pooler is Provisioning until
// every replica has been Ready once; after that, Ready (all), Critical (some) or NotReady (none).
import type { PgBouncerPhase } from '../lib/api/types.js';

export function computePhase(
  previousPhase: PgBouncerPhase | undefined,
  replicas: number,
  readyReplicas: number,
): PgBouncerPhase {
  const allReady = readyReplicas >= replicas;
  if (previousPhase === undefined || previousPhase === 'Provisioning') return allReady ? 'Ready' : 'Provisioning';
  if (allReady) return 'Ready';
  return readyReplicas > 0 ? 'Critical' : 'NotReady';
}

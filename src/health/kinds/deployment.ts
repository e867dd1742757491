// Deployment health: rollout observed, every replica updated and available, deadline not exceeded.
import type { KubeObject } from '../../api/index.ts';
import {
  condition,
  desiredReplicas,
  explain,
  num,
  result,
  staleGeneration,
  statusOf,
  type HealthResult,
} from './common.ts';

export function deploymentHealth(obj: KubeObject): HealthResult {
  const stale = staleGeneration(obj, true);
  if (stale) return stale;
  const status = statusOf(obj) ?? {};
  const want = desiredReplicas(obj);
  const updated = num(status['updatedReplicas']) ?? 0;
  const total = num(status['replicas']) ?? 0;
  const available = num(status['availableReplicas']) ?? 0;
  const progressing = condition(obj, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return result(
      'Failed',
      obj,
      `rollout exceeded its progress deadline with ${updated} of ${want} replicas updated, ${available} available${explain(progressing)}`,
    );
  }
  if (updated < want) return result('InProgress', obj, `${updated} of ${want} replicas updated`);
  if (total > updated)
    return result('InProgress', obj, `${total - updated} old replicas pending termination`);
  if (available < want)
    return result('InProgress', obj, `${available} of ${want} updated replicas available`);
  return result('Current', obj, `${available} of ${want} replicas available`);
}

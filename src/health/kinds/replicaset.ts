// ReplicaSet health: observed, every replica ready and available.
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

export function replicaSetHealth(obj: KubeObject): HealthResult {
  const stale = staleGeneration(obj, true);
  if (stale) return stale;
  const status = statusOf(obj) ?? {};
  const want = desiredReplicas(obj);
  // Quota or admission refusals can clear up, so a ReplicaFailure is progress, not failure (as in kstatus).
  const failure = condition(obj, 'ReplicaFailure');
  const note = failure?.status === 'True' ? `; replica failure${explain(failure)}` : '';
  const ready = num(status['readyReplicas']) ?? 0;
  if (ready < want) return result('InProgress', obj, `${ready} of ${want} replicas ready${note}`);
  const available = num(status['availableReplicas']) ?? 0;
  if (available < want) return result('InProgress', obj, `${available} of ${want} replicas available${note}`);
  return result('Current', obj, `${available} of ${want} replicas available`);
}

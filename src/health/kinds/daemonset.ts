// DaemonSet health: observed, and every scheduled node runs an updated, available pod.
import type { KubeObject } from '../../api/index.ts';
import { num, record, result, specOf, staleGeneration, str, statusOf, type HealthResult } from './common.ts';

export function daemonSetHealth(obj: KubeObject): HealthResult {
  const stale = staleGeneration(obj, true);
  if (stale) return stale;
  const status = statusOf(obj) ?? {};
  const desired = num(status['desiredNumberScheduled']);
  if (desired === undefined) return result('InProgress', obj, 'waiting for pods to be scheduled');
  const strategy = str(record(specOf(obj)['updateStrategy'])?.['type']) ?? 'RollingUpdate';
  const updated = num(status['updatedNumberScheduled']) ?? 0;
  if (strategy === 'RollingUpdate' && updated < desired) {
    return result('InProgress', obj, `${updated} of ${desired} pods updated`);
  }
  const available = num(status['numberAvailable']) ?? 0;
  if (available < desired) return result('InProgress', obj, `${available} of ${desired} pods available`);
  return result('Current', obj, `${available} of ${desired} pods available`);
}

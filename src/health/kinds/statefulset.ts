// StatefulSet health: observed, ready, and (for RollingUpdate) rolled out to the update revision.
import type { KubeObject } from '../../api/index.ts';
import {
  desiredReplicas,
  num,
  record,
  result,
  specOf,
  staleGeneration,
  str,
  statusOf,
  type HealthResult,
} from './common.ts';

export function statefulSetHealth(obj: KubeObject): HealthResult {
  const stale = staleGeneration(obj, true);
  if (stale) return stale;
  const status = statusOf(obj) ?? {};
  const want = desiredReplicas(obj);
  const ready = num(status['readyReplicas']) ?? 0;
  if (ready < want) return result('InProgress', obj, `${ready} of ${want} replicas ready`);
  const available = num(status['availableReplicas']);
  if (available !== undefined && available < want) {
    return result('InProgress', obj, `${available} of ${want} replicas available`);
  }
  const strategy = record(specOf(obj)['updateStrategy']);
  // OnDelete: the controller never replaces pods itself, so revisions may differ for good.
  if ((str(strategy?.['type']) ?? 'RollingUpdate') !== 'RollingUpdate') {
    return result('Current', obj, `${ready} of ${want} replicas ready (OnDelete updates)`);
  }
  const updated = num(status['updatedReplicas']) ?? 0;
  const partition = num(record(strategy?.['rollingUpdate'])?.['partition']) ?? 0;
  if (partition > 0) {
    // A partitioned rollout stops on purpose: only ordinals ≥ partition are updated.
    const target = Math.max(0, want - partition);
    if (updated < target)
      return result('InProgress', obj, `${updated} of ${target} partitioned replicas updated`);
    return result('Current', obj, `partitioned rollout done: ${updated} of ${want} replicas updated`);
  }
  if (updated < want) return result('InProgress', obj, `${updated} of ${want} replicas updated`);
  const current = str(status['currentRevision']);
  const update = str(status['updateRevision']);
  if (current !== update) {
    return result('InProgress', obj, `rolling out revision ${update ?? '?'} (current ${current ?? '?'})`);
  }
  return result('Current', obj, `${ready} of ${want} replicas ready at revision ${current ?? '?'}`);
}

// Health of any other kind, by kstatus conventions: observedGeneration, Stalled/Reconciling, Ready/Available.
import type { KubeObject } from '../../api/index.ts';
import {
  condition,
  explain,
  num,
  result,
  staleGeneration,
  str,
  statusOf,
  type Condition,
  type HealthResult,
} from './common.ts';

/** Reasons that say a controller gave up rather than is still working (Flux, cert-manager, Crossplane…). */
const FAILURE_REASON = /fail|error|invalid|degraded/i;

export function genericHealth(obj: KubeObject): HealthResult {
  const status = obj['status'];
  if (status === undefined || status === null) return result('Current', obj, 'no status to wait for');
  if (statusOf(obj) === undefined) return result('Unknown', obj, 'status is not an object');
  const stale = staleGeneration(obj, false);
  if (stale) return stale;

  const stalled = condition(obj, 'Stalled');
  if (stalled?.status === 'True') return result('Failed', obj, `stalled${explain(stalled)}`);
  const reconciling = condition(obj, 'Reconciling');
  if (reconciling?.status === 'True') return result('InProgress', obj, `reconciling${explain(reconciling)}`);

  const ready = condition(obj, 'Ready') ?? condition(obj, 'Available');
  if (ready) return fromCondition(obj, ready);

  const phase = str(statusOf(obj)?.['phase']);
  if (phase === 'Failed' || phase === 'Error') return result('Failed', obj, `phase is ${phase}`);
  return result('Current', obj, 'no readiness condition to wait for');
}

function fromCondition(obj: KubeObject, c: Condition): HealthResult {
  const generation = num(obj.metadata['generation']);
  if (c.observedGeneration !== undefined && generation !== undefined && c.observedGeneration < generation) {
    return result(
      'InProgress',
      obj,
      `${c.type} condition is from generation ${c.observedGeneration}, not ${generation}`,
    );
  }
  if (c.status === 'True') return result('Current', obj, `${c.type}${explain(c)}`);
  if (c.status === 'False' && c.reason && FAILURE_REASON.test(c.reason)) {
    return result('Failed', obj, `not ${c.type}${explain(c)}`);
  }
  return result('InProgress', obj, `${c.type} is ${c.status}${explain(c)}`);
}

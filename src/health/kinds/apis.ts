// Health of API extension kinds: CustomResourceDefinition Established, APIService Available.
import type { KubeObject } from '../../api/index.ts';
import { condition, explain, result, type HealthResult } from './common.ts';

export function crdHealth(obj: KubeObject): HealthResult {
  const names = condition(obj, 'NamesAccepted');
  // A name clash with another CRD does not resolve by waiting.
  if (names?.status === 'False') return result('Failed', obj, `names not accepted${explain(names)}`);
  const established = condition(obj, 'Established');
  if (established?.status === 'True') return result('Current', obj, 'established');
  return result('InProgress', obj, `waiting to be established${explain(established)}`);
}

export function apiServiceHealth(obj: KubeObject): HealthResult {
  const available = condition(obj, 'Available');
  if (available?.status === 'True') return result('Current', obj, 'available');
  return result('InProgress', obj, `not available${explain(available)}`);
}

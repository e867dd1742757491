// Job health: Complete is done, Failed (or the FailureTarget that precedes it) is final.
import type { KubeObject } from '../../api/index.ts';
import { condition, explain, num, result, specOf, statusOf, type HealthResult } from './common.ts';

export function jobHealth(obj: KubeObject): HealthResult {
  const failed = condition(obj, 'Failed');
  if (failed?.status === 'True') return result('Failed', obj, `job failed${explain(failed)}`);
  const target = condition(obj, 'FailureTarget');
  if (target?.status === 'True') return result('Failed', obj, `job is failing${explain(target)}`);
  if (condition(obj, 'Complete')?.status === 'True') return result('Current', obj, 'job completed');
  if (specOf(obj)['suspend'] === true) return result('InProgress', obj, 'job is suspended');
  const status = statusOf(obj) ?? {};
  if (status['startTime'] === undefined) return result('InProgress', obj, 'job not started');
  const counts = ['active', 'succeeded', 'failed'].map((k) => `${num(status[k]) ?? 0} ${k}`).join(', ');
  return result('InProgress', obj, `job running: ${counts}`);
}

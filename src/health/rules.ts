// kstatus-style health of one object: which rule applies to which kind, one small file per kind family.
import { groupOf, type KubeObject } from '../api/index.ts';
import { apiServiceHealth, crdHealth } from './kinds/apis.ts';
import type { HealthResult } from './kinds/common.ts';
import { result } from './kinds/common.ts';
import { namespaceHealth, podHealth, pvcHealth, serviceHealth } from './kinds/core.ts';
import { daemonSetHealth } from './kinds/daemonset.ts';
import { deploymentHealth } from './kinds/deployment.ts';
import { genericHealth } from './kinds/generic.ts';
import { jobHealth } from './kinds/job.ts';
import { replicaSetHealth } from './kinds/replicaset.ts';
import { statefulSetHealth } from './kinds/statefulset.ts';

export type { HealthResult, HealthStatus } from './kinds/common.ts';

type Rule = (obj: KubeObject) => HealthResult;

/** Rules by `group/kind`; a kind of the same name in another group gets the generic rule. */
const RULES: ReadonlyMap<string, Rule> = new Map([
  ['apps/Deployment', deploymentHealth],
  ['apps/StatefulSet', statefulSetHealth],
  ['apps/DaemonSet', daemonSetHealth],
  ['apps/ReplicaSet', replicaSetHealth],
  ['batch/Job', jobHealth],
  ['apiextensions.k8s.io/CustomResourceDefinition', crdHealth],
  ['apiregistration.k8s.io/APIService', apiServiceHealth],
  ['/Namespace', namespaceHealth],
  ['/PersistentVolumeClaim', pvcHealth],
  ['/Service', serviceHealth],
  ['/Pod', podHealth],
]);

/**
 * Current (ready), InProgress (keep waiting), Failed (stop waiting: will not get better on its
 * own) or Unknown (cannot tell), with a message naming the object. Pure: reads only `obj`.
 */
export function assessHealth(obj: KubeObject): HealthResult {
  if (obj.metadata['deletionTimestamp']) return result('InProgress', obj, 'being deleted');
  const rule = RULES.get(`${groupOf(obj.apiVersion)}/${obj.kind}`) ?? genericHealth;
  return rule(obj);
}

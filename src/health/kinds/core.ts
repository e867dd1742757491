// Health of core kinds with one status signal each: Namespace, PersistentVolumeClaim, Service, Pod.
import type { KubeObject } from '../../api/index.ts';
import { condition, explain, record, result, specOf, str, statusOf, type HealthResult } from './common.ts';

export function namespaceHealth(obj: KubeObject): HealthResult {
  const phase = str(statusOf(obj)?.['phase']);
  if (phase === 'Active') return result('Current', obj, 'namespace is active');
  if (phase === 'Terminating') return result('InProgress', obj, 'namespace is terminating');
  return result('InProgress', obj, 'waiting for the namespace to become active');
}

export function pvcHealth(obj: KubeObject): HealthResult {
  const phase = str(statusOf(obj)?.['phase']);
  if (phase === 'Bound') return result('Current', obj, 'claim is bound');
  if (phase === 'Lost') return result('Failed', obj, 'claim lost its volume');
  return result('InProgress', obj, `claim is ${phase ?? 'Pending'}, waiting to be bound`);
}

export function serviceHealth(obj: KubeObject): HealthResult {
  const type = str(specOf(obj)['type']) ?? 'ClusterIP';
  if (type !== 'LoadBalancer') return result('Current', obj, `${type} service`);
  const ingress = record(statusOf(obj)?.['loadBalancer'])?.['ingress'];
  if (Array.isArray(ingress) && ingress.length > 0) {
    const first = record(ingress[0]);
    const address = str(first?.['ip']) ?? str(first?.['hostname']) ?? 'assigned';
    return result('Current', obj, `load balancer ready at ${address}`);
  }
  return result('InProgress', obj, 'waiting for a load balancer address');
}

/** Waiting reasons that no retry fixes. */
const FATAL_WAITING = new Set([
  'CrashLoopBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerError',
]);

export function podHealth(obj: KubeObject): HealthResult {
  const status = statusOf(obj) ?? {};
  const phase = str(status['phase']);
  if (phase === 'Succeeded') return result('Current', obj, 'pod succeeded');
  if (phase === 'Failed') {
    const why = str(status['reason']) ?? str(status['message']);
    return result('Failed', obj, `pod failed${why ? ` (${why})` : ''}`);
  }
  const containers = [status['initContainerStatuses'], status['containerStatuses']].flatMap((l) =>
    Array.isArray(l) ? l : [],
  );
  for (const c of containers) {
    const waiting = record(record(record(c)?.['state'])?.['waiting']);
    const reason = str(waiting?.['reason']);
    if (reason && FATAL_WAITING.has(reason)) {
      return result('Failed', obj, `container ${str(record(c)?.['name']) ?? '?'} is in ${reason}`);
    }
  }
  const ready = condition(obj, 'Ready');
  if (ready?.status === 'True') return result('Current', obj, 'pod is ready');
  for (const c of containers) {
    const reason = str(record(record(record(c)?.['state'])?.['waiting'])?.['reason']);
    if (reason)
      return result('InProgress', obj, `container ${str(record(c)?.['name']) ?? '?'} is waiting: ${reason}`);
  }
  return result('InProgress', obj, `pod is ${phase ?? 'Pending'}, not ready${explain(ready)}`);
}

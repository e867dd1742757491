import { describe, expect, it } from 'vitest';
import { assessHealth } from '../../../src/health/index.ts';
import { cond, obj } from './fixtures.ts';

describe('Namespace', () => {
  const ns = (status?: unknown) => obj('v1', 'Namespace', { name: 'apps', namespace: null, status });
  it('is Current when Active, InProgress while terminating or unknown', () => {
    expect(assessHealth(ns({ phase: 'Active' }))).toEqual({
      status: 'Current',
      message: 'Namespace apps: namespace is active',
    });
    expect(
      assessHealth(
        ns({
          phase: 'Terminating',
          conditions: [cond('NamespaceDeletionContentFailure', 'False', 'ContentDeleted')],
        }),
      ),
    ).toEqual({ status: 'InProgress', message: 'Namespace apps: namespace is terminating' });
    expect(assessHealth(ns()).status).toBe('InProgress');
  });
});

describe('PersistentVolumeClaim', () => {
  const pvc = (status?: unknown) =>
    obj('v1', 'PersistentVolumeClaim', { name: 'data', spec: { accessModes: ['ReadWriteOnce'] }, status });
  it('is Current when Bound, Failed when Lost, InProgress while Pending', () => {
    expect(
      assessHealth(pvc({ phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } })),
    ).toEqual({
      status: 'Current',
      message: 'PersistentVolumeClaim apps/data: claim is bound',
    });
    expect(assessHealth(pvc({ phase: 'Lost' })).status).toBe('Failed');
    expect(assessHealth(pvc({ phase: 'Pending' }))).toEqual({
      status: 'InProgress',
      message: 'PersistentVolumeClaim apps/data: claim is Pending, waiting to be bound',
    });
    expect(assessHealth(pvc()).status).toBe('InProgress');
  });
});

describe('Service', () => {
  const svc = (type: string | undefined, status: unknown = { loadBalancer: {} }) =>
    obj('v1', 'Service', { spec: { ...(type ? { type } : {}), ports: [{ port: 80 }] }, status });
  it('is Current for ClusterIP, NodePort and ExternalName services', () => {
    expect(assessHealth(svc(undefined))).toEqual({
      status: 'Current',
      message: 'Service apps/web: ClusterIP service',
    });
    expect(assessHealth(svc('NodePort')).status).toBe('Current');
    expect(assessHealth(svc('ExternalName', undefined)).status).toBe('Current');
  });
  it('waits for a LoadBalancer ingress address', () => {
    expect(assessHealth(svc('LoadBalancer'))).toEqual({
      status: 'InProgress',
      message: 'Service apps/web: waiting for a load balancer address',
    });
    expect(assessHealth(svc('LoadBalancer', { loadBalancer: { ingress: [] } })).status).toBe('InProgress');
    expect(
      assessHealth(
        svc('LoadBalancer', { loadBalancer: { ingress: [{ ip: '203.0.113.7', ipMode: 'VIP' }] } }),
      ),
    ).toEqual({
      status: 'Current',
      message: 'Service apps/web: load balancer ready at 203.0.113.7',
    });
    expect(
      assessHealth(svc('LoadBalancer', { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } }))
        .message,
    ).toBe('Service apps/web: load balancer ready at lb.example.com');
  });
});

describe('Pod', () => {
  const pod = (status: unknown) =>
    obj('v1', 'Pod', { name: 'web-0', spec: { containers: [{ name: 'web' }] }, status });
  const running = (ready: 'True' | 'False', containerStatuses: unknown[] = []) => ({
    phase: 'Running',
    conditions: [
      cond('PodScheduled', 'True'),
      cond('Initialized', 'True'),
      cond('ContainersReady', ready),
      cond('Ready', ready),
    ],
    containerStatuses,
  });

  it('is Current when Ready or Succeeded', () => {
    expect(assessHealth(pod(running('True')))).toEqual({
      status: 'Current',
      message: 'Pod apps/web-0: pod is ready',
    });
    expect(assessHealth(pod({ phase: 'Succeeded' })).status).toBe('Current');
  });

  it('fails when the pod Failed or a container is crash-looping', () => {
    expect(
      assessHealth(
        pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }),
      ),
    ).toEqual({
      status: 'Failed',
      message: 'Pod apps/web-0: pod failed (Evicted)',
    });
    const crash = running('False', [
      {
        name: 'web',
        ready: false,
        restartCount: 5,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s' } },
      },
    ]);
    expect(assessHealth(pod(crash))).toEqual({
      status: 'Failed',
      message: 'Pod apps/web-0: container web is in CrashLoopBackOff',
    });
  });

  it('waits on image pulls and unready containers', () => {
    const pulling = running('False', [
      { name: 'web', ready: false, state: { waiting: { reason: 'ImagePullBackOff' } } },
    ]);
    expect(assessHealth(pod(pulling))).toEqual({
      status: 'InProgress',
      message: 'Pod apps/web-0: container web is waiting: ImagePullBackOff',
    });
    expect(
      assessHealth(pod(running('False', [{ name: 'web', ready: false, state: { running: {} } }]))).message,
    ).toBe('Pod apps/web-0: pod is Running, not ready');
    expect(
      assessHealth(pod({ phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'Unschedulable')] }))
        .message,
    ).toBe('Pod apps/web-0: pod is Pending, not ready');
  });
});

describe('objects being deleted', () => {
  it('are InProgress whatever their status', () => {
    const cm = obj('v1', 'ConfigMap', { name: 'c' });
    cm.metadata['deletionTimestamp'] = '2025-01-01T00:01:00Z';
    expect(assessHealth(cm)).toEqual({ status: 'InProgress', message: 'ConfigMap apps/c: being deleted' });
  });
});

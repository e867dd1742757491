import { describe, expect, it } from 'vitest';
import { assessHealth } from '../../../src/health/index.ts';
import { cond, obj } from './fixtures.ts';

describe('objects without status', () => {
  it('are Current: ConfigMap, Secret, ServiceAccount, Role, ClusterRole', () => {
    for (const [apiVersion, kind] of [
      ['v1', 'ConfigMap'],
      ['v1', 'Secret'],
      ['v1', 'ServiceAccount'],
      ['rbac.authorization.k8s.io/v1', 'Role'],
      ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
    ] as const) {
      expect(assessHealth(obj(apiVersion, kind, { name: 'x' }))).toEqual({
        status: 'Current',
        message: `${kind} apps/x: no status to wait for`,
      });
    }
    expect(
      assessHealth(obj('rbac.authorization.k8s.io/v1', 'ClusterRole', { name: 'view', namespace: null }))
        .message,
    ).toBe('ClusterRole view: no status to wait for');
  });
});

describe('custom resources by convention', () => {
  const cr = (status: unknown, generation = 1) =>
    obj('cert-manager.io/v1', 'Certificate', {
      name: 'tls',
      generation,
      spec: { secretName: 'tls' },
      status,
    });

  it('is Current with Ready=True', () => {
    expect(
      assessHealth(
        cr({ conditions: [cond('Ready', 'True', 'Ready', 'Certificate is up to date and has not expired')] }),
      ),
    ).toEqual({
      status: 'Current',
      message: 'Certificate apps/tls: Ready (Ready: Certificate is up to date and has not expired)',
    });
  });

  it('is InProgress with Ready=False or Unknown for a non-failure reason', () => {
    expect(
      assessHealth(
        cr({
          conditions: [cond('Ready', 'False', 'Issuing', 'Issuing certificate as Secret does not exist')],
        }),
      ),
    ).toEqual({
      status: 'InProgress',
      message: 'Certificate apps/tls: Ready is False (Issuing: Issuing certificate as Secret does not exist)',
    });
    expect(assessHealth(cr({ conditions: [cond('Ready', 'Unknown')] })).status).toBe('InProgress');
  });

  it('is Failed with Ready=False and a failure reason', () => {
    for (const reason of [
      'Failed',
      'InstallFailed',
      'ReconciliationFailed',
      'InvalidConfiguration',
      'Error',
      'Degraded',
    ]) {
      expect(assessHealth(cr({ conditions: [cond('Ready', 'False', reason, 'boom')] }))).toEqual({
        status: 'Failed',
        message: `Certificate apps/tls: not Ready (${reason}: boom)`,
      });
    }
  });

  it('falls back to Available when there is no Ready condition', () => {
    const avail = obj('example.com/v1', 'Gateway', { status: { conditions: [cond('Available', 'True')] } });
    expect(assessHealth(avail).status).toBe('Current');
    const down = obj('example.com/v1', 'Gateway', {
      status: { conditions: [cond('Available', 'False', 'Pending')] },
    });
    expect(assessHealth(down).status).toBe('InProgress');
  });

  it('waits for observedGeneration, at the top level and on the Ready condition', () => {
    expect(assessHealth(cr({ observedGeneration: 1, conditions: [cond('Ready', 'True')] }, 2))).toEqual({
      status: 'InProgress',
      message: 'Certificate apps/tls: waiting for the controller to observe generation 2 (at 1)',
    });
    const staleCondition = { conditions: [{ ...cond('Ready', 'True'), observedGeneration: 1 }] };
    expect(assessHealth(cr(staleCondition, 2))).toEqual({
      status: 'InProgress',
      message: 'Certificate apps/tls: Ready condition is from generation 1, not 2',
    });
    expect(assessHealth(cr({ observedGeneration: 2, conditions: [cond('Ready', 'True')] }, 2)).status).toBe(
      'Current',
    );
  });

  it('follows kstatus Stalled and Reconciling conditions', () => {
    const stalled = {
      conditions: [
        cond('Ready', 'False', 'Progressing'),
        cond('Stalled', 'True', 'InvalidSpec', 'bad field'),
      ],
    };
    expect(assessHealth(cr(stalled))).toEqual({
      status: 'Failed',
      message: 'Certificate apps/tls: stalled (InvalidSpec: bad field)',
    });
    const reconciling = {
      conditions: [cond('Ready', 'True'), cond('Reconciling', 'True', 'Progressing', 'applying')],
    };
    expect(assessHealth(cr(reconciling)).status).toBe('InProgress');
  });

  it('is Current with a status but no readiness signal, Failed on a Failed phase', () => {
    expect(assessHealth(cr({ observedGeneration: 1, replicas: 2 })).status).toBe('Current');
    expect(assessHealth(cr({ phase: 'Failed' }))).toEqual({
      status: 'Failed',
      message: 'Certificate apps/tls: phase is Failed',
    });
  });

  it('is Unknown when status is not an object', () => {
    expect(assessHealth(cr('garbage'))).toEqual({
      status: 'Unknown',
      message: 'Certificate apps/tls: status is not an object',
    });
  });
});

import { describe, expect, it } from 'vitest';
import { assessHealth } from '../../../src/health/index.ts';
import { cond, obj } from './fixtures.ts';

const template = {
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
};

function deployment(generation: number, replicas: number | undefined, status: unknown) {
  return obj('apps/v1', 'Deployment', {
    generation,
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: 'web' } },
      template,
    },
    status,
  });
}

describe('Deployment', () => {
  const complete = {
    observedGeneration: 2,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    conditions: [
      cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'),
      cond(
        'Progressing',
        'True',
        'NewReplicaSetAvailable',
        'ReplicaSet "web-5d9c7b" has successfully progressed.',
      ),
    ],
  };

  it('is Current when the rollout is observed, updated and available', () => {
    expect(assessHealth(deployment(2, 3, complete))).toEqual({
      status: 'Current',
      message: 'Deployment apps/web: 3 of 3 replicas available',
    });
  });

  it('waits for a freshly created Deployment without status', () => {
    expect(assessHealth(deployment(1, 3, undefined))).toEqual({
      status: 'InProgress',
      message: 'Deployment apps/web: waiting for the controller to observe the object',
    });
  });

  it('waits while the controller has not observed the new generation', () => {
    expect(assessHealth(deployment(3, 3, complete))).toEqual({
      status: 'InProgress',
      message: 'Deployment apps/web: waiting for the controller to observe generation 3 (at 2)',
    });
  });

  it('reports partial updates, old replicas and unavailable replicas in turn', () => {
    const rolling = { ...complete, replicas: 4, updatedReplicas: 1, availableReplicas: 3 };
    expect(assessHealth(deployment(2, 3, rolling)).message).toBe(
      'Deployment apps/web: 1 of 3 replicas updated',
    );
    const terminating = { ...complete, replicas: 4, updatedReplicas: 3, availableReplicas: 3 };
    expect(assessHealth(deployment(2, 3, terminating))).toEqual({
      status: 'InProgress',
      message: 'Deployment apps/web: 1 old replicas pending termination',
    });
    const unavailable = { ...complete, availableReplicas: 2, readyReplicas: 2 };
    expect(assessHealth(deployment(2, 3, unavailable))).toEqual({
      status: 'InProgress',
      message: 'Deployment apps/web: 2 of 3 updated replicas available',
    });
  });

  it('defaults spec.replicas to 1 and accepts scale to zero', () => {
    const one = { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    expect(assessHealth(deployment(1, undefined, one)).status).toBe('Current');
    expect(assessHealth(deployment(1, undefined, { observedGeneration: 1 })).message).toBe(
      'Deployment apps/web: 0 of 1 replicas updated',
    );
    expect(assessHealth(deployment(1, 0, { observedGeneration: 1 })).status).toBe('Current');
  });

  it('fails when the progress deadline is exceeded', () => {
    const stuck = {
      observedGeneration: 2,
      replicas: 4,
      updatedReplicas: 1,
      availableReplicas: 3,
      unavailableReplicas: 1,
      conditions: [
        cond('Available', 'True', 'MinimumReplicasAvailable'),
        cond(
          'Progressing',
          'False',
          'ProgressDeadlineExceeded',
          'ReplicaSet "web-7f8" has timed out progressing.',
        ),
      ],
    };
    expect(assessHealth(deployment(2, 3, stuck))).toEqual({
      status: 'Failed',
      message:
        'Deployment apps/web: rollout exceeded its progress deadline with 1 of 3 replicas updated, 3 available (ProgressDeadlineExceeded: ReplicaSet "web-7f8" has timed out progressing.)',
    });
  });

  it('uses the generic rule for a Deployment kind of another group', () => {
    const other = obj('example.com/v1', 'Deployment', { status: { conditions: [cond('Ready', 'True')] } });
    expect(assessHealth(other)).toEqual({ status: 'Current', message: 'Deployment apps/web: Ready' });
  });
});

describe('StatefulSet', () => {
  function sts(spec: Record<string, unknown>, status: Record<string, unknown>, generation = 1) {
    return obj('apps/v1', 'StatefulSet', {
      name: 'db',
      generation,
      spec: { replicas: 3, serviceName: 'db', selector: {}, template, ...spec },
      status: { observedGeneration: generation, ...status },
    });
  }
  const done = {
    replicas: 3,
    readyReplicas: 3,
    currentReplicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
    currentRevision: 'db-6c9f',
    updateRevision: 'db-6c9f',
    collisionCount: 0,
  };

  it('is Current when all replicas are ready at the update revision', () => {
    expect(assessHealth(sts({}, done))).toEqual({
      status: 'Current',
      message: 'StatefulSet apps/db: 3 of 3 replicas ready at revision db-6c9f',
    });
  });

  it('waits for ready replicas, then for the rollout to reach every pod', () => {
    expect(assessHealth(sts({}, { ...done, readyReplicas: 1 })).message).toBe(
      'StatefulSet apps/db: 1 of 3 replicas ready',
    );
    expect(assessHealth(sts({}, { ...done, availableReplicas: 2 })).message).toBe(
      'StatefulSet apps/db: 2 of 3 replicas available',
    );
    expect(assessHealth(sts({}, { ...done, updatedReplicas: 2, updateRevision: 'db-7a1b' }))).toEqual({
      status: 'InProgress',
      message: 'StatefulSet apps/db: 2 of 3 replicas updated',
    });
    // All updated but the controller has not yet promoted the revision.
    expect(assessHealth(sts({}, { ...done, updateRevision: 'db-7a1b' }))).toEqual({
      status: 'InProgress',
      message: 'StatefulSet apps/db: rolling out revision db-7a1b (current db-6c9f)',
    });
  });

  it('waits for the new generation to be observed', () => {
    const s = sts({}, done, 2);
    (s['status'] as Record<string, unknown>)['observedGeneration'] = 1;
    expect(assessHealth(s).status).toBe('InProgress');
  });

  it('treats a partitioned rollout as done once the partition is updated', () => {
    const partitioned = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
    const status = { ...done, updatedReplicas: 1, currentRevision: 'db-6c9f', updateRevision: 'db-7a1b' };
    expect(assessHealth(sts(partitioned, status))).toEqual({
      status: 'Current',
      message: 'StatefulSet apps/db: partitioned rollout done: 1 of 3 replicas updated',
    });
    expect(assessHealth(sts(partitioned, { ...status, updatedReplicas: 0 })).message).toBe(
      'StatefulSet apps/db: 0 of 1 partitioned replicas updated',
    );
  });

  it('does not wait for revisions under OnDelete', () => {
    const status = { ...done, updatedReplicas: 0, updateRevision: 'db-7a1b' };
    expect(assessHealth(sts({ updateStrategy: { type: 'OnDelete' } }, status)).status).toBe('Current');
  });
});

describe('DaemonSet', () => {
  function ds(status: Record<string, unknown> | undefined, strategy = 'RollingUpdate') {
    return obj('apps/v1', 'DaemonSet', {
      name: 'agent',
      namespace: 'kube-system',
      spec: { selector: {}, template, updateStrategy: { type: strategy } },
      status,
    });
  }
  const done = {
    observedGeneration: 1,
    currentNumberScheduled: 3,
    desiredNumberScheduled: 3,
    numberMisscheduled: 0,
    numberReady: 3,
    updatedNumberScheduled: 3,
    numberAvailable: 3,
  };

  it('is Current when every node runs an updated, available pod', () => {
    expect(assessHealth(ds(done))).toEqual({
      status: 'Current',
      message: 'DaemonSet kube-system/agent: 3 of 3 pods available',
    });
  });

  it('waits for scheduling, updates and availability', () => {
    expect(assessHealth(ds({ observedGeneration: 1 })).message).toBe(
      'DaemonSet kube-system/agent: waiting for pods to be scheduled',
    );
    expect(assessHealth(ds({ ...done, updatedNumberScheduled: 1 })).message).toBe(
      'DaemonSet kube-system/agent: 1 of 3 pods updated',
    );
    expect(assessHealth(ds({ ...done, numberAvailable: 2, numberUnavailable: 1 }))).toEqual({
      status: 'InProgress',
      message: 'DaemonSet kube-system/agent: 2 of 3 pods available',
    });
    expect(assessHealth(ds(undefined)).status).toBe('InProgress');
  });

  it('is Current with zero desired pods (no matching nodes)', () => {
    expect(
      assessHealth(ds({ observedGeneration: 1, desiredNumberScheduled: 0, numberAvailable: 0 })).status,
    ).toBe('Current');
  });

  it('does not wait for updates under OnDelete', () => {
    expect(assessHealth(ds({ ...done, updatedNumberScheduled: 0 }, 'OnDelete')).status).toBe('Current');
  });
});

describe('ReplicaSet', () => {
  function rs(status: Record<string, unknown>, replicas = 2) {
    return obj('apps/v1', 'ReplicaSet', {
      name: 'web-5d9c7b',
      spec: { replicas, selector: {}, template },
      status,
    });
  }

  it('is Current when all replicas are ready and available', () => {
    expect(
      assessHealth(
        rs({
          observedGeneration: 1,
          replicas: 2,
          fullyLabeledReplicas: 2,
          readyReplicas: 2,
          availableReplicas: 2,
        }),
      ),
    ).toEqual({
      status: 'Current',
      message: 'ReplicaSet apps/web-5d9c7b: 2 of 2 replicas available',
    });
  });

  it('waits for ready and available replicas, mentioning a replica failure without failing', () => {
    expect(
      assessHealth(rs({ observedGeneration: 1, replicas: 2, readyReplicas: 1, availableReplicas: 1 }))
        .message,
    ).toBe('ReplicaSet apps/web-5d9c7b: 1 of 2 replicas ready');
    expect(
      assessHealth(rs({ observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 1 }))
        .message,
    ).toBe('ReplicaSet apps/web-5d9c7b: 1 of 2 replicas available');
    const quota = rs({
      observedGeneration: 1,
      replicas: 0,
      conditions: [
        cond(
          'ReplicaFailure',
          'True',
          'FailedCreate',
          'pods "web-5d9c7b-x" is forbidden: exceeded quota: pods',
        ),
      ],
    });
    expect(assessHealth(quota)).toEqual({
      status: 'InProgress',
      message:
        'ReplicaSet apps/web-5d9c7b: 0 of 2 replicas ready; replica failure (FailedCreate: pods "web-5d9c7b-x" is forbidden: exceeded quota: pods)',
    });
  });
});

import { describe, expect, it } from 'vitest';
import { ConvergeError, refOf, type KubeObject } from '../../../src/api/index.ts';
import { hookRecordFor, stallsRevision, waitingMessage } from '../../../src/controller/sync.ts';
import { ApiError } from '../../../src/kube/index.ts';

const cm = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps' },
});

describe('reconcile glue for hooks and waves', () => {
  it('keeps the hook record only for the same revision', () => {
    const status = { hooks: { revision: 'r1', completed: ['pre:Job/apps/migrate'] } };
    expect(hookRecordFor(status, 'r1')).toEqual({ revision: 'r1', completed: ['pre:Job/apps/migrate'] });
    expect(hookRecordFor(status, 'r2')).toEqual({ revision: 'r2', completed: [] });
    expect(hookRecordFor(undefined, 'r1')).toEqual({ revision: 'r1', completed: [] });
  });

  it('stalls on failures the same commit always hits, not on ones a retry can fix', () => {
    const invalid = new ApiError(
      422,
      'Invalid',
      'Service "s" is invalid: spec.ports[0].port: Invalid value: 99999',
    );
    const immutable = new ApiError(422, 'Invalid', 'Job "j" is invalid: spec.template: field is immutable');
    const wrapped = (cause: unknown) =>
      new ConvergeError('ApplyFailed', 'x', { cause: new ConvergeError('ApplyFailed', 'y', { cause }) });
    expect(stallsRevision('RenderFailed', new ConvergeError('RenderFailed', 'bad YAML'))).toBe(true);
    expect(stallsRevision('HookFailed', new ConvergeError('HookFailed', 'Job failed'))).toBe(true);
    // A hook that could not even be created because the API server was unavailable is retried.
    expect(
      stallsRevision(
        'HookFailed',
        new ConvergeError('HookFailed', 'x', { cause: new ApiError(503, 'ServiceUnavailable', 'etcd') }),
      ),
    ).toBe(false);
    expect(stallsRevision('ApplyFailed', wrapped(invalid))).toBe(true);
    expect(stallsRevision('ApplyFailed', wrapped(immutable))).toBe(false);
    expect(stallsRevision('ApplyFailed', wrapped(new ApiError(500, 'InternalError', 'etcd')))).toBe(false);
    expect(
      stallsRevision(
        'ApplyFailed',
        new ConvergeError('ApplyFailed', 'no kind Widget: is its CRD installed?'),
      ),
    ).toBe(false);
    expect(stallsRevision('HealthCheckFailed', new ConvergeError('HealthCheckFailed', 'timed out'))).toBe(
      false,
    );
  });

  it('counts only the objects still unhealthy while waiting', () => {
    const pending = ['a', 'b', 'c', 'd'].map((n) => ({
      ref: refOf(cm(n)),
      status: 'InProgress' as const,
      message: `ConfigMap apps/${n}: not ready`,
    }));
    expect(waitingMessage(pending.slice(0, 1), 5)).toBe(
      'Waiting for 1 of 5 object(s) to become healthy: ConfigMap apps/a: not ready',
    );
    expect(waitingMessage(pending, 9)).toBe(
      'Waiting for 4 of 9 object(s) to become healthy: ConfigMap apps/a: not ready; ConfigMap apps/b: not ready; ConfigMap apps/c: not ready; … and 1 more',
    );
  });
});

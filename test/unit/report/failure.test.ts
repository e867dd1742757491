// How a failed reconcile maps to a reason, Stalled and Converged, including which step timed out.
import { describe, expect, it } from 'vitest';
import { ConvergeError, DeadlineExceeded } from '../../../src/api/index.ts';
import { classifyFailure } from '../../../src/report/index.ts';

describe('classifyFailure', () => {
  it('keeps the reason a stage gave its error', () => {
    const f = classifyFailure(new ConvergeError('AuthenticationFailed', 'bad password'), 'fetch');
    expect(f).toEqual({
      reason: 'AuthenticationFailed',
      message: 'bad password',
      stalled: true,
      converged: 'keep',
    });
  });

  it.each([
    ['fetch', 'FetchFailed', 'keep'],
    ['render', 'RenderFailed', 'false'],
    ['apply', 'ApplyFailed', 'false'],
    ['prune', 'PruneFailed', 'false'],
    ['wait', 'HealthCheckFailed', 'false'],
  ] as const)('gives a plain error during %s the reason %s', (step, reason, converged) => {
    const f = classifyFailure(new Error('boom'), step);
    expect(f.reason).toBe(reason);
    expect(f.message).toBe('boom');
    expect(f.stalled).toBe(false);
    expect(f.converged).toBe(converged);
  });

  it('names the step that ran out of spec.timeout', () => {
    const deadline = new DeadlineExceeded('30s');
    expect(classifyFailure(deadline, 'fetch', deadline)).toMatchObject({
      reason: 'FetchFailed',
      message: 'git fetch timed out after 30s (spec.timeout)',
      converged: 'keep',
    });
    expect(classifyFailure(new Error('aborted'), 'render', deadline)).toMatchObject({
      reason: 'RenderFailed',
      message: 'rendering manifests timed out after 30s (spec.timeout)',
    });
    expect(classifyFailure(deadline, 'apply', deadline).reason).toBe('ApplyFailed');
  });

  it('keeps the health wait message that names the unhealthy objects', () => {
    const err = new ConvergeError('HealthCheckFailed', 'Deployment/apps/web: 0/2 replicas available');
    const f = classifyFailure(err, 'wait', new DeadlineExceeded('1m'));
    expect(f).toMatchObject({
      reason: 'HealthCheckFailed',
      message: 'Deployment/apps/web: 0/2 replicas available',
    });
  });

  it('only calls a timed-out reconcile a health failure when it was waiting for health', () => {
    const deadline = new DeadlineExceeded('2m');
    expect(classifyFailure(deadline, 'fetch', deadline).reason).not.toBe('HealthCheckFailed');
    expect(classifyFailure(deadline, 'wait', deadline).reason).toBe('HealthCheckFailed');
  });
});

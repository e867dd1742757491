import { describe, expect, it } from 'vitest';
import { assessHealth } from '../../../src/health/index.ts';
import { cond, obj } from './fixtures.ts';

function job(status: unknown, spec: Record<string, unknown> = {}) {
  return obj('batch/v1', 'Job', {
    name: 'migrate',
    spec: { backoffLimit: 1, completions: 1, parallelism: 1, template: {}, ...spec },
    status,
  });
}

describe('Job', () => {
  it('is Current once Complete', () => {
    const status = {
      startTime: '2025-01-01T00:00:00Z',
      completionTime: '2025-01-01T00:00:30Z',
      succeeded: 1,
      ready: 0,
      terminating: 0,
      uncountedTerminatedPods: {},
      conditions: [
        cond('SuccessCriteriaMet', 'True', 'CompletionsReached'),
        cond('Complete', 'True', 'CompletionsReached'),
      ],
    };
    expect(assessHealth(job(status))).toEqual({
      status: 'Current',
      message: 'Job apps/migrate: job completed',
    });
  });

  it('fails on the Failed condition with its reason', () => {
    const status = {
      startTime: '2025-01-01T00:00:00Z',
      failed: 2,
      conditions: [
        cond('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
        cond('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
      ],
    };
    expect(assessHealth(job(status))).toEqual({
      status: 'Failed',
      message:
        'Job apps/migrate: job failed (BackoffLimitExceeded: Job has reached the specified backoff limit)',
    });
  });

  it('fails fast on FailureTarget, before the pods are gone and Failed is set', () => {
    const status = {
      startTime: '2025-01-01T00:00:00Z',
      failed: 2,
      terminating: 1,
      conditions: [cond('FailureTarget', 'True', 'DeadlineExceeded')],
    };
    expect(assessHealth(job(status)).status).toBe('Failed');
  });

  it('is InProgress while not started, running or suspended', () => {
    expect(assessHealth(job(undefined))).toEqual({
      status: 'InProgress',
      message: 'Job apps/migrate: job not started',
    });
    expect(assessHealth(job({ startTime: '2025-01-01T00:00:00Z', active: 1, ready: 0 }))).toEqual({
      status: 'InProgress',
      message: 'Job apps/migrate: job running: 1 active, 0 succeeded, 0 failed',
    });
    expect(
      assessHealth(job({ conditions: [cond('Suspended', 'True', 'JobSuspended')] }, { suspend: true }))
        .message,
    ).toBe('Job apps/migrate: job is suspended');
  });

  it('does not treat a False Failed condition as failure', () => {
    const status = { startTime: '2025-01-01T00:00:00Z', active: 1, conditions: [cond('Failed', 'False')] };
    expect(assessHealth(job(status)).status).toBe('InProgress');
  });
});

import { describe, expect, it } from 'vitest';
import type { GitSourceStatus } from '../../../src/api/index.ts';
import { appliedStatus, failedStatus, findCondition, progressingStatus } from '../../../src/report/index.ts';

const A = `main@sha1:${'a'.repeat(40)}`;
const B = `main@sha1:${'b'.repeat(40)}`;
const ctx = (old: GitSourceStatus | undefined, now = 't', extra = {}) => ({
  old,
  generation: 1,
  now,
  ...extra,
});
const summary = { objects: 1, created: 1, configured: 0, unchanged: 0, pruned: 0, drifted: 0 };

describe('status across a failure and its retries', () => {
  it('keeps Ready=False with the failure while a retry runs; Reconciling says it is a retry', () => {
    const failed = failedStatus(ctx(undefined), {
      reason: 'HealthCheckFailed',
      message: 'Deployment apps/api: 1 of 3 updated replicas available',
      stalled: false,
      revision: A,
    });
    const retry = progressingStatus(ctx(failed), { revision: A, step: 'Applying 1 to configure' });
    expect(findCondition(retry.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'HealthCheckFailed',
      message: 'Deployment apps/api: 1 of 3 updated replicas available',
    });
    expect(findCondition(retry.conditions, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'ProgressingWithRetry',
      message: 'Applying 1 to configure (retrying after HealthCheckFailed)',
    });
    const ok = appliedStatus(ctx(retry), { revision: A, summary, changes: [], inventory: [], durationMs: 1 });
    expect(findCondition(ok.conditions, 'Ready')).toMatchObject({ status: 'True' });
    expect(findCondition(ok.conditions, 'Reconciling')).toBeUndefined();
    // Without an earlier failure, a pass in progress is Ready=Unknown as before.
    const fresh = progressingStatus(ctx(ok), { revision: B, step: 'Applying' });
    expect(findCondition(fresh.conditions, 'Ready')).toMatchObject({
      status: 'Unknown',
      reason: 'Progressing',
    });
  });

  it('sets Stalled for a failure only a new commit can fix, and a new commit clears it', () => {
    const stalled = failedStatus(ctx(undefined), {
      reason: 'RenderFailed',
      message: 'no manifests at "app"',
      stalled: true,
      revision: A,
    });
    expect(findCondition(stalled.conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'RenderFailed',
    });
    const next = progressingStatus(ctx(stalled), { revision: B, step: 'Applying' });
    expect(findCondition(next.conditions, 'Stalled')).toBeUndefined();
  });

  it('records the hooks that ran, and keeps the record through later writes', () => {
    const hooks = { revision: A, completed: ['pre:Job/apps/migrate'] };
    const running = progressingStatus(ctx(undefined, 't', { hooks }), { revision: A, step: 'Running hooks' });
    expect(running.hooks).toEqual(hooks);
    const ok = appliedStatus(ctx(running), {
      revision: A,
      summary,
      changes: [],
      inventory: [],
      durationMs: 1,
    });
    expect(ok.hooks).toEqual(hooks);
  });
});

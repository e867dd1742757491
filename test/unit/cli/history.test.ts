// Pure CLI decisions: which revision rollback pins, and when reconcile --wait is done.
import { describe, expect, it } from 'vitest';
import { rollbackTarget } from '../../../src/cli/history.ts';
import { reconcileOutcome } from '../../../src/cli/commands/reconcile.ts';
import type { ListedGitSource } from '../../../src/cli/context.ts';

const sha = (c: string) => c.repeat(40);
const entry = (c: string, result = 'Succeeded') => ({
  revision: `main@sha1:${sha(c)}`,
  appliedAt: '2026-11-26T10:00:00Z',
  duration: '1s',
  result,
});

describe('rollbackTarget', () => {
  it('defaults to the newest applied revision with another commit than the applied one', () => {
    const status = {
      lastAppliedRevision: `main@sha1:${sha('c')}`,
      history: [entry('d', 'RenderFailed'), entry('c'), entry('c', 'Drifted'), entry('b'), entry('a')],
    };
    const t = rollbackTarget(status);
    expect(t).toMatchObject({ ok: true, commit: sha('b') });
  });
  it('skips failed revisions and accepts Drifted ones (they were applied)', () => {
    const status = {
      lastAppliedRevision: `main@sha1:${sha('c')}`,
      history: [entry('c'), entry('b', 'ApplyFailed'), entry('a', 'Drifted')],
    };
    expect(rollbackTarget(status)).toMatchObject({ ok: true, commit: sha('a') });
  });
  it('refuses clearly when there is no earlier applied revision', () => {
    const t = rollbackTarget({
      lastAppliedRevision: `main@sha1:${sha('c')}`,
      history: [entry('c'), entry('b', 'RenderFailed')],
    });
    expect(t).toEqual({ ok: false, error: expect.stringMatching(/no earlier applied revision.*cccccc/) });
    expect(rollbackTarget(undefined)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/history: empty/),
    });
  });
  it('--to takes a full revision or a SHA prefix of an applied entry, and nothing else', () => {
    const status = {
      lastAppliedRevision: `main@sha1:${sha('c')}`,
      history: [entry('c'), entry('b'), entry('a', 'ApplyFailed')],
    };
    expect(rollbackTarget(status, 'bbbbbbb')).toMatchObject({ ok: true, commit: sha('b') });
    expect(rollbackTarget(status, `main@sha1:${sha('b')}`)).toMatchObject({ ok: true, commit: sha('b') });
    expect(rollbackTarget(status, 'aaaaaaa')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not an applied revision/),
    });
    expect(rollbackTarget(status, 'main')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/at least 7 hex/),
    });
  });
});

describe('reconcileOutcome', () => {
  const gs = (status: ListedGitSource['status']): ListedGitSource =>
    ({ metadata: { name: 'web', namespace: 'apps', uid: 'u' }, spec: {}, status }) as ListedGitSource;
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status: status as 'True',
    reason,
    message,
    lastTransitionTime: 't',
  });
  it('waits until the request is handled, showing the Reconciling step', () => {
    const stale = gs({
      lastHandledReconcileAt: 'old',
      conditions: [cond('Ready', 'True', 'Succeeded', 'ok')],
    });
    expect(reconcileOutcome(stale, 'new')).toEqual({
      done: false,
      step: 'waiting for the operator to pick up the request',
    });
    const working = gs({
      lastHandledReconcileAt: 'new',
      conditions: [
        cond('Ready', 'Unknown', 'Progressing', 'x'),
        cond('Reconciling', 'True', 'Progressing', 'Applying 1 to create'),
      ],
    });
    expect(reconcileOutcome(working, 'new')).toEqual({ done: false, step: 'Applying 1 to create' });
    // A retry after a failure: Ready keeps the failure until the pass ends.
    const retrying = gs({
      lastHandledReconcileAt: 'new',
      conditions: [
        cond('Ready', 'False', 'RenderFailed', 'a.yaml: bad'),
        cond(
          'Reconciling',
          'True',
          'ProgressingWithRetry',
          'Applying 1 to configure (retrying after RenderFailed)',
        ),
      ],
    });
    expect(reconcileOutcome(retrying, 'new')).toEqual({
      done: false,
      step: 'Applying 1 to configure (retrying after RenderFailed)',
    });
  });
  it('is done and ok on Ready=True, done and failed with reason and message on Ready=False', () => {
    const ok = gs({
      lastHandledReconcileAt: 'new',
      lastAppliedRevision: `main@sha1:${sha('a')}`,
      conditions: [cond('Ready', 'True', 'Succeeded', 'Applied revision main@sha1:aaaaaaa')],
    });
    expect(reconcileOutcome(ok, 'new')).toMatchObject({
      done: true,
      ok: true,
      line: expect.stringMatching(/^✔ apps\/web is Ready at main@sha1:aaaaaaa/),
    });
    const failed = gs({
      lastHandledReconcileAt: 'new',
      conditions: [cond('Ready', 'False', 'RenderFailed', 'a.yaml: bad')],
    });
    expect(reconcileOutcome(failed, 'new')).toEqual({
      done: true,
      ok: false,
      line: '✗ apps/web failed: RenderFailed: a.yaml: bad',
    });
  });
});

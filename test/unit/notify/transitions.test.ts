// From status changes (built by the real report stage) to notifications: one per transition.
import { describe, expect, it } from 'vitest';
import { notificationsFor } from '../../../src/notify/index.ts';
import { gitSource, rev, type Step } from './history.ts';

const TIME = '2026-11-26T20:00:00.000Z';
const of = (s: Step, wasFailing = false) =>
  notificationsFor({ ...s, wasFailing, time: TIME }).map((n) => ({
    event: n.event,
    reason: n.reason,
    revision: n.revision,
    commit: n.commit,
  }));

describe('notificationsFor', () => {
  it('a new revision: Changed and Diverged, then Converged at it', () => {
    const gs = gitSource();
    expect(of(gs.step.progressing(rev('a')))).toEqual([
      { event: 'Changed', reason: 'NewRevision', revision: rev('a'), commit: 'a'.repeat(40) },
      { event: 'Diverged', reason: 'Pending', revision: rev('a'), commit: 'a'.repeat(40) },
    ]);
    expect(of(gs.step.applied(rev('a')))).toEqual([
      { event: 'Converged', reason: 'Succeeded', revision: rev('a'), commit: 'a'.repeat(40) },
    ]);
    // The same status again (a resync) is no transition.
    expect(of(gs.step.applied(rev('a')))).toEqual([]);
  });

  it('a broken revision fails on its commit; the fix recovers', () => {
    const gs = gitSource();
    gs.step.progressing(rev('a'));
    gs.step.applied(rev('a'));
    const failed = of(gs.step.failed(rev('b')));
    expect(failed).toEqual([
      { event: 'Changed', reason: 'NewRevision', revision: rev('b'), commit: 'b'.repeat(40) },
      { event: 'Failed', reason: 'RenderFailed', revision: rev('b'), commit: 'b'.repeat(40) },
    ]);
    // A retry failing the same way is no new transition.
    expect(of(gs.step.failed(rev('b')))).toEqual([]);
    // The fix is a new revision while Changed is still True: it gets its own Changed (pending).
    expect(of(gs.step.progressing(rev('c')))).toEqual([
      { event: 'Changed', reason: 'NewRevision', revision: rev('c'), commit: 'c'.repeat(40) },
      { event: 'Diverged', reason: 'Pending', revision: rev('c'), commit: 'c'.repeat(40) },
    ]);
    const fixed = of(gs.step.applied(rev('c')), true);
    expect(fixed.map((n) => n.event)).toEqual(['Converged', 'Recovered']);
  });

  it('a fetch failure leaves the applied commit alone (no commit to mark failed)', () => {
    const gs = gitSource();
    gs.step.progressing(rev('a'));
    gs.step.applied(rev('a'));
    const failed = of(gs.step.failed(undefined, 'FetchFailed', 'connection refused'));
    expect(failed).toEqual([
      { event: 'Failed', reason: 'FetchFailed', revision: rev('a'), commit: undefined },
    ]);
  });

  it('drift corrected is told with what was corrected', () => {
    const gs = gitSource();
    gs.step.progressing(rev('a'));
    gs.step.applied(rev('a'));
    const s = gs.step.driftCorrected(rev('a'));
    const [n] = notificationsFor({ ...s, wasFailing: false, time: TIME });
    expect(n).toMatchObject({ event: 'DriftCorrected', message: 'Corrected ConfigMap/apps/cfg' });
    expect(n!.changes[0]).toContain('drift corrected');
  });
});

describe('a chart source', () => {
  it('names chart@version in the message, and has no commit (no commit status)', async () => {
    const { shortRevision } = await import('../../../src/notify/providers/common.ts');
    const revision = `ingress-nginx@4.11.3@sha256:${'d'.repeat(64)}`;
    expect(shortRevision(revision)).toBe('ingress-nginx@4.11.3@sha256:ddddddd');
    const { commitOf } = await import('../../../src/notify/transitions.ts');
    expect(commitOf(revision)).toBeUndefined();
    expect(commitOf(`${revision}+main@sha1:${'e'.repeat(40)}`)).toBe('e'.repeat(40));
  });
});

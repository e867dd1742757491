// The pure report stage: conditions flip their time only on a status change, events only on transitions.
import { describe, expect, it } from 'vitest';
import {
  appliedStatus,
  failedStatus,
  mergeConditions,
  progressingStatus,
  revisionChangeMessage,
  sameStatus,
  suspendedStatus,
  transitionEvents,
} from '../../../src/report/index.ts';

const A = `main@sha1:${'a'.repeat(40)}`;
const B = `main@sha1:${'b'.repeat(40)}`;
const summary = { objects: 1, created: 1, configured: 0, unchanged: 0, pruned: 0, drifted: 0 };

describe('mergeConditions', () => {
  it('keeps lastTransitionTime while the status stays, moves it on a flip, and orders Ready first', () => {
    const first = mergeConditions(
      undefined,
      [{ type: 'Converged', status: 'True', reason: 'Succeeded', message: 'm' }],
      [],
      1,
      't1',
    );
    const same = mergeConditions(
      first,
      [{ type: 'Converged', status: 'True', reason: 'Succeeded', message: 'other' }],
      [],
      2,
      't2',
    );
    expect(same[0]).toMatchObject({ lastTransitionTime: 't1', message: 'other', observedGeneration: 2 });
    const flipped = mergeConditions(
      same,
      [
        { type: 'Converged', status: 'False', reason: 'ApplyFailed', message: 'x' },
        { type: 'Ready', status: 'False', reason: 'ApplyFailed', message: 'x' },
      ],
      [],
      2,
      't3',
    );
    expect(flipped.map((c) => [c.type, c.lastTransitionTime])).toEqual([
      ['Ready', 't3'],
      ['Converged', 't3'],
    ]);
    expect(mergeConditions(flipped, [], ['Converged'], 2, 't4').map((c) => c.type)).toEqual(['Ready']);
  });
});

describe('every condition is written for the generation reconciled', () => {
  const invalid = failedStatus(
    { old: undefined, generation: 1, now: 't1' },
    { reason: 'InvalidSpec', message: 'spec.url: unsupported scheme "ftp"', stalled: true },
  );

  it('restamps the conditions a pass keeps as they were', () => {
    const kept = mergeConditions(
      [
        {
          type: 'Changed',
          status: 'False',
          reason: 'UpToDate',
          message: 'm',
          lastTransitionTime: 't0',
          observedGeneration: 1,
        },
      ],
      [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' }],
      [],
      3,
      't1',
    );
    expect(kept.map((c) => [c.type, c.observedGeneration, c.lastTransitionTime])).toEqual([
      ['Ready', 3, 't1'],
      ['Changed', 3, 't0'],
    ]);
  });

  it('after a fixed spec.url, a failure that keeps Converged does not keep the old InvalidSpec', () => {
    const fetchFailed = failedStatus(
      { old: invalid, generation: 2, now: 't2' },
      { reason: 'FetchFailed', message: 'repository not found', stalled: false, converged: 'keep' },
    );
    expect(fetchFailed.conditions!.map((c) => [c.type, c.reason, c.observedGeneration])).toEqual([
      ['Ready', 'FetchFailed', 2],
      ['Converged', 'FetchFailed', 2],
    ]);
    // At the same generation, keep means keep: the failure before it still stands.
    const again = failedStatus(
      { old: fetchFailed, generation: 2, now: 't3' },
      {
        reason: 'DependencyNotReady',
        message: 'dependency x is not ready',
        stalled: false,
        converged: 'keep',
      },
    );
    expect(again.conditions!.find((c) => c.type === 'Converged')).toMatchObject({ reason: 'FetchFailed' });
  });

  it('a Converged=True is kept across a spec change, at the new generation', () => {
    const ok = appliedStatus(
      { old: undefined, generation: 1, now: 't1' },
      { revision: A, summary, changes: [], inventory: [], durationMs: 1 },
    );
    const failed = failedStatus(
      { old: ok, generation: 2, now: 't2' },
      { reason: 'FetchFailed', message: 'timeout', stalled: false, converged: 'keep' },
    );
    expect(failed.conditions!.find((c) => c.type === 'Converged')).toMatchObject({
      status: 'True',
      reason: 'Succeeded',
      observedGeneration: 2,
      lastTransitionTime: 't1',
    });
    expect(failed.conditions!.every((c) => c.observedGeneration === 2)).toBe(true);
  });

  it('suspending after an invalid spec does not keep the InvalidSpec either', () => {
    const suspended = suspendedStatus({ old: invalid, generation: 2, now: 't2' });
    expect(suspended.conditions!.map((c) => [c.type, c.reason, c.observedGeneration])).toEqual([
      ['Ready', 'Suspended', 2],
      ['Converged', 'Suspended', 2],
    ]);
  });
});

describe('status and events of a reconcile', () => {
  it('goes Changed → Diverged → Converged with one event each, and none when nothing changes', () => {
    const ctx = (old: Parameters<typeof appliedStatus>[0]['old'], now: string) => ({
      old,
      generation: 1,
      now,
    });
    const progressing = progressingStatus(ctx(undefined, 't1'), {
      revision: A,
      step: 'Applying',
      diverged: { reason: 'Pending', message: '1 to create' },
    });
    expect(transitionEvents(undefined, progressing.conditions!).map((e) => e.reason)).toEqual([
      'Changed',
      'Diverged',
    ]);
    expect(progressing).toMatchObject({ revision: A, lastAttemptedRevision: A });
    const applied = appliedStatus(ctx(progressing, 't2'), {
      revision: A,
      summary,
      changes: ['ConfigMap/ns/a created'],
      inventory: [],
      durationMs: 120,
    });
    expect(transitionEvents(progressing.conditions, applied.conditions!).map((e) => e.reason)).toEqual([
      'Converged',
    ]);
    expect(applied.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Ready=True',
      'Changed=False',
      'Diverged=False',
      'Converged=True',
    ]);
    expect(applied.lastAppliedRevision).toBe(A);
    expect(applied.history).toHaveLength(1);
    // The same facts again: same status, no events, history not grown.
    const again = appliedStatus(ctx(applied, 't3'), {
      revision: A,
      summary,
      changes: ['ConfigMap/ns/a created'],
      inventory: [],
      durationMs: 90,
    });
    expect(transitionEvents(applied.conditions, again.conditions!)).toEqual([]);
    expect(again.history).toHaveLength(1);
  });

  it('a failure keeps the last applied revision and emits ReconcileFailed once per distinct failure', () => {
    const ok = appliedStatus(
      { old: undefined, generation: 1, now: 't1' },
      { revision: A, summary, changes: [], inventory: [], durationMs: 1 },
    );
    const failed = failedStatus(
      { old: ok, generation: 1, now: 't2' },
      { reason: 'RenderFailed', message: 'a.yaml: bad', stalled: false, revision: B },
    );
    expect(failed.lastAppliedRevision).toBe(A);
    expect(failed.revision).toBe(B);
    expect(failed.conditions!.find((c) => c.type === 'Changed')).toMatchObject({
      status: 'True',
      message: revisionChangeMessage(A, B),
    });
    expect(transitionEvents(ok.conditions, failed.conditions!).map((e) => e.reason)).toEqual([
      'Changed',
      'ReconcileFailed',
    ]);
    const retried = failedStatus(
      { old: failed, generation: 1, now: 't3' },
      { reason: 'RenderFailed', message: 'a.yaml: bad', stalled: false, revision: B },
    );
    expect(transitionEvents(failed.conditions, retried.conditions!)).toEqual([]);
    expect(sameStatus(failed, retried)).toBe(true);
  });

  it('names the revisions as the design shows them', () => {
    expect(revisionChangeMessage(A, B)).toBe('main@sha1:aaaaaaa → bbbbbbb');
    expect(revisionChangeMessage(undefined, B)).toBe('<none> → main@sha1:bbbbbbb');
  });
});

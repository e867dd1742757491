// Which pass a reconcile runs, the timing a spec implies, and the deadline each step gets.
import { describe, expect, it } from 'vitest';
import {
  Deadline,
  choosePass,
  isForced,
  jitter,
  afterRun,
  timingOf,
  type PassFacts,
} from '../../../src/controller/decide.ts';
import { parseSpec, type GitSourceSpec } from '../../../src/api/index.ts';

const applied: PassFacts = {
  appliedCommit: 'abc',
  appliedGeneration: 2,
  hasDesired: true,
  driftedCount: 0,
  driftWatched: true,
  resolved: { commit: 'abc', revision: 'main@sha1:abc' },
  generation: 2,
  lastAppliedRevision: 'main@sha1:abc',
  forced: false,
};

function spec(extra: Record<string, unknown> = {}): GitSourceSpec {
  const parsed = parseSpec({ url: 'https://git.example.com/a.git', ...extra });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.spec;
}

describe('choosePass', () => {
  it('is a no-op when the commit, generation and status all match and nothing drifted', () => {
    expect(choosePass(applied)).toBe('noop');
  });

  it('re-plans only drifted objects when the revision is applied', () => {
    expect(choosePass({ ...applied, driftedCount: 2 })).toBe('drift');
  });

  it('re-plans every object each interval when some applied kind cannot be watched', () => {
    expect(choosePass({ ...applied, driftWatched: false })).toBe('resync');
    expect(choosePass({ ...applied, driftWatched: false, driftedCount: 1 })).toBe('drift');
  });

  it('runs a full pass when drift is seen but this process has no desired set to compare with', () => {
    expect(choosePass({ ...applied, driftedCount: 1, hasDesired: false })).toBe('full');
  });

  it.each<[string, Partial<PassFacts>]>([
    ['after a restart (nothing applied by this process)', { appliedCommit: undefined }],
    ['before the first resolve', { resolved: undefined }],
    ['on a new commit', { resolved: { commit: 'def', revision: 'main@sha1:def' } }],
    ['on a new generation', { generation: 3 }],
    ['when status lost the applied revision', { lastAppliedRevision: undefined }],
    ['on a requested-at annotation', { forced: true }],
    ['while status is not Ready (a fetch failure at the applied commit)', { notReady: true }],
  ])('runs a full pass %s', (_name, change) => {
    expect(choosePass({ ...applied, ...change })).toBe('full');
  });

  it('treats requested-at as handled once status echoes it', () => {
    expect(isForced('t1', 't1')).toBe(false);
    expect(isForced('t2', 't1')).toBe(true);
    expect(isForced(undefined, 't1')).toBe(false);
  });
});

describe('timingOf', () => {
  it('uses the defaults', () => {
    expect(timingOf(spec())).toEqual({
      intervalMs: 60_000,
      retryMs: 15_000,
      timeoutMs: 120_000,
      timeout: '2m',
    });
  });

  it('caps the retry at the interval', () => {
    expect(timingOf(spec({ interval: '10s', retryInterval: '1m' })).retryMs).toBe(10_000);
  });

  it('never retries faster than once a second', () => {
    expect(timingOf(spec({ interval: '10s', retryInterval: '1ms' })).retryMs).toBe(1_000);
  });
});

describe('Deadline', () => {
  it('gives each step the time left, not the whole timeout', () => {
    let t = 1000;
    const d = new Deadline(5000, () => t);
    expect(d.remaining()).toBe(5000);
    t += 3200;
    expect(d.remaining()).toBe(1800);
    t += 10_000;
    expect(d.remaining()).toBe(1);
  });
});

describe('jitter', () => {
  it('stays within ±10%', () => {
    expect(jitter(1000, () => 0)).toBe(900);
    expect(jitter(1000, () => 0.5)).toBe(1000);
    expect(jitter(1000, () => 1)).toBe(1100);
  });
});

describe('afterRun', () => {
  const gs = (version: string, annotation: string, status: string, finalizers: string[] = []) => ({
    metadata: {
      resourceVersion: version,
      annotations: { 'gitops.converge.dev/requested-at': annotation },
      finalizers,
    },
    status: { message: status },
  });
  // The run began at version 10 with annotation "a"; it wrote 11 (mid-pass) and 12 (done).
  const run = gs('12', 'a', 'done', ['gitops.converge.dev/finalizer']);
  const own = new Set(['11', '12']);

  it('keeps the run copy when the watch brought nothing since the run began', () => {
    expect(afterRun({ cached: gs('10', 'a', 'before'), run, seenVersion: '10', ownVersions: own })).toBe(run);
  });

  it("puts the run's last status on our own mid-pass write, keeping what others changed before it", () => {
    // Someone annotated (version 10.5, before our write 11): the watch's object for 11 has it.
    const next = afterRun({ cached: gs('11', 'b', 'applying'), run, seenVersion: '10', ownVersions: own });
    expect(next).toEqual(gs('12', 'b', 'done', ['gitops.converge.dev/finalizer']));
  });

  it('keeps what someone else wrote meanwhile', () => {
    const theirs = gs('13', 'c', 'done');
    expect(afterRun({ cached: theirs, run, seenVersion: '10', ownVersions: own })).toBe(theirs);
  });
});

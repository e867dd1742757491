// Which notifications a GitSource status change means: the same transitions that emit Events, plus Recovered.
import type { GitSource, GitSourceStatus } from '../api/index.ts';
import { findCondition, type EventSpec } from '../report/index.ts';
import type { Notification } from './types.ts';

const COMMIT = /sha1:([0-9a-f]{40})/;

export function commitOf(revision: string | undefined): string | undefined {
  return revision ? COMMIT.exec(revision)?.[1] : undefined;
}

/** Ready reasons that are not failures (a source waiting or paused is not failing). */
const NOT_FAILING = new Set(['Progressing', 'Suspended', 'DependencyNotReady']);

/** True when `status` says the GitSource is failing: Ready=False for a reason that is an error. */
export function isFailing(status: GitSourceStatus | undefined): boolean {
  const ready = findCondition(status?.conditions, 'Ready');
  return ready?.status === 'False' && !NOT_FAILING.has(ready.reason);
}

export interface TransitionInput {
  gs: Pick<GitSource, 'metadata' | 'spec'>;
  before: GitSourceStatus | undefined;
  after: GitSourceStatus;
  /** The Events the status writer emitted for this change (report/transitionEvents). */
  events: readonly EventSpec[];
  /** Whether the source failed since it was last Ready (the dispatcher remembers it across passes). */
  wasFailing: boolean;
  time: string;
}

/** Notifications for one status change, in the order they happened. */
export function notificationsFor(t: TransitionInput): Notification[] {
  const { after } = t;
  // A chart-only source has no Git URL: its repository stands in (no commit, so no commit status).
  const url = t.gs.spec.url ?? t.gs.spec.chart?.repository ?? '';
  const source = { namespace: t.gs.metadata.namespace, name: t.gs.metadata.name, url };
  const out: Notification[] = [];
  const base = (revision: string | undefined) => ({
    source,
    revision,
    commit: commitOf(revision),
    time: t.time,
  });
  // Changed stays True from one unapplied revision to the next (a fix after a broken commit), so
  // no Event fires; the new commit still deserves its `pending`.
  const changed = findCondition(after.conditions, 'Changed');
  const movedOn =
    changed?.status === 'True' &&
    after.revision !== undefined &&
    t.before?.revision !== undefined &&
    t.before.revision !== after.revision &&
    !t.events.some((e) => e.reason === 'Changed');
  const events: readonly EventSpec[] = movedOn
    ? [{ type: 'Normal', reason: 'Changed', note: changed.message }, ...t.events]
    : t.events;
  for (const e of events) {
    switch (e.reason) {
      case 'Changed':
        out.push({
          ...base(after.revision),
          event: 'Changed',
          reason: 'NewRevision',
          message: e.note,
          changes: [],
        });
        break;
      case 'Diverged': {
        const reason = findCondition(after.conditions, 'Diverged')?.reason ?? 'Pending';
        out.push({ ...base(after.revision), event: 'Diverged', reason, message: e.note, changes: [] });
        break;
      }
      case 'DriftCorrected':
        out.push({
          ...base(after.lastAppliedRevision),
          event: 'DriftCorrected',
          reason: 'DriftCorrected',
          message: e.note,
          changes: after.changes ?? [],
        });
        break;
      case 'Converged':
        out.push({
          ...base(after.lastAppliedRevision),
          event: 'Converged',
          reason: findCondition(after.conditions, 'Converged')?.reason ?? 'Succeeded',
          message: e.note,
          changes: after.changes ?? [],
        });
        break;
      case 'ReconcileFailed': {
        const ready = findCondition(after.conditions, 'Ready');
        const revision = after.lastAttemptedRevision ?? after.revision;
        // A fetch that failed leaves the applied revision converged: that commit did not fail.
        const converged = findCondition(after.conditions, 'Converged')?.status === 'True';
        out.push({
          ...base(revision),
          commit: converged && revision === after.lastAppliedRevision ? undefined : commitOf(revision),
          event: 'Failed',
          reason: ready?.reason ?? 'Failed',
          message: e.note,
          changes: [],
        });
        break;
      }
      default:
        break;
    }
  }
  const readyBefore = findCondition(t.before?.conditions, 'Ready');
  const readyAfter = findCondition(after.conditions, 'Ready');
  if (
    readyAfter?.status === 'True' &&
    readyBefore?.status !== 'True' &&
    (t.wasFailing || isFailing(t.before))
  ) {
    out.push({
      ...base(after.lastAppliedRevision),
      event: 'Recovered',
      reason: readyAfter.reason,
      message: readyAfter.message,
      changes: [],
    });
  }
  return out;
}

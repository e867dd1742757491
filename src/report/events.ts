// Which Kubernetes Events a status change deserves: only transitions, never one per interval.
import { sanitizeMessage, type Condition } from '../api/index.ts';
import { findCondition } from './conditions.ts';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason:
    | 'Changed'
    | 'Diverged'
    | 'Converged'
    | 'DriftCorrected'
    | 'Pruned'
    | 'ReconcileFailed'
    /** On a Notifier: a notification given up on (notify/). */
    | 'DeliveryFailed'
    /** On a Notifier: one that must change before any delivery can work (address, Secret, policy). */
    | 'InvalidConfiguration'
    // A push webhook woke the GitSource (src/webhook), once per push.
    | 'PushReceived'
    // spec.imageUpdates pushed a commit, or could not (issue 28).
    | 'ImagesUpdated'
    | 'ImageUpdateFailed';
  note: string;
}

function flippedTrue(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
  type: string,
): Condition | undefined {
  const now = findCondition(after, type);
  if (now?.status !== 'True') return undefined;
  const was = findCondition(before, type);
  // A new reason while still True (Pending → Drifted) is a new transition worth telling.
  return was?.status === 'True' && was.reason === now.reason ? undefined : now;
}

export function transitionEvents(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
  extra: { pruned?: string[]; driftCorrected?: string[] } = {},
): EventSpec[] {
  const events: EventSpec[] = [];
  const changed = flippedTrue(before, after, 'Changed');
  if (changed) events.push({ type: 'Normal', reason: 'Changed', note: changed.message });
  const diverged = flippedTrue(before, after, 'Diverged');
  if (diverged)
    events.push({
      type: diverged.reason === 'Drifted' ? 'Warning' : 'Normal',
      reason: 'Diverged',
      note: diverged.message,
    });
  if (extra.driftCorrected?.length) {
    events.push({
      type: 'Normal',
      reason: 'DriftCorrected',
      note: `Corrected ${extra.driftCorrected.join(', ')}`,
    });
  }
  if (extra.pruned?.length)
    events.push({ type: 'Normal', reason: 'Pruned', note: `Pruned ${extra.pruned.join(', ')}` });
  const converged = flippedTrue(before, after, 'Converged');
  if (converged) events.push({ type: 'Normal', reason: 'Converged', note: converged.message });
  const readyBefore = findCondition(before, 'Ready');
  const readyAfter = findCondition(after, 'Ready');
  if (
    readyAfter?.status === 'False' &&
    !['Progressing', 'Suspended', 'DependencyNotReady'].includes(readyAfter.reason) &&
    (readyBefore?.status !== 'False' ||
      readyBefore.reason !== readyAfter.reason ||
      readyBefore.message !== readyAfter.message)
  ) {
    events.push({ type: 'Warning', reason: 'ReconcileFailed', note: readyAfter.message });
  }
  // The API server refuses a note over 1024 bytes; text from tools and git must not reach a terminal raw.
  return events.map((e) => ({ ...e, note: sanitizeMessage(e.note) }));
}

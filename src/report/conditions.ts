// Pure condition bookkeeping: kstatus-style conditions whose lastTransitionTime moves only on a flip.
import { sanitizeMessage, type Condition } from '../api/index.ts';

export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled' | 'Changed' | 'Diverged' | 'Converged';
const CONDITION_ORDER: ConditionType[] = [
  'Ready',
  'Reconciling',
  'Stalled',
  'Changed',
  'Diverged',
  'Converged',
];

export interface ConditionUpdate {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Applies updates (set) and removals to a condition list. A condition keeps its lastTransitionTime
 * unless its status flips; reason, message and observedGeneration always follow the update.
 */
export function mergeConditions(
  existing: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  remove: readonly ConditionType[],
  generation: number | undefined,
  now: string,
): Condition[] {
  const byType = new Map((existing ?? []).map((c) => [c.type, c] as const));
  for (const type of remove) byType.delete(type);
  for (const u of updates) {
    const old = byType.get(u.type);
    byType.set(u.type, {
      type: u.type,
      status: u.status,
      reason: u.reason,
      message: sanitizeMessage(u.message),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime: old && old.status === u.status ? old.lastTransitionTime : now,
    });
  }
  const rank = (t: string) => {
    const i = CONDITION_ORDER.indexOf(t as ConditionType);
    return i < 0 ? CONDITION_ORDER.length : i;
  };
  return [...byType.values()].sort((a, b) => rank(a.type) - rank(b.type));
}

/** `main@sha1:4f2c1a0…` → `main@sha1:4f2c1a0`: short form for messages; full form stays in status fields. */
export function shortRevision(revision: string | undefined): string {
  if (!revision) return '<none>';
  // A chart's `name@version@sha256:<64 hex>` keeps its name and version whole.
  return revision
    .replace(/sha1:([0-9a-f]{7})[0-9a-f]{33}/g, 'sha1:$1')
    .replace(/sha256:([0-9a-f]{7})[0-9a-f]{57}/g, 'sha256:$1');
}

/** `main@sha1:abc1234 → def5678` as DESIGN.md shows it. */
export function revisionChangeMessage(from: string | undefined, to: string): string {
  const short = shortRevision(to);
  if (!from) return `<none> → ${short}`;
  const sha = short.split('sha1:')[1] ?? short;
  return `${shortRevision(from)} → ${sha}`;
}

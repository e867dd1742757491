// Builds GitSource status for each outcome of a reconcile: pure functions of the old status and the facts.
import {
  encodeInventory,
  sanitizeMessage,
  type Condition,
  type GitSourceStatus,
  type HookRecord,
  type InventoryEntry,
} from '../api/index.ts';
import {
  findCondition,
  mergeConditions,
  revisionChangeMessage,
  shortRevision,
  type ConditionType,
  type ConditionUpdate,
} from './conditions.ts';

export interface Summary {
  objects: number;
  created: number;
  configured: number;
  unchanged: number;
  pruned: number;
  drifted: number;
}

export interface StatusContext {
  old: GitSourceStatus | undefined;
  generation: number | undefined;
  now: string;
  requestedAt?: string | undefined;
  /** Hooks completed for a revision, when this pass ran some (kept from the old status otherwise). */
  hooks?: HookRecord | undefined;
}

function base(ctx: StatusContext, conditions: Condition[], extra: Partial<GitSourceStatus>): GitSourceStatus {
  // status.previews belongs to the preview controller (its own field manager): never sent from here,
  // or this manager would co-own the list and write an old copy back.
  const { previews: _previews, ...old } = ctx.old ?? {};
  const next: GitSourceStatus = { ...old, ...extra, conditions };
  if (ctx.generation !== undefined) next.observedGeneration = ctx.generation;
  if (ctx.requestedAt !== undefined) next.lastHandledReconcileAt = ctx.requestedAt;
  if (ctx.hooks !== undefined) next.hooks = ctx.hooks;
  return next;
}

function conds(ctx: StatusContext, updates: ConditionUpdate[], remove: ConditionType[] = []): Condition[] {
  return mergeConditions(ctx.old?.conditions, updates, remove, ctx.generation, ctx.now);
}

/** Changed=True while Git has a revision that is not applied yet. */
function changedCondition(applied: string | undefined, revision: string): ConditionUpdate {
  return applied !== revision
    ? {
        type: 'Changed',
        status: 'True',
        reason: 'NewRevision',
        message: revisionChangeMessage(applied, revision),
      }
    : {
        type: 'Changed',
        status: 'False',
        reason: 'UpToDate',
        message: `${shortRevision(revision)} is applied`,
      };
}

/** Work has started on `revision`; `step` says what is happening now. */
export function progressingStatus(
  ctx: StatusContext,
  f: {
    revision: string;
    step: string;
    diverged?: { reason: 'Pending' | 'Drifted'; message: string };
    /** Set once the objects are applied (health still pending): the inventory is recorded now. */
    applied?: { inventory: InventoryEntry[] };
    /** Recorded before writing: the old inventory plus what is about to be created. */
    inventory?: InventoryEntry[];
  },
): GitSourceStatus {
  const applied = ctx.old?.lastAppliedRevision;
  const ready = findCondition(ctx.old?.conditions, 'Ready');
  // After a failure, Ready keeps saying what failed until a pass succeeds; Reconciling shows the retry.
  const retrying = ready?.status === 'False' && ready.reason !== 'Suspended';
  const updates: ConditionUpdate[] = [
    ...(retrying
      ? []
      : [{ type: 'Ready', status: 'Unknown', reason: 'Progressing', message: f.step } as const]),
    {
      type: 'Reconciling',
      status: 'True',
      reason: retrying ? 'ProgressingWithRetry' : 'Progressing',
      message: retrying ? `${f.step} (retrying after ${ready.reason})` : f.step,
    },
    changedCondition(applied, f.revision),
    { type: 'Converged', status: 'False', reason: 'Progressing', message: f.step },
  ];
  if (f.diverged)
    updates.push({
      type: 'Diverged',
      status: 'True',
      reason: f.diverged.reason,
      message: f.diverged.message,
    });
  if (f.applied) {
    updates.push({
      type: 'Diverged',
      status: 'False',
      reason: 'InSync',
      message: `Live state matches ${shortRevision(f.revision)}`,
    });
  }
  return base(ctx, conds(ctx, updates, ['Stalled']), {
    revision: f.revision,
    lastAttemptedRevision: f.revision,
    ...(f.inventory ? { inventory: encodeInventory(f.inventory) } : {}),
    ...(f.applied ? { inventory: encodeInventory(f.applied.inventory) } : {}),
  });
}

export interface AppliedFacts {
  revision: string;
  summary: Summary;
  changes: string[];
  inventory: InventoryEntry[];
  durationMs: number;
  /** Objects left drifted on purpose (drift: Report); empty when in sync. */
  drifted?: { message: string } | undefined;
  healthMessage?: string | undefined;
  /** How hand edits are found from now on (kept from the old status when not given). */
  driftDetection?: 'Watch' | 'Interval' | undefined;
}

export function appliedStatus(ctx: StatusContext, f: AppliedFacts): GitSourceStatus {
  const rev = shortRevision(f.revision);
  const updates: ConditionUpdate[] = [
    { type: 'Changed', status: 'False', reason: 'UpToDate', message: `${rev} is applied` },
  ];
  if (f.drifted) {
    updates.push(
      { type: 'Diverged', status: 'True', reason: 'Drifted', message: f.drifted.message },
      {
        type: 'Converged',
        status: 'False',
        reason: 'Drifted',
        message: `Live state differs from ${rev} (drift: Report)`,
      },
      // Report mode accepts drift: it is reported, not an error, so dependants and `kubectl wait` are not blocked.
      {
        type: 'Ready',
        status: 'True',
        reason: 'Drifted',
        message: `Applied revision ${rev}; drift reported, not corrected`,
      },
    );
  } else {
    updates.push(
      { type: 'Diverged', status: 'False', reason: 'InSync', message: `Live state matches ${rev}` },
      {
        type: 'Converged',
        status: 'True',
        reason: 'Succeeded',
        message: `Applied revision ${rev}${f.healthMessage ? `; ${f.healthMessage}` : ''}`,
      },
      { type: 'Ready', status: 'True', reason: 'Succeeded', message: `Applied revision ${rev}` },
    );
  }
  const result = f.drifted ? 'Drifted' : 'Succeeded';
  const last = ctx.old?.history?.[0];
  // History records revisions; re-applying the same one (drift correction, resync) is not a new entry.
  const history =
    last && last.revision === f.revision && last.result === result
      ? ctx.old!.history!
      : [
          { revision: f.revision, appliedAt: ctx.now, duration: formatMs(f.durationMs), result },
          ...(ctx.old?.history ?? []),
        ].slice(0, 5);
  return base(ctx, conds(ctx, updates, ['Reconciling', 'Stalled']), {
    revision: f.revision,
    lastAttemptedRevision: f.revision,
    lastAppliedRevision: f.revision,
    summary: f.summary,
    // Lines quote values from Git: safe for a terminal and bounded like any message.
    changes: boundedLines(f.changes, MAX_CHANGE_LINES).map((line) =>
      sanitizeMessage(line, { maxBytes: 512 }),
    ),
    inventory: encodeInventory(f.inventory),
    history,
    ...(f.driftDetection ? { driftDetection: f.driftDetection } : {}),
  });
}

export interface FailureFacts {
  reason: string;
  message: string;
  stalled: boolean;
  revision?: string | undefined;
  /** Failures while planning or applying mean live state may differ from desired. */
  converged?: 'keep' | 'false';
  durationMs?: number;
}

export function failedStatus(ctx: StatusContext, f: FailureFacts): GitSourceStatus {
  const updates: ConditionUpdate[] = [
    { type: 'Ready', status: 'False', reason: f.reason, message: f.message },
  ];
  if ((f.converged ?? 'false') === 'false' || !keepsConverged(ctx)) {
    updates.push({ type: 'Converged', status: 'False', reason: f.reason, message: f.message });
  }
  if (f.stalled) updates.push({ type: 'Stalled', status: 'True', reason: f.reason, message: f.message });
  const extra: Partial<GitSourceStatus> = {};
  if (f.revision) {
    extra.revision = f.revision;
    extra.lastAttemptedRevision = f.revision;
    updates.push(changedCondition(ctx.old?.lastAppliedRevision, f.revision));
  }
  if (f.revision && f.durationMs !== undefined && ctx.old?.lastAttemptedRevision !== f.revision) {
    extra.history = [
      { revision: f.revision, appliedAt: ctx.now, duration: formatMs(f.durationMs), result: f.reason },
      ...(ctx.old?.history ?? []),
    ].slice(0, 5);
  }
  return base(ctx, conds(ctx, updates, f.stalled ? ['Reconciling'] : ['Reconciling', 'Stalled']), extra);
}

/**
 * A failure that leaves live objects alone keeps Converged, unless it is a False written for an
 * older generation: its reason (an InvalidSpec since fixed, a failed apply of the old spec) is no
 * longer what stands between this spec and convergence; the failure at hand is. A True still holds:
 * it speaks of lastAppliedRevision, whose objects are as they were.
 */
function keepsConverged(ctx: StatusContext): boolean {
  const converged = findCondition(ctx.old?.conditions, 'Converged');
  return (
    converged === undefined ||
    converged.status === 'True' ||
    ctx.generation === undefined ||
    converged.observedGeneration === ctx.generation
  );
}

export function suspendedStatus(ctx: StatusContext): GitSourceStatus {
  const suspended = { status: 'False', reason: 'Suspended', message: 'Reconciliation is suspended' } as const;
  const updates: ConditionUpdate[] = [{ type: 'Ready', ...suspended }];
  if (!keepsConverged(ctx)) updates.push({ type: 'Converged', ...suspended });
  return base(ctx, conds(ctx, updates, ['Reconciling', 'Stalled']), {});
}

/** status.changes holds at most this many lines, the last one counting the rest. */
export const MAX_CHANGE_LINES = 20;

/** The first lines, then `… and K more` (lines that already end so, from changeLines, pass as they are). */
function boundedLines(lines: readonly string[], max: number): string[] {
  if (lines.length <= max) return [...lines];
  return [...lines.slice(0, max - 1), `… and ${lines.length - max + 1} more`];
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

/** Status equality for "write only when something changed" (field order does not matter). */
export function sameStatus(a: GitSourceStatus | undefined, b: GitSourceStatus): boolean {
  const { previews: _a, ...left } = a ?? {};
  const { previews: _b, ...right } = b;
  return canonical(left) === canonical(right);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)),
        )
      : v,
  );
}

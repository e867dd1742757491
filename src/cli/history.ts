// Which applied revision `converge rollback` pins: pure selection over status.history.
import type { GitSourceStatus } from '../api/index.ts';
import { commitOf } from './format/gitsource.ts';

type HistoryEntry = NonNullable<GitSourceStatus['history']>[number];

/** History results that mean the revision's objects were applied (Drifted: applied, drift only reported). */
const APPLIED_RESULTS = new Set(['Succeeded', 'Drifted']);

export type RollbackTarget = { ok: true; entry: HistoryEntry; commit: string } | { ok: false; error: string };

/**
 * Without `to`: the newest applied revision whose commit differs from the current one
 * (lastAppliedRevision, else the newest history entry). With `to`: the applied entry whose full
 * revision, or commit SHA prefix (at least 7 characters), matches.
 */
export function rollbackTarget(status: GitSourceStatus | undefined, to?: string): RollbackTarget {
  const history = status?.history ?? [];
  const applied = history.filter((h) => APPLIED_RESULTS.has(h.result) && commitOf(h.revision));
  const current = commitOf(status?.lastAppliedRevision ?? history[0]?.revision);
  if (to !== undefined) {
    const want = to.trim();
    if (!/^[0-9a-f]{7,64}$/.test(want) && !commitOf(want))
      return {
        ok: false,
        error: `--to ${to}: give a revision from the history or a commit SHA (at least 7 hex digits)`,
      };
    const matches = applied.filter((h) => h.revision === want || commitOf(h.revision)!.startsWith(want));
    const commits = new Set(matches.map((h) => commitOf(h.revision)));
    if (commits.size > 1)
      return { ok: false, error: `--to ${to} matches more than one revision; give more digits` };
    const entry = matches[0];
    if (!entry)
      return {
        ok: false,
        error: `revision ${to} is not an applied revision in the history (${describe(applied)})`,
      };
    return { ok: true, entry, commit: commitOf(entry.revision)! };
  }
  const entry = applied.find((h) => commitOf(h.revision) !== current);
  if (!entry)
    return {
      ok: false,
      error: `no earlier applied revision to roll back to (history: ${describe(history)})`,
    };
  return { ok: true, entry, commit: commitOf(entry.revision)! };
}

function describe(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return 'empty';
  return entries
    .map((h) => `${h.revision.replace(/([0-9a-f]{7})[0-9a-f]{33,57}$/, '$1')} ${h.result}`)
    .join(', ');
}

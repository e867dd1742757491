// Hooks and sync waves inside a reconcile: the glue between the hooks, apply and health stages.
import type { GitSourceStatus, HookRecord } from '../api/index.ts';
import { ConvergeError } from '../api/index.ts';
import { applyChangeSet } from '../apply/index.ts';
import type { ObjectHealth } from '../health/index.ts';
import { runHooks, wavesOf, type Hook, type HookPhase, type Wave } from '../hooks/index.ts';
import { ApiError, type KubeClient } from '../kube/index.ts';
import type { AppliedObjects, ChangeSet, PlannedObject } from '../plan/index.ts';

const PHASE_NAMES: Record<HookPhase, string> = {
  pre: 'pre-sync',
  sync: 'sync',
  post: 'post-sync',
  fail: 'sync-fail',
};

/** The record of this revision's completed hooks: the one in status if it is for this revision, else empty. */
export function hookRecordFor(status: GitSourceStatus | undefined, revision: string): HookRecord {
  return status?.hooks?.revision === revision
    ? { revision, completed: [...status.hooks.completed] }
    : { revision, completed: [] };
}

export interface HookContext {
  client: KubeClient;
  owner: { name: string; namespace: string };
  /** Completed hook keys; appended to as hooks complete. */
  record: HookRecord;
  signal: AbortSignal;
  /** Persists the step and the record (a status write); calls are serialised here. */
  progress: (step: string, record: HookRecord) => Promise<void>;
  pollMs?: number;
}

/**
 * Runs one phase's hooks that have not completed for this revision. Each start and completion
 * is written to status, so a restart neither loses nor repeats a hook. Throws HookFailed.
 */
export async function runHookPhase(
  ctx: HookContext,
  phase: HookPhase,
  hooks: readonly Hook[],
): Promise<void> {
  const todo = hooks.filter((h) => !ctx.record.completed.includes(h.key));
  if (todo.length === 0) return;
  let writes = Promise.resolve();
  const write = (step: string) => {
    writes = writes.then(() => ctx.progress(step, { ...ctx.record, completed: [...ctx.record.completed] }));
    return writes;
  };
  await runHooks(ctx.client, todo, {
    owner: ctx.owner,
    revision: ctx.record.revision,
    completed: new Set(ctx.record.completed),
    signal: ctx.signal,
    ...(ctx.pollMs !== undefined ? { pollMs: ctx.pollMs } : {}),
    onStart: (hook) => write(`Running ${PHASE_NAMES[phase]} hook ${hook.identity} (${hook.source})`),
    onCompleted: (key) => {
      ctx.record.completed.push(key);
      return write(`${PHASE_NAMES[phase]} hook ${key.slice(key.indexOf(':') + 1)} completed`);
    },
  });
  await writes;
}

export interface WaveOptions {
  /** Argo CD Sync hooks, run in their wave right after its objects are applied. */
  syncHooks?: readonly Hook[];
  hooks?: HookContext;
  /** Between two waves (not after the last): e.g. wait until this wave is healthy (wait: true). */
  betweenWaves?: (wave: Wave, appliedSoFar: readonly PlannedObject[]) => Promise<void>;
}

/**
 * Applies a ChangeSet wave by wave (argocd.argoproj.io/sync-wave, lowest first); a set without
 * waves is one apply as before. Throws the first wave's ApplyError: later waves are not applied.
 */
export async function applyInWaves(
  client: KubeClient,
  changeSet: ChangeSet,
  opts: {
    force: boolean;
    signal: AbortSignal;
    timeoutMs: () => number;
    /** Records what each wave applied (see AppliedObjects). */
    applied?: AppliedObjects;
  } & WaveOptions,
): Promise<void> {
  const waves = wavesOf(changeSet, opts.syncHooks ?? []);
  const applied: PlannedObject[] = [];
  for (const [i, wave] of waves.entries()) {
    await applyChangeSet(client, client.mapper, wave.changeSet, {
      force: opts.force,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs(),
      ...(opts.applied ? { applied: opts.applied } : {}),
    });
    applied.push(...wave.changeSet.objects);
    if (wave.syncHooks.length > 0) {
      if (!opts.hooks) throw new ConvergeError('HookFailed', 'sync hooks need a hook context');
      await runHookPhase(opts.hooks, 'sync', wave.syncHooks);
    }
    if (i < waves.length - 1) await opts.betweenWaves?.(wave, applied);
  }
}

/** `waiting for 2 of 5 object(s): Deployment apps/web: 0 of 1 updated replicas available; …` */
export function waitingMessage(pending: readonly ObjectHealth[], total: number): string {
  const shown = pending.slice(0, 3).map((h) => h.message);
  if (pending.length > 3) shown.push(`… and ${pending.length - 3} more`);
  return `Waiting for ${pending.length} of ${total} object(s) to become healthy: ${shown.join('; ')}`;
}

/**
 * Failures that retrying the same commit cannot fix: the render, an object the API server
 * rejects as invalid, a failed hook (it must not run again and again). Only a new commit, a
 * spec change or a requested reconcile tries again.
 */
export function stallsRevision(reason: string, err: unknown): boolean {
  if (reason === 'RenderFailed') return true;
  // A signature that does not verify stays so until a new digest (a digest mismatch on the wire may pass).
  if (reason === 'VerificationFailed')
    return err instanceof ConvergeError && err.rejectedRevision !== undefined;
  if (reason !== 'ApplyFailed' && reason !== 'HookFailed') return false;
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    // An API error: only an invalid object stays invalid (a 5xx, a conflict or a lost connection may pass).
    if (e instanceof ApiError) return e.status === 422 && !/immutable/i.test(e.message);
  }
  // No API error behind it: an apply that failed otherwise is retried; a hook that ran and failed is not.
  return reason === 'HookFailed';
}

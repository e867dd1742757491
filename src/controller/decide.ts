// Pure decisions of the controller: which pass a reconcile runs, and how long each step may take.
import { createHash } from 'node:crypto';
import { parseDuration, type GitSourceSpec, type KubeObject } from '../api/index.ts';

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_RETRY_MS = 15_000;
/** Whatever a spec or caller says, a failing source is retried no faster than this. */
export const MIN_RETRY_MS = 1_000;

export interface Timing {
  intervalMs: number;
  /** First retry after a failure; doubles up to intervalMs. */
  retryMs: number;
  timeoutMs: number;
  /** `spec.timeout` as the user wrote it, for messages. */
  timeout: string;
}

export function timingOf(spec: GitSourceSpec): Timing {
  const intervalMs = parseDuration(spec.interval);
  const retryMs = Math.max(
    MIN_RETRY_MS,
    Math.min(intervalMs, spec.retryInterval ? parseDuration(spec.retryInterval) : DEFAULT_RETRY_MS),
  );
  const timeoutMs = spec.timeout ? parseDuration(spec.timeout) : DEFAULT_TIMEOUT_MS;
  return { intervalMs, retryMs, timeoutMs, timeout: spec.timeout ?? '2m' };
}

/**
 * - `full`: fetch, render, plan, apply, prune, wait, report.
 * - `drift`: the revision is applied, but watched objects changed (or reported drift is pending):
 *   re-plan only those.
 * - `resync`: the revision is applied, but some applied kind cannot be watched: re-plan every
 *   object, so drift is never unseen for longer than an interval.
 * - `noop`: nothing moved: no dry-runs, no writes.
 */
export type Pass = 'full' | 'drift' | 'resync' | 'noop';

export interface PassFacts {
  /** Commit and generation this process last applied; undefined after a restart. */
  appliedCommit: string | undefined;
  appliedGeneration: number | undefined;
  /** Whether this process holds the desired objects of the applied revision (drift baseline). */
  hasDesired: boolean;
  driftedCount: number;
  /** Whether every applied kind is watched (false: drift is found by re-planning each interval). */
  driftWatched: boolean;
  /** What the ref points at now (undefined when not resolved: nothing applied yet). */
  resolved: { commit: string; revision: string } | undefined;
  generation: number | undefined;
  /** status.lastAppliedRevision as written. */
  lastAppliedRevision: string | undefined;
  /** A requested-at annotation that has not been handled yet. */
  forced: boolean;
  /** A commit and generation that failed in a way that only a new commit or spec change can fix. */
  stalledCommit?: string | undefined;
  stalledGeneration?: number | undefined;
  /**
   * Status says Ready is not True (e.g. FetchFailed at the applied commit): a full pass clears it
   * once the cause passed; a no-op would leave it (and any incident opened for it) standing.
   */
  notReady?: boolean;
}

export function choosePass(f: PassFacts): Pass {
  // Stalled on this commit: only a new commit, a spec change or a requested reconcile can help.
  if (
    f.stalledCommit !== undefined &&
    f.resolved?.commit === f.stalledCommit &&
    f.stalledGeneration === f.generation &&
    !f.forced
  )
    return 'noop';
  if (f.appliedCommit === undefined || f.resolved === undefined || f.forced) return 'full';
  const upToDate =
    f.appliedCommit === f.resolved.commit &&
    f.appliedGeneration === f.generation &&
    f.lastAppliedRevision === f.resolved.revision;
  if (!upToDate || f.notReady) return 'full';
  if (!f.hasDesired) return f.driftedCount === 0 && f.driftWatched ? 'noop' : 'full';
  if (f.driftedCount > 0) return 'drift';
  return f.driftWatched ? 'noop' : 'resync';
}

/** A requested-at annotation asks for a full pass until status echoes it. */
export function isForced(requestedAt: string | undefined, lastHandled: string | undefined): boolean {
  return requestedAt !== undefined && requestedAt !== lastHandled;
}

/** A monotonic deadline: each step gets the time left, not the whole timeout. */
export class Deadline {
  private readonly at: number;
  constructor(
    timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.at = now() + timeoutMs;
  }

  /** Milliseconds left (at least 1, so a step that starts late still fails by itself, with its name). */
  remaining(): number {
    return Math.max(1, Math.round(this.at - this.now()));
  }
}

/** ±10% so sources created together do not poll together. */
export function jitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.9 + random() * 0.2));
}

/** A digest of rendered objects, in render order: equal digests mean the same objects to apply. */
export function renderDigest(objects: readonly KubeObject[]): string {
  const hash = createHash('sha256');
  for (const o of objects) hash.update(JSON.stringify(o)).update('\n');
  return hash.digest('hex');
}

export interface RenderFacts {
  /** Digest of what the new commit renders, and of what the last successful pass applied. */
  digest: string;
  appliedDigest: string | undefined;
  appliedGeneration: number | undefined;
  generation: number | undefined;
  /** Whether this process holds the applied objects (drift baseline). */
  hasDesired: boolean;
  /** Objects someone else touched, or drift reported and not yet matching again. */
  driftedCount: number;
  driftWatched: boolean;
  forced: boolean;
  notReady: boolean;
}

/**
 * A new commit that renders exactly what is applied (a monorepo commit to another app's path): no
 * plan, no dry-run, no write to any object; only status moves to the new revision. Anything that
 * could make live state differ (drift, an unwatched kind, a failure, a forced pass) re-plans.
 */
export function renderUnchanged(f: RenderFacts): boolean {
  return (
    f.appliedDigest !== undefined &&
    f.digest === f.appliedDigest &&
    f.appliedGeneration === f.generation &&
    f.hasDesired &&
    f.driftedCount === 0 &&
    f.driftWatched &&
    !f.forced &&
    !f.notReady
  );
}

/**
 * After a run, what the cache should hold: the run's copy carries every status and finalizer it
 * wrote, but only those (a write's answer updates status and version, not labels or annotations).
 * - The watch brought nothing since the run began: the run's copy.
 * - It brought one of our own writes of that run: that object (it has whatever others changed in
 *   metadata or spec before it) with the run's last status, finalizers and version. A pass starting
 *   from the mid-pass status alone would re-plan an applied commit.
 * - Someone else wrote meanwhile: what the watch brought. resourceVersions are opaque, so theirs may
 *   be the newer, and the watch brings our last write soon after.
 */
export function afterRun<
  T extends { metadata: { resourceVersion?: string; finalizers?: string[] }; status?: unknown },
>(f: { cached: T; run: T; seenVersion: string | undefined; ownVersions: ReadonlySet<string> }): T {
  const version = f.cached.metadata.resourceVersion;
  if (version === f.seenVersion) return f.run;
  if (version === undefined || !f.ownVersions.has(version)) return f.cached;
  return {
    ...f.cached,
    metadata: {
      ...f.cached.metadata,
      resourceVersion: f.run.metadata.resourceVersion,
      finalizers: f.run.metadata.finalizers,
    },
    status: f.run.status,
  };
}

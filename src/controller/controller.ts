// The controller: watches GitSources, queues them, runs reconciles on a bounded pool while leading,
// schedules the next pass, wakes dependants when a dependency turns Ready, and feeds drift events in.
import type { Logger } from 'pino';
import { ANNOTATION_REQUESTED_AT, objectId, refOf, type GitSource, type KubeObject } from '../api/index.ts';
import type { KubeClient } from '../kube/index.ts';
import { findCondition } from '../report/index.ts';
import type { Metrics } from '../server/index.ts';
import { driftedFields, type DriftEvent } from './drift.ts';
import type { DriftFeed } from './clusters.ts';
import { ignorePathsFor } from '../plan/index.ts';
import { gitSourceListPath } from './paths.ts';
import { WorkQueue } from './queue.ts';
import { keyOf, type Reconciler } from './reconciler.ts';
import type { SourceStateStore } from './state.ts';
import type { GitSourceCache } from './cache.ts';
import { afterRun } from './decide.ts';

export interface ControllerOptions {
  /** Watch one namespace only (sharding); all namespaces when unset. */
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  concurrency: number;
  shutdownGraceMs: number;
  /** Called once, after the first full list of GitSources (e.g. to collect caches of deleted ones). */
  onFirstSync?: (sources: GitSource[]) => void;
}

const objectIdOf = (o: KubeObject) => objectId(refOf(o));

export class Controller {
  private readonly queue: WorkQueue;
  private readonly abort = new AbortController();
  private synced = false;
  private leading = false;
  private started = false;

  constructor(
    private readonly client: KubeClient,
    private readonly reconciler: Reconciler,
    private readonly states: SourceStateStore,
    private readonly cache: GitSourceCache,
    /** Drift watches of every target cluster. */
    private readonly drift: DriftFeed,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly opts: ControllerOptions,
  ) {
    this.queue = new WorkQueue(
      (key) => this.process(key),
      opts.concurrency,
      undefined,
      (d) => metrics.queueDepth.set(d),
    );
    drift.onDrift((event) => this.onDrift(event));
  }

  /** A managed object changed: re-plan it if it no longer matches Git (cheap check first). */
  private onDrift({ ownerKey, id, live }: DriftEvent): void {
    const gs = this.cache.get(ownerKey);
    const state = this.states.peek(ownerKey);
    const desired = state?.desired ? this.desiredById(state.desired).get(id) : undefined;
    if (!gs || !state || !desired) return;
    if (live) {
      const ignore = ignorePathsFor(refOf(desired), gs.spec?.ignore ?? []);
      const fields = driftedFields(desired, live, ignore);
      // Back in line by hand after a reported drift: re-plan once so the status says InSync again.
      if (fields.length === 0 && !state.reportedDrift.has(id)) return;
      this.logger.debug({ gitsource: ownerKey, id, fields: fields.slice(0, 5) }, 'drift seen');
    } else {
      this.logger.debug({ gitsource: ownerKey, id }, 'managed object deleted');
    }
    state.drifted.add(id);
    if (this.leading) this.queue.add(ownerKey);
  }

  /**
   * The desired set by inventory id, built once per set: every write of an apply comes back as a
   * watch event, and a scan per event made a 10,000-object apply cost 10^8 id computations.
   */
  private readonly desiredIndex = new WeakMap<readonly KubeObject[], Map<string, KubeObject>>();
  private desiredById(desired: readonly KubeObject[]): Map<string, KubeObject> {
    let index = this.desiredIndex.get(desired);
    if (!index) {
      index = new Map(desired.map((o) => [objectIdOf(o), o]));
      this.desiredIndex.set(desired, index);
    }
    return index;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  // --- Push webhooks (issue 14): the receiver wakes a source at once. ---
  /**
   * Reconciles `namespace/name` at once: it joins the queue now (cancelling a scheduled pass), or
   * runs once more right after the pass in flight, never twice at once. False when this replica
   * does not lead (the caller then asks the leader through the requested-at annotation).
   */
  reconcileNow(key: string): boolean {
    if (!this.leading || !this.cache.has(key)) return false;
    this.queue.add(key);
    return true;
  }
  // --- end push webhooks ---

  /** Starts the GitSource watch; reconciling waits for setLeading(true). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.client
      .watch<GitSource>(
        gitSourceListPath(this.opts.namespace),
        {
          labelSelector: this.opts.labelSelector,
          signal: this.abort.signal,
          onError: (err) => this.logger.warn({ err: String(err) }, 'GitSource watch interrupted; resuming'),
        },
        (event) => {
          if (event.type === 'SYNCED') {
            if (!this.synced) this.opts.onFirstSync?.(event.objects);
            this.synced = true;
            return;
          }
          this.onGitSource(event.type, event.object);
        },
      )
      .catch((err: unknown) => this.logger.error({ err: String(err) }, 'GitSource watch ended'));
  }

  setLeading(leading: boolean): void {
    this.leading = leading;
    this.metrics.isLeader.set(leading ? 1 : 0);
    if (leading) for (const key of this.cache.keys()) this.queue.add(key);
  }

  private onGitSource(type: 'ADDED' | 'MODIFIED' | 'DELETED', gs: GitSource): void {
    const key = keyOf(gs);
    const before = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.queue.remove(key);
      this.drift.untrack(key);
      this.reconciler.forget(gs);
      return;
    }
    this.cache.set(key, gs);
    const wakeDependants = this.becameReady(before, gs);
    // Our own status writes come back as MODIFIED: only spec, annotations and deletion are news.
    const interesting =
      !before ||
      before.metadata.generation !== gs.metadata.generation ||
      before.metadata.annotations?.[ANNOTATION_REQUESTED_AT] !==
        gs.metadata.annotations?.[ANNOTATION_REQUESTED_AT] ||
      (!!gs.metadata.deletionTimestamp && !before.metadata.deletionTimestamp);
    if (interesting) {
      if (before && before.metadata.generation !== gs.metadata.generation) {
        // A new spec supersedes whatever the current run waits for.
        this.states.supersede(key, 'the spec changed');
      }
      if (this.leading) this.queue.add(key);
    }
    if (wakeDependants && this.leading) {
      for (const other of this.cache.values()) {
        if (
          other.spec?.dependsOn?.some(
            (d) =>
              d.name === gs.metadata.name &&
              (d.namespace ?? other.metadata.namespace) === gs.metadata.namespace,
          )
        ) {
          this.queue.add(keyOf(other));
        }
      }
    }
  }

  private becameReady(before: GitSource | undefined, after: GitSource): boolean {
    const was =
      findCondition(before?.status?.conditions, 'Ready')?.status === 'True'
        ? before?.status?.lastAppliedRevision
        : undefined;
    const now =
      findCondition(after.status?.conditions, 'Ready')?.status === 'True'
        ? after.status?.lastAppliedRevision
        : undefined;
    return now !== undefined && now !== was;
  }

  private async process(key: string): Promise<void> {
    if (!this.leading) return;
    const gs = this.cache.get(key);
    if (!gs) return;
    // Work on a copy: the watch may replace the cached object while we run.
    const current: GitSource = structuredClone(gs);
    const seenVersion = gs.metadata.resourceVersion;
    this.cache.takeOwnWrites(key);
    try {
      const result = await this.reconciler.reconcile(current);
      // Keep what our own writes learnt (status, finalizers) until the watch delivers them.
      const cached = this.cache.get(key);
      const ownVersions = this.cache.takeOwnWrites(key);
      if (cached) {
        const next = afterRun({ cached, run: current, seenVersion, ownVersions });
        if (next !== cached) this.cache.set(key, next);
      }
      if (!this.cache.has(key)) return;
      if (result.kind === 'requeue') {
        this.queue.forget(key);
        this.queue.addAfter(key, result.afterMs);
      } else if (result.kind === 'backoff') {
        this.queue.addRateLimited(key, { baseMs: result.baseMs, maxMs: result.maxMs });
      } else {
        this.queue.forget(key);
      }
    } catch (err) {
      this.logger.error({ gitsource: key, err: String(err) }, 'reconcile crashed');
      this.queue.addRateLimited(key, { baseMs: 1000, maxMs: 60_000 });
    }
  }

  async stop(): Promise<boolean> {
    this.abort.abort();
    this.drift.stop();
    this.states.supersedeAll('shutting down');
    return this.queue.shutdown(this.opts.shutdownGraceMs);
  }
}

// One GitSource from Git to the cluster: `reconcile` reads as its named steps, each delegated to a
// stage (through ReconcileSteps); the decisions are pure functions (decide.ts, report/).
import type { Logger } from 'pino';
import {
  ANNOTATION_REQUESTED_AT,
  DeadlineExceeded,
  ConvergeError,
  Superseded,
  asConvergeError,
  describeRef,
  inventoryEntries,
  objectId,
  parseSpec,
  refOf,
  type GitSource,
  type GitSourceSpec,
  type GitSourceStatus,
  type InventoryEntry,
} from '../api/index.ts';
import { summarize } from '../plan/index.ts';
import { inventoryOf } from '../prune/index.ts';
import {
  appliedStatus,
  classifyFailure,
  failedStatus,
  findCondition,
  progressingStatus,
  suspendedStatus,
  type StatusContext,
  type Step,
} from '../report/index.ts';
import type { Metrics } from '../server/index.ts';
import {
  sourceOf,
  type FetchedRevision,
  type ResolvedRevision,
  type SourceRequest,
} from '../source/index.ts';
import { cacheKeyFor } from './shared-cache.ts';
import {
  Deadline,
  choosePass,
  isForced,
  jitter,
  renderDigest,
  renderUnchanged,
  timingOf,
  type Timing,
} from './decide.ts';
import type { SourceState, SourceStateStore } from './state.ts';
import type { Plan, ReconcileSteps, StepContext } from './steps.ts';
import type { GitSourceWriter, TransitionExtras } from './writer.ts';
import type { DriftTracker } from './drift.ts';
import { classifyObjects, type SyncPlan, type Wave } from '../hooks/index.ts';
import type { ObjectHealth } from '../health/index.ts';
import { hookRecordFor, stallsRevision, waitingMessage, type HookContext, type WaveOptions } from './sync.ts';

export interface ReconcilerDeps {
  steps: ReconcileSteps;
  writer: GitSourceWriter;
  states: SourceStateStore;
  /** Watches applied kinds for hand edits, and says whether it can. */
  drift: DriftTracker;
  metrics: Metrics;
  logger: Logger;
  /** Looks a GitSource up (for dependsOn): the controller's cache, or a GET. */
  getGitSource: (namespace: string, name: string) => Promise<GitSource | undefined>;
  /** Wall clock for status times (default: now). */
  now?: () => Date;
  /** Monotonic milliseconds for deadlines and durations (default: performance.now). */
  monotonic?: () => number;
  random?: () => number;
}

export type ReconcileResult =
  | { kind: 'requeue'; afterMs: number }
  | { kind: 'backoff'; baseMs: number; maxMs: number }
  | { kind: 'done' };

/** One reconcile in flight: what every step needs, and which step is running. */
interface Run extends StepContext {
  key: string;
  abortController: AbortController;
  deadlineTimer: NodeJS.Timeout;
  state: SourceState;
  timing: Timing;
  log: Logger;
  requestedAt: string | undefined;
  started: number;
  step: Step;
  /** The revision being worked on, once known (for failure status). */
  revision?: string | undefined;
  /** Its commit, once fetched (a revision that cannot succeed stalls at this commit). */
  commit?: string | undefined;
  /** Its hooks and their record, once rendered (SyncFail hooks run on failure). */
  sync?: SyncPlan | undefined;
  hooks?: HookContext | undefined;
}

/** An ls-remote of a shared cache younger than this fraction of a source's interval answers its poll. */
const SHARED_POLL_FRACTION = 0.85;

export const keyOf = (gs: GitSource): string => `${gs.metadata.namespace}/${gs.metadata.name}`;

export class Reconciler {
  private readonly now: () => Date;
  private readonly monotonic: () => number;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.monotonic = deps.monotonic ?? (() => performance.now());
  }

  /** The GitSource is gone: stop its work and drop its memory and git cache. */
  forget(gs: GitSource): void {
    this.deps.states.forget(keyOf(gs));
    this.deps.steps.forgetSource(gs.metadata.uid).catch((err: unknown) => {
      this.deps.logger.warn({ gitsource: keyOf(gs), err: String(err) }, 'could not remove the git cache');
    });
  }

  async reconcile(gs: GitSource): Promise<ReconcileResult> {
    if (gs.metadata.deletionTimestamp) return this.finalize(gs);
    const parsed = parseSpec(gs.spec);
    if (!parsed.ok) return this.rejectSpec(gs, parsed.error);
    const spec = parsed.spec;
    if (spec.suspend) {
      await this.deps.writer.writeStatus(gs, suspendedStatus(this.statusContext(gs)));
      return { kind: 'done' };
    }
    // Only deletionPolicy: Delete has work to do at deletion. Orphan needs no finalizer, so such a
    // GitSource never hangs in Terminating when the operator is gone, and costs one write less.
    if (spec.deletionPolicy === 'Delete') await this.deps.writer.addFinalizer(gs);

    const run = this.begin(gs, spec);
    try {
      run.step = 'dependencies';
      const blocked = await this.checkDependencies(gs, spec);
      if (blocked) return await this.waitForDependency(run, blocked);

      run.step = 'credentials';
      const request = await this.sourceRequest(run);

      // Until this process has applied something there is nothing to compare with: go straight to
      // the fetch, which then needs no separate ls-remote.
      run.step = 'resolve';
      const resolved =
        run.state.appliedCommit !== undefined || run.state.stalledCommit !== undefined
          ? await this.deps.steps.resolve(this.bounded(run, request))
          : undefined;
      run.revision = resolved?.revision;

      const pass = choosePass({
        appliedCommit: run.state.appliedCommit,
        appliedGeneration: run.state.appliedGeneration,
        hasDesired: run.state.desired !== undefined,
        driftedCount: run.state.drifted.size,
        driftWatched: run.state.driftWatched ?? true,
        resolved,
        generation: gs.metadata.generation,
        lastAppliedRevision: gs.status?.lastAppliedRevision,
        forced: isForced(run.requestedAt, gs.status?.lastHandledReconcileAt),
        stalledCommit: run.state.stalledCommit,
        stalledGeneration: run.state.stalledGeneration,
        notReady: findCondition(gs.status?.conditions, 'Ready')?.status !== 'True',
      });
      if (pass === 'noop') {
        // One ls-remote, no dry-runs, no writes.
        this.deps.metrics.reconcileTotal.inc({ result: 'noop' });
      } else if (pass === 'drift' || pass === 'resync') {
        await this.correctDrift(run, resolved!.revision, pass === 'resync');
      } else {
        await this.fullPass(run, request, resolved);
      }
      return { kind: 'requeue', afterMs: this.jitter(run.timing.intervalMs) };
    } catch (err) {
      return await this.fail(run, err);
    } finally {
      clearTimeout(run.deadlineTimer);
      this.deps.states.endRun(run.key, run.abortController);
    }
  }

  /** fetch → render → plan → pre hooks → apply (wave by wave) → prune → wait → post hooks → report. */
  private async fullPass(
    run: Run,
    request: SourceRequest,
    resolved: ResolvedRevision | undefined,
  ): Promise<void> {
    const { steps } = this.deps;
    const driftedBefore = run.state.drifted.size + run.state.reportedDrift.size;
    run.state.drifted.clear();
    run.step = 'fetch';
    const fetched = await steps.fetch(this.bounded(run, request), resolved);
    run.revision = fetched.revision;
    run.commit = fetched.commit;
    run.step = 'render';
    let desired;
    try {
      desired = await steps.render(run, fetched);
    } finally {
      // The checkout may be shared with other GitSources: the render was its last reader here.
      fetched.release();
    }
    const digest = renderDigest(desired);
    if (
      renderUnchanged({
        digest,
        appliedDigest: run.state.renderDigest,
        appliedGeneration: run.state.appliedGeneration,
        generation: run.gs.metadata.generation,
        hasDesired: run.state.desired !== undefined,
        driftedCount: driftedBefore,
        driftWatched: run.state.driftWatched ?? false,
        forced: isForced(run.requestedAt, run.gs.status?.lastHandledReconcileAt),
        notReady: findCondition(run.gs.status?.conditions, 'Ready')?.status !== 'True',
      })
    )
      return this.reportUnchangedRender(run, fetched);
    // Helm and Argo CD hooks run around the revision: never planned, inventoried or pruned.
    const sync = classifyObjects(desired, { install: !run.gs.status?.lastAppliedRevision });
    run.sync = sync;
    run.step = 'plan';
    const plan = await steps.plan(run, sync.managed);
    if (run.spec.drift === 'Report' && this.isApplied(run.gs, fetched.revision)) {
      // Nothing new from Git (a restart, a resync): under drift: Report what differs is drift to report, not to fix.
      return this.reportOnly(run, plan, fetched);
    }
    const hooks = this.hookContext(run, fetched.revision);
    run.hooks = hooks;
    run.step = 'hooks';
    await steps.hooks(hooks, 'pre', sync.hooks.pre);
    run.step = 'apply';
    // The drift watch compares what it sees with this set from now on: our own writes, which come
    // back through the watch during the apply, then match and cost nothing.
    run.state.desired = plan.desired;
    await this.apply(run, plan, fetched.revision, {
      syncHooks: sync.hooks.sync,
      hooks,
      betweenWaves: (wave) => this.waitForWave(run, plan, wave, fetched.revision),
    });
    run.step = 'prune';
    const pruned = await steps.prune(run, plan);
    const detection = await this.deps.drift.track(run.key, plan.desired);
    run.step = 'wait';
    const health = run.spec.wait ? await this.wait(run, plan, pruned, request, fetched) : undefined;
    run.step = 'hooks';
    await steps.hooks(hooks, 'post', sync.hooks.post);
    run.step = 'report';
    this.remember(run, fetched, plan, detection);
    run.state.renderDigest = digest;
    run.state.reportedDrift.clear();
    await this.reportApplied(run, plan, fetched.revision, pruned, health, detection);
  }

  /**
   * The new commit renders what is applied: status moves to it, no object is planned or written.
   * The objects, inventory and health are those of the pass that applied them.
   */
  private async reportUnchangedRender(run: Run, fetched: FetchedRevision): Promise<void> {
    run.step = 'report';
    const { gs, state } = run;
    state.appliedCommit = fetched.commit;
    // issue 17: status.inventory is grouped now; inventoryEntries reads both forms.
    const inventory = gs.status?.inventory ? inventoryEntries(gs.status) : inventoryOf(state.desired ?? []);
    const durationMs = this.monotonic() - run.started;
    await this.deps.writer.writeStatus(
      gs,
      appliedStatus(this.statusContext(gs, run.requestedAt), {
        revision: fetched.revision,
        summary: {
          objects: inventory.length,
          created: 0,
          configured: 0,
          unchanged: inventory.length,
          pruned: 0,
          drifted: 0,
        },
        changes: [],
        inventory,
        durationMs,
        healthMessage: 'the rendered objects are unchanged',
        driftDetection: gs.status?.driftDetection,
      }),
    );
    this.deps.metrics.reconcileTotal.inc({ result: 'unchanged' });
    this.deps.metrics.reconcileDuration.observe({ result: 'success' }, durationMs / 1000);
    run.log.info({ revision: fetched.revision, ms: Math.round(durationMs) }, 'render unchanged: in sync');
  }

  /** The revision and spec generation that status says are applied already. */
  private isApplied(gs: GitSource, revision: string): boolean {
    return (
      gs.status?.lastAppliedRevision === revision && gs.status.observedGeneration === gs.metadata.generation
    );
  }

  private remember(run: Run, fetched: FetchedRevision, plan: Plan, detection: 'Watch' | 'Interval'): void {
    run.state.appliedCommit = fetched.commit;
    run.state.appliedGeneration = run.gs.metadata.generation;
    run.state.desired = plan.desired;
    run.state.driftWatched = detection === 'Watch';
    run.state.stalledCommit = undefined;
  }

  /** This revision's hook record; hook progress is written to status, so a restart never repeats a hook. */
  private hookContext(run: Run, revision: string): HookContext {
    return {
      client: run.client,
      owner: { name: run.gs.metadata.name, namespace: run.gs.metadata.namespace },
      record: hookRecordFor(run.gs.status, revision),
      signal: run.signal,
      progress: (step, record) =>
        this.deps.writer.writeStatus(
          run.gs,
          progressingStatus(
            { ...this.statusContext(run.gs, run.requestedAt), hooks: record },
            { revision, step },
          ),
        ),
    };
  }

  /** wait: true with sync waves: a wave is healthy before the next one is applied. */
  private async waitForWave(run: Run, plan: Plan, wave: Wave, revision: string): Promise<void> {
    if (!run.spec.wait || wave.changeSet.objects.length === 0) return;
    run.step = 'wait';
    await this.deps.writer.writeStatus(
      run.gs,
      progressingStatus(this.statusContext(run.gs, run.requestedAt), {
        revision,
        step: `Applied sync wave ${wave.wave}; waiting for its ${wave.changeSet.objects.length} object(s) to become healthy`,
      }),
    );
    try {
      await this.deps.steps.wait(
        run,
        { ...plan, changeSet: wave.changeSet },
        { onProgress: this.progress(run, revision) },
      );
    } catch (err) {
      const e = asConvergeError(err, 'HealthCheckFailed');
      if (e.reason !== 'HealthCheckFailed') throw err;
      throw new ConvergeError(e.reason, `sync wave ${wave.wave}: ${e.message}`, { cause: err });
    }
    run.step = 'apply';
  }

  /** While waiting, the Reconciling message counts only the objects still unhealthy. */
  private progress(run: Run, revision: string) {
    return (pending: readonly ObjectHealth[], total: number) =>
      this.deps.writer.writeStatus(
        run.gs,
        progressingStatus(this.statusContext(run.gs, run.requestedAt), {
          revision,
          step: waitingMessage(pending, total),
        }),
      );
  }

  /** drift: Report at an applied revision: record what differs, change nothing. */
  private async reportOnly(run: Run, plan: Plan, fetched: FetchedRevision): Promise<void> {
    run.step = 'report';
    const detection = await this.deps.drift.track(run.key, plan.desired);
    this.remember(run, fetched, plan, detection);
    const drifted = plan.changeSet.objects.filter((o) => o.action !== 'unchanged');
    run.state.reportedDrift = new Set(drifted.map((o) => objectId(o.ref)));
    await this.writeDriftReport(run, fetched.revision, plan, drifted.length, detection);
  }

  private async writeDriftReport(
    run: Run,
    revision: string,
    plan: Plan,
    drifted: number,
    detection?: 'Watch' | 'Interval',
  ): Promise<void> {
    const { gs } = run;
    const summary = {
      ...(gs.status?.summary ?? { objects: 0, created: 0, configured: 0, unchanged: 0, pruned: 0 }),
      drifted,
    };
    await this.deps.writer.writeStatus(
      gs,
      appliedStatus(this.statusContext(gs, run.requestedAt), {
        revision,
        summary,
        changes: drifted ? plan.changeLines : (gs.status?.changes ?? []),
        // issue 17: status.inventory is grouped now; inventoryEntries reads both forms.
        inventory: gs.status?.inventory ? inventoryEntries(gs.status) : inventoryOf(plan.desired),
        durationMs: this.monotonic() - run.started,
        driftDetection: detection,
        drifted: drifted
          ? { message: `${drifted} object(s) drifted: ${plan.changeLines.join('; ')}` }
          : undefined,
      }),
    );
    if (drifted) run.log.info({ drifted }, 'drift reported');
  }

  /**
   * Records intent, then applies. When the plan creates objects, the inventory written with the
   * progress status already holds them, so a crash mid-apply leaves no object that a later prune
   * cannot find.
   */
  private async apply(run: Run, plan: Plan, revision: string, waves: WaveOptions): Promise<void> {
    if (plan.hasChanges) {
      const before = inventoryEntries(run.gs.status); // issue 17: reads both inventory forms
      const intended = unionInventory(before, inventoryOf(plan.desired));
      await this.deps.writer.writeStatus(
        run.gs,
        progressingStatus(this.statusContext(run.gs, run.requestedAt), {
          revision,
          step: `Applying ${plan.divergedMessage}`,
          diverged: { reason: 'Pending', message: plan.divergedMessage },
          ...(intended.length !== before.length ? { inventory: intended } : {}),
        }),
      );
    }
    await this.deps.steps.apply(run, plan, waves);
  }

  /**
   * Records what is applied, then waits for health. A wait that fails or is superseded must not lose
   * track of objects it created, or they could never be pruned. A new commit meanwhile cancels the
   * wait rather than waiting it out.
   */
  private async wait(
    run: Run,
    plan: Plan,
    pruned: string[],
    request: SourceRequest,
    fetched: FetchedRevision,
  ): Promise<string> {
    await this.deps.writer.writeStatus(
      run.gs,
      progressingStatus(this.statusContext(run.gs, run.requestedAt), {
        revision: fetched.revision,
        step: `Applied; waiting for ${plan.changeSet.objects.length} object(s) to become healthy`,
        applied: { inventory: inventoryOf(plan.desired) },
      }),
      { pruned },
    );
    const watcher = this.watchForNewCommit(run, request, fetched);
    try {
      return await this.deps.steps.wait(run, plan, { onProgress: this.progress(run, fetched.revision) });
    } finally {
      clearInterval(watcher);
    }
  }

  private async reportApplied(
    run: Run,
    plan: Plan,
    revision: string,
    pruned: string[],
    healthMessage: string | undefined,
    driftDetection: 'Watch' | 'Interval',
  ): Promise<void> {
    // With a health wait, the Pruned event went out with the inventory written before the wait.
    const prunedEvents = run.spec.wait ? [] : pruned;
    const durationMs = this.monotonic() - run.started;
    const summary = { ...summarize(plan.changeSet), pruned: pruned.length, drifted: 0 };
    await this.deps.writer.writeStatus(
      run.gs,
      appliedStatus(this.statusContext(run.gs, run.requestedAt), {
        revision,
        summary,
        changes: plan.changeLines,
        inventory: inventoryOf(plan.desired),
        durationMs,
        healthMessage,
        driftDetection,
      }),
      { pruned: prunedEvents },
    );
    this.deps.metrics.reconcileTotal.inc({ result: plan.hasChanges ? 'applied' : 'unchanged' });
    this.deps.metrics.reconcileDuration.observe({ result: 'success' }, durationMs / 1000);
    run.log.info(
      { revision, ...summary, ms: Math.round(durationMs) },
      plan.hasChanges ? 'applied' : 'in sync',
    );
  }

  /**
   * Re-plans the objects someone else touched (or, with `all`, every object: some kind is not
   * watched); corrects them, or under drift: Report reports them until they match Git again.
   */
  private async correctDrift(run: Run, revision: string, all: boolean): Promise<void> {
    const { gs, spec, state } = run;
    const report = spec.drift === 'Report';
    const ids = new Set([...state.drifted, ...(report ? state.reportedDrift : [])]);
    state.drifted.clear();
    const touched = (state.desired ?? []).filter((o) => all || ids.has(objectId(refOf(o))));
    if (touched.length === 0) return;
    run.step = 'plan';
    const plan = await this.deps.steps.plan(run, touched, { withInventory: false });
    const drifted = plan.changeSet.objects.filter((o) => o.action !== 'unchanged');
    if (report) {
      // Reported drift is remembered per object: an unrelated edit or a no-op pass never clears it.
      const still = new Set(drifted.map((o) => objectId(o.ref)));
      if (!all) for (const id of state.reportedDrift) if (!ids.has(id)) still.add(id);
      const before = state.reportedDrift.size;
      state.reportedDrift = still;
      if (
        still.size === 0 &&
        before === 0 &&
        findCondition(gs.status?.conditions, 'Diverged')?.reason !== 'Drifted'
      )
        return;
      run.step = 'report';
      await this.writeDriftReport(run, revision, plan, still.size);
      return;
    }
    if (drifted.length === 0 && findCondition(gs.status?.conditions, 'Diverged')?.reason !== 'Drifted')
      return;
    run.step = 'apply';
    if (drifted.length > 0) await this.deps.steps.apply(run, plan);
    const corrected = drifted.map((o) => describeRef(o.ref));
    if (corrected.length)
      this.deps.metrics.driftCorrections.inc({ namespace: gs.metadata.namespace }, corrected.length);
    run.step = 'report';
    const summary = {
      ...(gs.status?.summary ?? { objects: 0, created: 0, configured: 0, unchanged: 0, pruned: 0 }),
      drifted: 0,
    };
    await this.deps.writer.writeStatus(
      gs,
      appliedStatus(this.statusContext(gs, run.requestedAt), {
        revision,
        summary,
        changes: corrected.length
          ? plan.changeLines.map((l) => `${l} (drift corrected)`)
          : (gs.status?.changes ?? []),
        inventory: inventoryEntries(gs.status), // issue 17: reads both inventory forms
        durationMs: this.monotonic() - run.started,
      }),
      { driftCorrected: corrected },
    );
    if (corrected.length) run.log.info({ corrected }, 'drift corrected');
  }

  /** Maps the failure to conditions on the copy just written (never an older cached one). */
  private async fail(run: Run, err: unknown): Promise<ReconcileResult> {
    const reason: unknown = run.signal.aborted ? run.signal.reason : undefined;
    // A new commit, spec or deletion replaced this run: start over at once with the new one.
    if (reason instanceof Superseded) return { kind: 'requeue', afterMs: 0 };
    const failure = classifyFailure(err, run.step, reason);
    if (run.sync && run.hooks && run.sync.hooks.fail.length > 0) {
      // Argo CD SyncFail hooks; a pass that ran out of time gives them a budget of their own.
      const budget = AbortSignal.timeout(Math.max(run.timing.timeoutMs, 30_000));
      try {
        await this.deps.steps.hooks({ ...run.hooks, signal: budget }, 'fail', run.sync.hooks.fail);
      } catch (hookErr) {
        failure.message += `; sync-fail hooks failed too: ${hookErr instanceof Error ? hookErr.message : String(hookErr)}`;
      }
    }
    // A failure this commit will always hit (not a timeout): Stalled, no retries until Git or the spec moves.
    if (!failure.stalled && !(reason instanceof DeadlineExceeded) && stallsRevision(failure.reason, err)) {
      failure.stalled = true;
      if (run.commit !== undefined) {
        run.state.stalledCommit = run.commit;
        run.state.stalledGeneration = run.gs.metadata.generation;
      }
    }
    const durationMs = this.monotonic() - run.started;
    run.log.warn({ step: run.step, reason: failure.reason, err: failure.message }, 'reconcile failed');
    await this.deps.writer.writeStatus(
      run.gs,
      failedStatus(
        { ...this.statusContext(run.gs, run.requestedAt), hooks: run.hooks?.record },
        {
          ...failure,
          revision: run.revision,
          durationMs,
        },
      ),
    );
    this.deps.metrics.reconcileTotal.inc({ result: 'failed' });
    this.deps.metrics.reconcileDuration.observe({ result: 'failure' }, durationMs / 1000);
    // Stalled sources wait for a user change, but a fixed secret or RBAC rule has no event: look again each interval.
    if (failure.stalled) return { kind: 'requeue', afterMs: this.jitter(run.timing.intervalMs) };
    return { kind: 'backoff', baseMs: run.timing.retryMs, maxMs: run.timing.intervalMs };
  }

  private async waitForDependency(run: Run, blocked: string): Promise<ReconcileResult> {
    await this.deps.writer.writeStatus(
      run.gs,
      failedStatus(this.statusContext(run.gs), {
        reason: 'DependencyNotReady',
        message: blocked,
        stalled: false,
        converged: 'keep',
      }),
    );
    return { kind: 'requeue', afterMs: run.timing.retryMs };
  }

  private async rejectSpec(gs: GitSource, message: string): Promise<ReconcileResult> {
    await this.deps.writer.writeStatus(
      gs,
      failedStatus(this.statusContext(gs), { reason: 'InvalidSpec', message, stalled: true }),
    );
    this.deps.metrics.reconcileTotal.inc({ result: 'invalid' });
    return { kind: 'done' };
  }

  private async finalize(gs: GitSource): Promise<ReconcileResult> {
    const key = keyOf(gs);
    this.deps.states.supersede(key, 'the GitSource is being deleted');
    const parsed = parseSpec(gs.spec);
    if (parsed.ok && parsed.spec.deletionPolicy === 'Delete' && gs.metadata.finalizers?.length) {
      const ctx: StepContext = {
        gs,
        spec: parsed.spec,
        client: this.deps.steps.clientFor(gs, parsed.spec),
        signal: new AbortController().signal,
        remainingMs: () => timingOf(parsed.spec).timeoutMs,
      };
      // issue 17: reads both inventory forms.
      const pruned = await this.deps.steps.deleteInventory(ctx, inventoryEntries(gs.status));
      this.deps.logger.info(
        { gitsource: key, pruned: pruned.length },
        'deleted inventory (deletionPolicy: Delete)',
      );
      if (pruned.length)
        await this.deps.writer.recordEvents(gs, [
          { type: 'Normal', reason: 'Pruned', note: `Pruned ${pruned.join(', ')}` },
        ]);
    }
    await this.deps.steps.forgetSource(gs.metadata.uid);
    await this.deps.writer.removeFinalizer(gs);
    this.deps.states.forget(key);
    return { kind: 'done' };
  }

  /** Starts a run: cancels the previous one, arms the deadline. */
  private begin(gs: GitSource, spec: GitSourceSpec): Run {
    const key = keyOf(gs);
    const timing = timingOf(spec);
    const abortController = this.deps.states.beginRun(key);
    const deadline = new Deadline(timing.timeoutMs, this.monotonic);
    const timer = setTimeout(
      () => abortController.abort(new DeadlineExceeded(timing.timeout)),
      timing.timeoutMs,
    );
    timer.unref();
    return {
      key,
      gs,
      spec,
      client: this.deps.steps.clientFor(gs, spec),
      signal: abortController.signal,
      remainingMs: () => deadline.remaining(),
      abortController,
      deadlineTimer: timer,
      state: this.deps.states.get(key),
      timing,
      log: this.deps.logger.child({ gitsource: key }),
      requestedAt: gs.metadata.annotations?.[ANNOTATION_REQUESTED_AT],
      started: this.monotonic(),
      step: 'dependencies',
    };
  }

  private async sourceRequest(run: Run): Promise<SourceRequest> {
    const { secret, gitSecret } = await this.deps.steps.credentials(run.gs, run.spec);
    const { gs, spec } = run;
    const forced = isForced(run.requestedAt, gs.status?.lastHandledReconcileAt);
    return {
      // GitSources of one repository, ref and Secret share a cache, an ls-remote and each fetch.
      key: cacheKeyFor(gs.metadata.namespace, spec),
      owner: gs.metadata.uid,
      source: sourceOf(spec),
      secret,
      gitSecret,
      timeoutMs: run.timing.timeoutMs,
      // Another GitSource's ls-remote counts as this poll if it came since this source's last one
      // (polls are ≥ 0.9 interval apart); a requested reconcile always asks the remote.
      maxAgeMs: forced ? 0 : Math.floor(run.timing.intervalMs * SHARED_POLL_FRACTION),
    };
  }

  /** The request with the time left before the deadline, so git is killed when it runs out. */
  private bounded(run: Run, request: SourceRequest): SourceRequest {
    return { ...request, timeoutMs: run.remainingMs() };
  }

  private watchForNewCommit(run: Run, request: SourceRequest, fetched: FetchedRevision): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        this.deps.steps
          .resolve({ ...this.bounded(run, request), maxAgeMs: Math.min(run.timing.intervalMs, 10_000) / 2 })
          .then((r) => {
            if (r.commit !== fetched.commit)
              run.abortController.abort(new Superseded(`new commit ${r.revision}`));
          })
          .catch(() => {});
      },
      Math.min(run.timing.intervalMs, 10_000),
    );
    timer.unref();
    return timer;
  }

  private async checkDependencies(gs: GitSource, spec: GitSourceSpec): Promise<string | undefined> {
    for (const dep of spec.dependsOn ?? []) {
      const ns = dep.namespace ?? gs.metadata.namespace;
      const other = await this.deps.getGitSource(ns, dep.name);
      if (!other) return `dependency ${ns}/${dep.name} not found`;
      const ready = findCondition(other.status?.conditions, 'Ready');
      const atLatest =
        other.status?.lastAppliedRevision !== undefined &&
        other.status.lastAppliedRevision === other.status.revision &&
        other.status.observedGeneration === other.metadata.generation;
      if (ready?.status !== 'True' || !atLatest) return `dependency ${ns}/${dep.name} is not ready`;
    }
    return undefined;
  }

  private statusContext(gs: GitSource, requestedAt?: string): StatusContext {
    return {
      old: gs.status,
      generation: gs.metadata.generation,
      now: this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      requestedAt,
    };
  }

  private jitter(ms: number): number {
    return jitter(ms, this.deps.random);
  }
}

/** The previous inventory plus what is about to be written, without duplicates, in id order. */
export function unionInventory(before: InventoryEntry[], next: InventoryEntry[]): InventoryEntry[] {
  const byId = new Map(before.map((e) => [e.id, e]));
  for (const e of next) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export type { GitSourceStatus, TransitionExtras };

// One GitSource from Git to the cluster: the named steps of a reconcile, each delegated to its stage.
import type { Logger } from 'pino';
import {
  ANNOTATION_REQUESTED_AT,
  ConvergeError,
  FINALIZER,
  asConvergeError,
  describeRef,
  parseDuration,
  parseSpec,
  type GitSource,
  type GitSourceSpec,
  type GitSourceStatus,
  type KubeObject,
} from '../api/index.ts';
import { ApiError, type KubeClient } from '../kube/index.ts';
import {
  appliedStatus,
  failedStatus,
  findCondition,
  progressingStatus,
  sameStatus,
  suspendedStatus,
  transitionEvents,
  type EventRecorder,
  type StatusContext,
} from '../report/index.ts';
import type { Metrics } from '../server/index.ts';
import {
  credentialsFromSecret,
  type GitCredentials,
  type GitSource as SourceFetcher,
  type ResolvedRevision,
} from '../source/index.ts';
import { renderManifests } from '../render/index.ts';
import { classifyObjects, type SyncPlan } from '../hooks/index.ts';
import type { ClientTools } from '../localcluster/tools.ts';
import { applyDesired, deleteInventory, planDesired, waitUntilHealthy, type PlanOutcome } from './engine.ts';
import { gitSourcePath, gitSourceRef } from './paths.ts';
import {
  hookRecordFor,
  runFailHooks,
  runHookPhase,
  stallsRevision,
  timeoutError,
  waitForWave,
  waitingMessage,
  type HookContext,
  type ReconcileStep,
} from './sync.ts';

/** What the controller remembers of a GitSource between reconciles (lost on restart, by design). */
export interface SourceState {
  /** The commit and generation last applied successfully by this process. */
  appliedCommit?: string;
  appliedGeneration?: number;
  /** Desired objects of the last applied revision, with ownership labels: the baseline for drift checks. */
  desired?: KubeObject[];
  /** Inventory ids someone else touched since: re-planned on the next pass. */
  drifted: Set<string>;
  /** Cancels an in-flight reconcile (e.g. a health wait) when the spec or revision moves on. */
  abort?: AbortController;
  /** A commit and generation that failed in a way only a new commit or spec change can fix (Stalled). */
  stalledCommit?: string;
  stalledGeneration?: number;
}

export interface ReconcilerDeps {
  client: KubeClient;
  source: SourceFetcher;
  tools: ClientTools;
  events: EventRecorder;
  metrics: Metrics;
  logger: Logger;
  now?: () => Date;
  /** Looks a GitSource up (for dependsOn): the controller's cache, or a GET. */
  getGitSource: (namespace: string, name: string) => Promise<GitSource | undefined>;
}

export type ReconcileResult =
  | { kind: 'requeue'; afterMs: number }
  | { kind: 'backoff'; baseMs: number; maxMs: number }
  | { kind: 'done' };

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_RETRY_MS = 15_000;

export class Reconciler {
  readonly states = new Map<string, SourceState>();
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** The GitSource is gone: stop its work and drop its memory and git cache. */
  forget(gs: GitSource): void {
    const key = `${gs.metadata.namespace}/${gs.metadata.name}`;
    this.states.get(key)?.abort?.abort(new Error('superseded'));
    this.states.delete(key);
    this.deps.source.forget(gs.metadata.uid).catch((err: unknown) => {
      this.deps.logger.warn({ gitsource: key, err: String(err) }, 'could not remove the git cache');
    });
  }

  state(key: string): SourceState {
    let s = this.states.get(key);
    if (!s) {
      s = { drifted: new Set() };
      this.states.set(key, s);
    }
    return s;
  }

  async reconcile(gs: GitSource): Promise<ReconcileResult> {
    const key = `${gs.metadata.namespace}/${gs.metadata.name}`;
    const log = this.deps.logger.child({ gitsource: key });
    const started = performance.now();
    const state = this.state(key);

    if (gs.metadata.deletionTimestamp) {
      await this.finalize(gs, log);
      return { kind: 'done' };
    }
    const parsed = parseSpec(gs.spec);
    if (!parsed.ok) {
      await this.writeStatus(
        gs,
        failedStatus(this.ctx(gs), { reason: 'InvalidSpec', message: parsed.error, stalled: true }),
      );
      this.deps.metrics.reconcileTotal.inc({ result: 'invalid' });
      return { kind: 'done' };
    }
    const spec = parsed.spec;
    const intervalMs = parseDuration(spec.interval);
    const retryMs = Math.min(
      intervalMs,
      spec.retryInterval ? parseDuration(spec.retryInterval) : DEFAULT_RETRY_MS,
    );
    const timeoutMs = spec.timeout ? parseDuration(spec.timeout) : DEFAULT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;

    if (spec.suspend) {
      await this.writeStatus(gs, suspendedStatus(this.ctx(gs)));
      return { kind: 'done' };
    }
    // Only deletionPolicy: Delete has work to do at deletion. Orphan needs no finalizer, so such a
    // GitSource never hangs in Terminating when the operator is gone, and costs one write less.
    if (spec.deletionPolicy === 'Delete' && !gs.metadata.finalizers?.includes(FINALIZER))
      await this.addFinalizer(gs);

    state.abort?.abort(new Error('superseded'));
    const abort = new AbortController();
    state.abort = abort;
    const timer = setTimeout(
      () => abort.abort(new ConvergeError('Timeout', `reconcile exceeded timeout ${spec.timeout ?? '2m'}`)),
      timeoutMs,
    );
    timer.unref();
    const signal = abort.signal;
    let revision: string | undefined;
    const requestedAt = gs.metadata.annotations?.[ANNOTATION_REQUESTED_AT];
    // issue 10: which step runs (a timeout names it), the hooks of this revision and their record.
    let step: ReconcileStep = 'fetch';
    let sync: SyncPlan | undefined;
    let hooks: HookContext | undefined;
    let commit: string | undefined;
    try {
      const blocked = await this.dependencyBlock(gs, spec);
      if (blocked) {
        await this.writeStatus(
          gs,
          failedStatus(this.ctx(gs), {
            reason: 'DependencyNotReady',
            message: blocked,
            stalled: false,
            converged: 'keep',
          }),
        );
        return { kind: 'requeue', afterMs: retryMs };
      }
      const credentials = await this.credentials(gs, spec);
      const client = this.clientFor(gs, spec);
      const request = { key: gs.metadata.uid, url: spec.url, ref: spec.ref, credentials, timeoutMs };
      const forced = requestedAt !== undefined && requestedAt !== gs.status?.lastHandledReconcileAt;

      // Until this process has applied something there is nothing to compare with: go straight to
      // the fetch, which then needs no separate ls-remote.
      let resolved: ResolvedRevision | undefined;
      if (state.appliedCommit !== undefined || state.stalledCommit !== undefined) {
        const lsStart = performance.now();
        resolved = await this.deps.source.resolveRevision(request);
        this.deps.metrics.gitFetchDuration.observe(
          { operation: 'ls-remote' },
          (performance.now() - lsStart) / 1000,
        );
        revision = resolved.revision;
        if (
          state.stalledCommit === resolved.commit &&
          state.stalledGeneration === gs.metadata.generation &&
          !forced
        ) {
          // Stalled on this commit: nothing but a new commit or spec change can help; keep polling Git.
          this.deps.metrics.reconcileTotal.inc({ result: 'noop' });
          return { kind: 'requeue', afterMs: jitter(intervalMs) };
        }
        const upToDate =
          state.appliedCommit === resolved.commit &&
          state.appliedGeneration === gs.metadata.generation &&
          gs.status?.lastAppliedRevision === revision &&
          !forced;
        if (upToDate && state.drifted.size === 0) {
          // The no-op pass: one ls-remote, no dry-runs, no writes.
          this.deps.metrics.reconcileTotal.inc({ result: 'noop' });
          return { kind: 'requeue', afterMs: jitter(intervalMs) };
        }
        if (upToDate && state.desired) {
          await this.correctDrift(gs, spec, client, state, resolved.revision, log, signal, requestedAt);
          return { kind: 'requeue', afterMs: jitter(intervalMs) };
        }
      }

      // A full pass: fetch, render, plan, apply, prune, wait, report.
      state.drifted.clear();
      const fetchStart = performance.now();
      const fetched = await this.deps.source.fetchRevision(request, resolved);
      if (fetched.fetched)
        this.deps.metrics.gitFetchDuration.observe(
          { operation: 'fetch' },
          (performance.now() - fetchStart) / 1000,
        );
      revision = fetched.revision;
      commit = fetched.commit;
      step = 'render';
      const desired = await renderManifests({
        root: fetched.dir,
        path: spec.path,
        include: spec.include,
        exclude: spec.exclude,
        substitute: spec.substitute,
        // As `kubectl apply -n` and Argo CD's destination: objects without a namespace land here.
        targetNamespace: spec.targetNamespace ?? gs.metadata.namespace,
        allowEmpty: spec.allowEmpty,
        helm: {
          values: spec.helm?.values ?? {},
          releaseName: spec.helm?.releaseName ?? gs.metadata.name,
          namespace: spec.targetNamespace ?? gs.metadata.namespace,
        },
        tools: this.deps.tools,
        signal,
      });
      // Hooks run around the revision and are never planned, inventoried or pruned.
      sync = classifyObjects(desired, { install: !gs.status?.lastAppliedRevision });
      step = 'apply';
      const plan = await planDesired(client, sync.managed, gs, spec, signal);
      if (plan.hasChanges) {
        await this.writeStatus(
          gs,
          progressingStatus(this.ctx(gs, requestedAt), {
            revision,
            step: `Applying ${plan.divergedMessage}`,
            diverged: { reason: 'Pending', message: plan.divergedMessage },
          }),
        );
      }
      const rev = revision;
      const hookCtx: HookContext = {
        client,
        owner: { name: gs.metadata.name, namespace: gs.metadata.namespace },
        record: hookRecordFor(gs.status, rev),
        signal,
        progress: (message, record) =>
          this.writeStatus(
            gs,
            progressingStatus(
              { ...this.ctx(gs, requestedAt), hooks: record },
              { revision: rev, step: message },
            ),
          ),
      };
      hooks = hookCtx;
      step = 'hooks';
      await runHookPhase(hookCtx, 'pre', sync.hooks.pre);
      step = 'apply';
      const outcome = await applyDesired(client, plan, gs, spec, {
        signal,
        syncHooks: sync.hooks.sync,
        hooks: hookCtx,
        betweenWaves: async (wave, appliedSoFar) => {
          if (!spec.wait) return;
          // Objects of applied waves join the recorded inventory at once; nothing leaves it before the prune.
          const known = new Map((gs.status?.inventory?.entries ?? []).map((e) => [e.id, e]));
          for (const o of appliedSoFar) known.set(o.id, { id: o.id, v: o.ref.version });
          await this.writeStatus(gs, {
            ...progressingStatus(this.ctx(gs, requestedAt), {
              revision: rev,
              step: `Applied sync wave ${wave.wave}; waiting for its ${wave.changeSet.objects.length} object(s) to become healthy`,
            }),
            inventory: { entries: [...known.values()] },
          });
          step = 'wait';
          await waitForWave(client, wave, {
            signal,
            timeoutMs: timeLeft(deadline),
            timeoutText: spec.timeout ?? '2m',
          });
          step = 'apply';
        },
      });
      let pruneEvents = outcome.pruned;
      if (spec.wait) {
        // Record what is applied before waiting: a wait that fails or is superseded must not lose
        // track of objects it created, or they could never be pruned.
        await this.writeStatus(
          gs,
          progressingStatus(this.ctx(gs, requestedAt), {
            revision,
            step: `Applied; waiting for ${plan.changeSet.objects.length} object(s) to become healthy`,
            applied: { inventory: outcome.inventory },
          }),
          { pruned: pruneEvents },
        );
        pruneEvents = [];
        // A health wait can be long: a new commit meanwhile cancels it rather than waiting it out.
        const watcher = this.watchForNewCommit(request, fetched.commit, abort, Math.min(intervalMs, 10_000));
        step = 'wait';
        try {
          outcome.healthMessage = await waitUntilHealthy(client, plan, {
            signal,
            // The time left before the reconcile's deadline, not the whole timeout again.
            timeoutMs: timeLeft(deadline),
            timeoutText: spec.timeout ?? '2m',
            onProgress: (pending, total) =>
              this.writeStatus(
                gs,
                progressingStatus(this.ctx(gs, requestedAt), {
                  revision: rev,
                  step: waitingMessage(pending, total),
                }),
              ),
          });
        } finally {
          clearInterval(watcher);
        }
      }
      step = 'hooks';
      await runHookPhase(hookCtx, 'post', sync.hooks.post);
      state.appliedCommit = fetched.commit;
      state.appliedGeneration = gs.metadata.generation;
      state.stalledCommit = undefined;
      state.desired = plan.desired;
      const durationMs = performance.now() - started;
      await this.writeStatus(
        gs,
        appliedStatus(this.ctx(gs, requestedAt), {
          revision,
          summary: { ...outcome.summary, drifted: 0 },
          changes: outcome.changes,
          inventory: outcome.inventory,
          durationMs,
          healthMessage: outcome.healthMessage,
        }),
        { pruned: pruneEvents },
      );
      this.deps.metrics.reconcileTotal.inc({ result: plan.hasChanges ? 'applied' : 'unchanged' });
      this.deps.metrics.reconcileDuration.observe({ result: 'success' }, durationMs / 1000);
      log.info(
        { revision, ...outcome.summary, ms: Math.round(durationMs) },
        plan.hasChanges ? 'applied' : 'in sync',
      );
      return { kind: 'requeue', afterMs: jitter(intervalMs) };
    } catch (err) {
      if (signal.aborted && signal.reason instanceof Error && signal.reason.message === 'superseded') {
        // A new commit or spec replaced this run: start over at once with the new one.
        return { kind: 'requeue', afterMs: 0 };
      }
      let e = asConvergeError(
        signal.aborted && signal.reason instanceof ConvergeError ? signal.reason : err,
        'ApplyFailed',
      );
      if (e.reason === 'Timeout') e = timeoutError(step, spec.timeout ?? '2m');
      // SyncFail hooks (Argo CD) after a failed sync; a timed-out pass gives them a fresh budget.
      if (sync && hooks && sync.hooks.fail.length > 0) {
        const failCtx = { ...hooks, signal: AbortSignal.timeout(Math.max(timeoutMs, 30_000)) };
        const extra = await runFailHooks(failCtx, sync.hooks.fail);
        if (extra) e = new ConvergeError(e.reason, e.message + extra, { cause: e });
      }
      // A failure that the same commit will always hit: Stalled, no retries until Git or the spec moves.
      const stalled = e.stalled || stallsRevision(e);
      if (stalled && !e.stalled && commit !== undefined) {
        state.stalledCommit = commit;
        state.stalledGeneration = gs.metadata.generation;
      }
      const durationMs = performance.now() - started;
      log.warn({ reason: e.reason, err: e.message }, 'reconcile failed');
      const latest = (await this.deps.getGitSource(gs.metadata.namespace, gs.metadata.name)) ?? gs;
      await this.writeStatus(
        latest,
        failedStatus(
          { ...this.ctx(latest, requestedAt), hooks: hooks?.record },
          {
            reason: e.reason,
            message: e.message,
            stalled,
            revision,
            durationMs,
            converged: ['FetchFailed', 'AuthenticationFailed', 'RefNotFound', 'MissingSecret'].includes(
              e.reason,
            )
              ? 'keep'
              : 'false',
          },
        ),
      );
      this.deps.metrics.reconcileTotal.inc({ result: 'failed' });
      this.deps.metrics.reconcileDuration.observe({ result: 'failure' }, durationMs / 1000);
      // Stalled sources wait for a user change, but a fixed secret or RBAC rule has no event: look again each interval.
      if (stalled) return { kind: 'requeue', afterMs: jitter(intervalMs) };
      return { kind: 'backoff', baseMs: retryMs, maxMs: intervalMs };
    } finally {
      clearTimeout(timer);
      if (state.abort === abort) state.abort = undefined;
    }
  }

  private watchForNewCommit(
    request: Parameters<SourceFetcher['resolveRevision']>[0],
    commit: string,
    abort: AbortController,
    everyMs: number,
  ): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.deps.source
        .resolveRevision(request)
        .then((r) => {
          if (r.commit !== commit) abort.abort(new Error('superseded'));
        })
        .catch(() => {});
    }, everyMs);
    timer.unref();
    return timer;
  }

  /** Re-plans only the objects someone else touched; corrects them or reports them. */
  private async correctDrift(
    gs: GitSource,
    spec: GitSourceSpec,
    client: KubeClient,
    state: SourceState,
    revision: string,
    log: Logger,
    signal: AbortSignal,
    requestedAt: string | undefined,
  ): Promise<void> {
    const ids = new Set(state.drifted);
    state.drifted.clear();
    const touched = (state.desired ?? []).filter((o) => ids.has(objectIdOf(o)));
    if (touched.length === 0) return;
    const started = performance.now();
    const plan = await planDesired(client, touched, gs, spec, signal, { withInventory: false });
    const drifted = plan.changeSet.objects.filter((o) => o.action !== 'unchanged');
    if (drifted.length === 0) {
      // Status may still say Drifted from an earlier report that has since been undone by hand.
      if (findCondition(gs.status?.conditions, 'Diverged')?.reason !== 'Drifted') return;
    }
    const inventory = gs.status?.inventory?.entries ?? [];
    const summary = {
      ...(gs.status?.summary ?? { objects: 0, created: 0, configured: 0, unchanged: 0, pruned: 0 }),
    };
    if (spec.drift === 'Report' && drifted.length > 0) {
      await this.writeStatus(
        gs,
        appliedStatus(this.ctx(gs, requestedAt), {
          revision,
          summary: { ...summary, drifted: drifted.length },
          changes: plan.changeLines,
          inventory,
          durationMs: performance.now() - started,
          drifted: { message: `${drifted.length} object(s) drifted: ${plan.changeLines.join('; ')}` },
        }),
      );
      log.info({ drifted: drifted.length }, 'drift reported');
      return;
    }
    const outcome =
      drifted.length > 0
        ? await applyDesired(client, plan, gs, { ...spec, prune: false }, { signal })
        : undefined;
    const corrected = drifted.map((o) => describeRef(o.ref));
    if (corrected.length)
      this.deps.metrics.driftCorrections.inc({ namespace: gs.metadata.namespace }, corrected.length);
    await this.writeStatus(
      gs,
      appliedStatus(this.ctx(gs, requestedAt), {
        revision,
        summary: { ...summary, drifted: 0 },
        changes: outcome ? outcome.changes.map((l) => `${l} (drift corrected)`) : (gs.status?.changes ?? []),
        inventory,
        durationMs: performance.now() - started,
      }),
      { driftCorrected: corrected },
    );
    if (corrected.length) log.info({ corrected }, 'drift corrected');
  }

  private async finalize(gs: GitSource, log: Logger): Promise<void> {
    const key = `${gs.metadata.namespace}/${gs.metadata.name}`;
    this.states.get(key)?.abort?.abort(new Error('superseded'));
    if (!gs.metadata.finalizers?.includes(FINALIZER)) return;
    const parsed = parseSpec(gs.spec);
    if (parsed.ok && parsed.spec.deletionPolicy === 'Delete') {
      const client = this.clientFor(gs, parsed.spec);
      const pruned = await deleteInventory(client, gs, gs.status?.inventory?.entries ?? []);
      log.info({ pruned: pruned.length }, 'deleted inventory (deletionPolicy: Delete)');
      if (pruned.length)
        await this.deps.events.record(target(gs), [
          { type: 'Normal', reason: 'Pruned', note: `Pruned ${pruned.join(', ')}` },
        ]);
    }
    await this.deps.source.forget(gs.metadata.uid);
    const finalizers = (gs.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    try {
      await this.deps.client.request('PATCH', gitSourcePath(gs.metadata.namespace, gs.metadata.name), {
        body: { metadata: { finalizers, resourceVersion: gs.metadata.resourceVersion } },
        contentType: 'application/merge-patch+json',
      });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
    this.states.delete(key);
  }

  private async addFinalizer(gs: GitSource): Promise<void> {
    const finalizers = [...(gs.metadata.finalizers ?? []), FINALIZER];
    const updated = await this.deps.client.request<GitSource>(
      'PATCH',
      gitSourcePath(gs.metadata.namespace, gs.metadata.name),
      {
        body: { metadata: { finalizers, resourceVersion: gs.metadata.resourceVersion } },
        contentType: 'application/merge-patch+json',
      },
    );
    gs.metadata.finalizers = updated.metadata.finalizers;
    gs.metadata.resourceVersion = updated.metadata.resourceVersion;
  }

  private async dependencyBlock(gs: GitSource, spec: GitSourceSpec): Promise<string | undefined> {
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

  private async credentials(gs: GitSource, spec: GitSourceSpec): Promise<GitCredentials | undefined> {
    if (!spec.secretRef) return undefined;
    const name = spec.secretRef.name;
    let secret: { data?: Record<string, string> };
    try {
      secret = await this.deps.client.request(
        'GET',
        `/api/v1/namespaces/${gs.metadata.namespace}/secrets/${name}`,
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        throw new ConvergeError(
          'MissingSecret',
          `secret ${gs.metadata.namespace}/${name} (spec.secretRef.name) not found`,
        );
      }
      if (err instanceof ApiError && err.status === 403) {
        throw new ConvergeError(
          'RBACDenied',
          `reading secret ${gs.metadata.namespace}/${name} is forbidden: ${err.message}`,
        );
      }
      throw err;
    }
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
    );
    return credentialsFromSecret(data, `${gs.metadata.namespace}/${name}`);
  }

  private clientFor(gs: GitSource, spec: GitSourceSpec): KubeClient {
    // The API server adds the service-account groups itself; asking for them would need `impersonate`
    // on groups cluster-wide, which tenant mode rightly does not grant.
    return spec.serviceAccountName
      ? this.deps.client.impersonating(
          `system:serviceaccount:${gs.metadata.namespace}:${spec.serviceAccountName}`,
        )
      : this.deps.client;
  }

  private ctx(gs: GitSource, requestedAt?: string): StatusContext {
    return {
      old: gs.status,
      generation: gs.metadata.generation,
      now: this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      requestedAt,
    };
  }

  /** Writes status only when it changed, with its own field manager; emits the Events of the transition. */
  async writeStatus(
    gs: GitSource,
    status: GitSourceStatus,
    extra: { pruned?: string[]; driftCorrected?: string[] } = {},
  ): Promise<void> {
    const events = transitionEvents(gs.status?.conditions, status.conditions ?? [], extra);
    if (sameStatus(gs.status, status) && events.length === 0) return;
    if (!sameStatus(gs.status, status)) {
      const ref = gitSourceRef(gs.metadata.namespace, gs.metadata.name);
      try {
        const updated = await this.deps.client.request<GitSource>(
          'PATCH',
          `${gitSourcePath(ref.namespace, ref.name)}/status`,
          {
            query: { fieldManager: 'converge-status', force: true },
            body: {
              apiVersion: gs.apiVersion,
              kind: gs.kind,
              metadata: { name: ref.name, namespace: ref.namespace },
              status,
            },
            contentType: 'application/apply-patch+yaml',
          },
        );
        gs.status = updated.status;
        gs.metadata.resourceVersion = updated.metadata.resourceVersion;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return;
        throw err;
      }
    }
    for (const c of status.conditions ?? []) {
      for (const s of ['True', 'False', 'Unknown']) {
        this.deps.metrics.condition.set(
          { name: gs.metadata.name, namespace: gs.metadata.namespace, type: c.type, status: s },
          c.status === s ? 1 : 0,
        );
      }
    }
    await this.deps.events.record(target(gs), events);
  }
}

function target(gs: GitSource) {
  return { name: gs.metadata.name, namespace: gs.metadata.namespace, uid: gs.metadata.uid };
}

function objectIdOf(o: KubeObject): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '';
  return `${o.metadata.namespace ?? ''}_${o.metadata.name}_${group}_${o.kind}`;
}

/** Milliseconds until the deadline, a little early so a wait reports its own message before the reconcile times out. */
function timeLeft(deadline: number): number {
  return Math.max(0, deadline - Date.now() - 250);
}

/** ±10% so sources created together do not poll together. */
export function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

export type { PlanOutcome };

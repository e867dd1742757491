// The reconcile's orchestration with fake stages and a recording writer: which writes each pass makes,
// what a failure reports, and that status is always built from the copy just written.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  ConvergeError,
  inventoryEntries,
  objectId,
  refOf,
  type GitSource,
  type GitSourceStatus,
  type KubeObject,
} from '../../../src/api/index.ts';
import {
  Reconciler,
  SourceStateStore,
  type GitSourceWriter,
  type Plan,
  type ReconcileSteps,
  type ReconcilerDeps,
  type ClusterTarget,
} from '../../../src/controller/index.ts';
import type { ImageUpdateOutcome, ImageUpdater } from '../../../src/images/index.ts';
import { ApiError, type KubeClient } from '../../../src/kube/index.ts';
import type { ChangeSet } from '../../../src/plan/index.ts';
import { findCondition } from '../../../src/report/index.ts';
import { createMetrics } from '../../../src/server/index.ts';

const COMMIT = 'a'.repeat(40);

function gitSource(spec: Record<string, unknown> = {}): GitSource {
  return {
    apiVersion: 'gitops.converge.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name: 'web', namespace: 'apps', uid: 'uid-1', generation: 1, resourceVersion: '1' },
    spec: { url: 'https://git.example.com/fleet.git', wait: false, ...spec },
  } as GitSource;
}

const configMap = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps' },
});

function planOf(objects: KubeObject[], action: 'create' | 'unchanged' | ((o: KubeObject) => string)): Plan {
  const changeSet = {
    objects: objects.map((object) => ({
      object,
      ref: { group: '', version: 'v1', kind: object.kind, namespace: 'apps', name: object.metadata.name },
      action: typeof action === 'function' ? action(object) : action,
    })),
    stale: [],
  } as unknown as ChangeSet;
  const changed = changeSet.objects.some((o) => o.action !== 'unchanged');
  return {
    changeSet,
    desired: objects,
    hasChanges: changed,
    changeLines: changeSet.objects
      .filter((o) => o.action !== 'unchanged')
      .map((o) => `ConfigMap/apps/${o.ref.name} ${o.action}`),
    divergedMessage: changed ? `${objects.length} to create` : 'no changes',
  };
}

interface Harness {
  reconciler: Reconciler;
  states: SourceStateStore;
  writes: { status: GitSourceStatus; inventory: string[] }[];
  calls: string[];
  commit: { value: string };
  steps: ReconcileSteps;
}

function harness(
  overrides: Partial<ReconcileSteps> = {},
  opts: {
    stale?: () => GitSource | undefined;
    detection?: 'Watch' | 'Interval';
    images?: ImageUpdater;
    clusters?: ReconcilerDeps['clusters'];
  } = {},
): Harness {
  const writes: Harness['writes'] = [];
  const calls: string[] = [];
  const commit = { value: COMMIT };
  const objects = [configMap('a'), configMap('b')];
  let applied = false;
  const steps: ReconcileSteps = {
    clientFor: () => ({}) as KubeClient,
    credentials: async () => ({}),
    resolve: async () => {
      calls.push('resolve');
      return {
        revision: `main@sha1:${commit.value}`,
        commit: commit.value,
        fetchRef: 'refs/heads/main',
        name: 'main',
      };
    },
    fetch: async () => {
      calls.push('fetch');
      return {
        revision: `main@sha1:${commit.value}`,
        commit: commit.value,
        fetchRef: 'refs/heads/main',
        name: 'main',
        dir: '/checkout',
        fetched: true,
        release: () => {},
      };
    },
    render: async () => {
      calls.push('render');
      return objects;
    },
    plan: async (_ctx, desired) => {
      calls.push('plan');
      return planOf(desired, applied ? 'unchanged' : 'create');
    },
    apply: async () => {
      calls.push('apply');
      applied = true;
    },
    prune: async () => {
      calls.push('prune');
      return [];
    },
    wait: async () => {
      calls.push('wait');
      return '2 object(s) healthy';
    },
    deleteInventory: async () => [],
    forgetSource: async () => {},
    hooks: async (_ctx, phase, list) => {
      if (list.length) calls.push(`hooks:${phase}`);
    },
    ...overrides,
  };
  const writer: GitSourceWriter = {
    async writeStatus(gs, status) {
      writes.push({ status, inventory: inventoryEntries(status).map((e) => e.id) });
      gs.status = structuredClone(status);
      gs.metadata.resourceVersion = String(Number(gs.metadata.resourceVersion) + 1);
    },
    addFinalizer: async () => {},
    removeFinalizer: async () => {},
    recordEvents: async (_gs, list) => {
      for (const e of list) calls.push(`event:${e.reason}`);
    },
  };
  const states = new SourceStateStore();
  const reconciler = new Reconciler({
    steps,
    writer,
    states,
    drift: { track: async () => opts.detection ?? 'Watch' },
    metrics: createMetrics({ defaultMetrics: false }),
    logger: pino({ level: 'silent' }),
    getGitSource: async () => opts.stale?.(),
    clusters: opts.clusters,
    random: () => 0.5,
    ...(opts.images ? { images: opts.images } : {}),
  });
  return { reconciler, states, writes, calls, commit, steps };
}

describe('Reconciler', () => {
  it('runs the steps in order on a first pass and reports Ready', async () => {
    const h = harness();
    const gs = gitSource({ wait: true });
    const result = await h.reconciler.reconcile(gs);
    expect(result).toEqual({ kind: 'requeue', afterMs: 60_000 });
    expect(h.calls).toEqual(['fetch', 'render', 'plan', 'apply', 'prune', 'wait']);
    expect(findCondition(gs.status?.conditions, 'Ready')?.status).toBe('True');
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${COMMIT}`);
  });

  it('makes no writes, dry-runs or fetches when nothing moved', async () => {
    const h = harness();
    const gs = gitSource();
    await h.reconciler.reconcile(gs);
    const writes = h.writes.length;
    h.calls.length = 0;
    await h.reconciler.reconcile(gs);
    expect(h.calls).toEqual(['resolve']);
    expect(h.writes).toHaveLength(writes);
  });

  it('after a restart, a pass that finds nothing to do at the converged revision writes nothing', async () => {
    const h = harness();
    const gs = gitSource({ wait: true });
    await h.reconciler.reconcile(gs);
    const status = structuredClone(gs.status);
    const writes = h.writes.length;
    h.states.forget('apps/web'); // the operator restarted (or another replica leads): its memory is gone
    h.calls.length = 0;
    await h.reconciler.reconcile(gs);
    // Everything is checked again (health too), and status, the memory, stays as it was: the
    // writer (which skips a status equal to the one it has) is handed no other.
    expect(h.calls).toEqual(['fetch', 'render', 'plan', 'apply', 'prune', 'wait']);
    expect(h.writes.slice(writes).map((w) => w.status)).toEqual(h.writes.slice(writes).map(() => status));
    expect(gs.status).toEqual(status);
  });

  it('after a restart, a real change is reported as ever', async () => {
    const h = harness();
    const gs = gitSource({ wait: true });
    await h.reconciler.reconcile(gs);
    h.states.forget('apps/web');
    h.commit.value = 'c'.repeat(40);
    const writes = h.writes.length;
    await h.reconciler.reconcile(gs);
    expect(h.writes.length).toBeGreaterThan(writes);
    expect(
      h.writes.slice(writes).map((w) => findCondition(w.status.conditions, 'Converged')?.status),
    ).toContain('False');
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${'c'.repeat(40)}`);
  });

  it('records the objects it is about to create in the inventory before applying them', async () => {
    let inventoryAtApply: string[] = [];
    const h = harness({
      apply: async () => {
        inventoryAtApply = h.writes.at(-1)?.inventory ?? [];
        throw new Error('killed mid-apply');
      },
    });
    await h.reconciler.reconcile(gitSource());
    expect(inventoryAtApply).toHaveLength(2);
    expect(inventoryAtApply.every((id) => id.includes('ConfigMap'))).toBe(true);
  });

  it('builds a failure status from the copy it just wrote, not from a stale cached copy', async () => {
    // The controller's cache still holds the GitSource as it was before this run's writes.
    const gs = gitSource({ wait: true });
    const stale = structuredClone(gs);
    const h = harness(
      {
        wait: async () =>
          Promise.reject(new ConvergeError('HealthCheckFailed', 'ConfigMap/apps/a never ready')),
      },
      { stale: () => stale },
    );
    await h.reconciler.reconcile(gs);
    const last = h.writes.at(-1)!;
    expect(findCondition(last.status.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'HealthCheckFailed',
    });
    // The inventory recorded before the wait survives the failure.
    expect(last.inventory).toHaveLength(2);
  });

  it('names the step that ran out of time', async () => {
    const h = harness({
      fetch: (req) =>
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`git killed after ${req.timeoutMs}ms`)), 200),
        ),
    });
    const gs = gitSource({ timeout: '50ms' });
    const result = await h.reconciler.reconcile(gs);
    const ready = findCondition(gs.status?.conditions, 'Ready');
    expect(ready?.reason).toBe('FetchFailed');
    expect(ready?.message).toBe('git fetch timed out after 50ms (spec.timeout)');
    expect(result).toEqual({ kind: 'backoff', baseMs: 15_000, maxMs: 60_000 });
  });

  it('drops a superseded run without reporting a failure, and starts over at once', async () => {
    const h = harness({
      wait: (ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
        ),
    });
    const gs = gitSource({ wait: true });
    const run = h.reconciler.reconcile(gs);
    await new Promise((r) => setTimeout(r, 10));
    h.states.supersede('apps/web', 'new commit');
    expect(await run).toEqual({ kind: 'requeue', afterMs: 0 });
    expect(h.writes.some((w) => findCondition(w.status.conditions, 'Ready')?.status === 'False')).toBe(false);
    expect(h.states.peek('apps/web')?.abort).toBeUndefined();
  });

  it('passes each step the time left before the deadline', async () => {
    const seen: number[] = [];
    const h = harness({
      render: async (ctx) => {
        seen.push(ctx.remainingMs());
        await new Promise((r) => setTimeout(r, 60));
        return [configMap('a')];
      },
      plan: async (ctx, desired) => {
        seen.push(ctx.remainingMs());
        return planOf(desired, 'create');
      },
    });
    const gs = gitSource();
    gs.spec.timeout = '10s';
    await h.reconciler.reconcile(gs);
    expect(seen[0]).toBeLessThanOrEqual(10_000);
    expect(seen[1]).toBeLessThanOrEqual(seen[0]! - 50);
  });

  it('reports an invalid spec as Stalled without touching Git', async () => {
    const h = harness();
    const gs = gitSource({ url: 'ftp://nope' });
    expect(await h.reconciler.reconcile(gs)).toEqual({ kind: 'done' });
    expect(h.calls).toEqual([]);
    expect(findCondition(gs.status?.conditions, 'Stalled')?.status).toBe('True');
  });

  it('re-plans only drifted objects once the revision is applied', async () => {
    const planned: string[][] = [];
    const h = harness();
    const basePlan = h.steps.plan;
    h.steps.plan = async (ctx, desired, o) => {
      planned.push(desired.map((d) => d.metadata.name));
      return basePlan(ctx, desired, o);
    };
    const gs = gitSource();
    await h.reconciler.reconcile(gs);
    const state = h.states.peek('apps/web')!;
    state.drifted.add(objectId(refOf(configMap('b'))));
    await h.reconciler.reconcile(gs);
    expect(planned).toEqual([['a', 'b'], ['b']]);
  });

  describe('drift: Report', () => {
    /** A cluster where the names in `edited` differ from Git once applied. */
    function reportHarness(edited: Set<string>) {
      let applied = false;
      const applies: string[][] = [];
      const h = harness({
        plan: async (_ctx, desired) =>
          planOf(desired, (o) =>
            !applied ? 'create' : edited.has(o.metadata.name) ? 'configure' : 'unchanged',
          ),
        apply: async (_ctx, plan) => {
          applies.push(plan.changeSet.objects.filter((o) => o.action !== 'unchanged').map((o) => o.ref.name));
          applied = true;
        },
      });
      return { h, applies };
    }
    const diverged = (gs: GitSource) => findCondition(gs.status?.conditions, 'Diverged');

    it('keeps reporting an edited object while an unrelated sibling is touched', async () => {
      const edited = new Set<string>();
      const { h } = reportHarness(edited);
      const gs = gitSource({ drift: 'Report' });
      await h.reconciler.reconcile(gs);
      edited.add('a');
      h.states.peek('apps/web')!.drifted.add(objectId(refOf(configMap('a'))));
      await h.reconciler.reconcile(gs);
      expect(diverged(gs)).toMatchObject({ status: 'True', reason: 'Drifted' });
      // Someone annotates b (not drift); a still differs.
      h.states.peek('apps/web')!.drifted.add(objectId(refOf(configMap('b'))));
      await h.reconciler.reconcile(gs);
      expect(diverged(gs)).toMatchObject({ status: 'True', reason: 'Drifted' });
      expect(gs.status?.summary?.drifted).toBe(1);
      // A no-op pass changes nothing either.
      await h.reconciler.reconcile(gs);
      expect(diverged(gs)?.reason).toBe('Drifted');
      // Undone by hand: InSync again.
      edited.delete('a');
      h.states.peek('apps/web')!.drifted.add(objectId(refOf(configMap('a'))));
      await h.reconciler.reconcile(gs);
      expect(diverged(gs)).toMatchObject({ status: 'False', reason: 'InSync' });
    });

    it('after a restart at the applied revision, reports the drift instead of applying over it', async () => {
      const edited = new Set<string>();
      const { h, applies } = reportHarness(edited);
      const gs = gitSource({ drift: 'Report' });
      await h.reconciler.reconcile(gs);
      expect(applies).toEqual([['a', 'b']]);
      edited.add('b');
      h.states.forget('apps/web'); // the operator restarted: its memory is gone
      await h.reconciler.reconcile(gs);
      expect(applies).toEqual([['a', 'b']]);
      expect(diverged(gs)).toMatchObject({ status: 'True', reason: 'Drifted' });
      expect(findCondition(gs.status?.conditions, 'Ready')?.status).toBe('True');
    });

    it('still applies a new commit', async () => {
      const edited = new Set<string>();
      const { h, applies } = reportHarness(edited);
      const gs = gitSource({ drift: 'Report' });
      await h.reconciler.reconcile(gs);
      edited.add('a');
      // The drift watch saw the hand edit (without it, a commit that renders the same is not re-planned).
      h.states.peek('apps/web')!.drifted.add(objectId(refOf(configMap('a'))));
      h.commit.value = 'c'.repeat(40);
      await h.reconciler.reconcile(gs);
      expect(applies).toEqual([['a', 'b'], ['a']]);
      expect(diverged(gs)?.reason).toBe('InSync');
    });
  });

  it('re-plans every object each interval when drift cannot be watched, and says so in status', async () => {
    const planned: string[][] = [];
    const h = harness({}, { detection: 'Interval' });
    const basePlan = h.steps.plan;
    h.steps.plan = async (ctx, desired, o) => {
      planned.push(desired.map((d) => d.metadata.name));
      return basePlan(ctx, desired, o);
    };
    const gs = gitSource();
    await h.reconciler.reconcile(gs);
    expect(gs.status?.driftDetection).toBe('Interval');
    const writes = h.writes.length;
    await h.reconciler.reconcile(gs);
    expect(planned).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(h.writes).toHaveLength(writes); // nothing drifted: nothing written
  });

  // Issue 10: hooks around the revision, and a revision that cannot succeed stalls.
  it('runs pre hooks before the apply and post hooks after the health wait, never planning them', async () => {
    const hook = (name: string, phase: string): KubeObject => ({
      ...configMap(name),
      metadata: { name, namespace: 'apps', annotations: { 'argocd.argoproj.io/hook': phase } },
    });
    const planned: string[] = [];
    const h = harness({
      render: async () => [configMap('a'), hook('before', 'PreSync'), hook('after', 'PostSync')],
    });
    const basePlan = h.steps.plan;
    h.steps.plan = async (ctx, desired, o) => {
      planned.push(...desired.map((d) => d.metadata.name));
      return basePlan(ctx, desired, o);
    };
    await h.reconciler.reconcile(gitSource({ wait: true }));
    expect(h.calls).toEqual(['fetch', 'plan', 'hooks:pre', 'apply', 'prune', 'wait', 'hooks:post']);
    expect(planned).toEqual(['a']);
  });

  it('stalls on a render failure at an unchanged commit, polls Git without retrying, and clears at the next commit', async () => {
    let broken = true;
    const h = harness({
      render: async () => {
        h.calls.push('render');
        if (broken) throw new ConvergeError('RenderFailed', 'a.yaml: invalid YAML at line 3');
        return [configMap('a')];
      },
    });
    const gs = gitSource();
    const first = await h.reconciler.reconcile(gs);
    expect(first).toEqual({ kind: 'requeue', afterMs: 60_000 });
    expect(findCondition(gs.status?.conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'RenderFailed',
    });
    h.calls.length = 0;
    const writes = h.writes.length;
    await h.reconciler.reconcile(gs);
    expect(h.calls).toEqual(['resolve']);
    expect(h.writes).toHaveLength(writes);

    broken = false;
    h.commit.value = 'b'.repeat(40);
    await h.reconciler.reconcile(gs);
    expect(findCondition(gs.status?.conditions, 'Stalled')).toBeUndefined();
    expect(findCondition(gs.status?.conditions, 'Ready')?.status).toBe('True');
  });

  describe('a new commit that renders the same objects (a monorepo commit to another path)', () => {
    it('moves status to the new revision without planning, applying or writing any object', async () => {
      let releases = 0;
      const h = harness();
      const baseFetch = h.steps.fetch;
      h.steps.fetch = async (req, resolved) => ({
        ...(await baseFetch(req, resolved)),
        release: () => void releases++,
      });
      const gs = gitSource();
      await h.reconciler.reconcile(gs);
      expect(releases).toBe(1);
      h.calls.length = 0;
      h.commit.value = 'c'.repeat(40);
      await h.reconciler.reconcile(gs);
      expect(h.calls).toEqual(['resolve', 'fetch', 'render']);
      expect(releases).toBe(2);
      expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${'c'.repeat(40)}`);
      expect(gs.status?.summary).toMatchObject({ objects: 2, created: 0, configured: 0, unchanged: 2 });
      expect(inventoryEntries(gs.status)).toHaveLength(2);
      expect(findCondition(gs.status?.conditions, 'Ready')?.status).toBe('True');
      // The next poll at that commit is a no-op.
      h.calls.length = 0;
      await h.reconciler.reconcile(gs);
      expect(h.calls).toEqual(['resolve']);
    });

    it('re-plans when the render differs, when objects drifted, or when a reconcile is requested', async () => {
      let objects = [configMap('a'), configMap('b')];
      const h = harness({
        render: async () => {
          h.calls.push('render');
          return objects;
        },
      });
      const gs = gitSource();
      await h.reconciler.reconcile(gs);

      h.calls.length = 0;
      objects = [configMap('a'), { ...configMap('b'), data: { changed: 'yes' } }];
      h.commit.value = '1'.repeat(40);
      await h.reconciler.reconcile(gs);
      expect(h.calls).toContain('plan');

      h.calls.length = 0;
      h.states.peek('apps/web')!.drifted.add(objectId(refOf(configMap('a'))));
      h.commit.value = '2'.repeat(40);
      await h.reconciler.reconcile(gs);
      expect(h.calls).toContain('plan');

      h.calls.length = 0;
      gs.metadata.annotations = { 'gitops.converge.dev/requested-at': 'now' };
      h.commit.value = '3'.repeat(40);
      await h.reconciler.reconcile(gs);
      expect(h.calls).toContain('plan');
    });

    it('releases the checkout when the render fails', async () => {
      let releases = 0;
      const h = harness({
        render: async () => {
          throw new ConvergeError('RenderFailed', 'a.yaml: bad');
        },
      });
      const baseFetch = h.steps.fetch;
      h.steps.fetch = async (req, resolved) => ({
        ...(await baseFetch(req, resolved)),
        release: () => void releases++,
      });
      await h.reconciler.reconcile(gitSource());
      expect(releases).toBe(1);
    });
  });

  describe('a remote cluster (spec.kubeConfig)', () => {
    const remote = { server: 'https://10.1.2.3:6443/', context: 'prod-eu' };
    const kubeConfig = { secretRef: { name: 'prod-eu', key: 'value' } };
    function selector(over: Partial<NonNullable<ReconcilerDeps['clusters']>> = {}) {
      const outcomes: unknown[] = [];
      const target: ClusterTarget = {
        id: 'hash-1',
        client: {} as KubeClient,
        drift: { track: async () => 'Watch' },
        remote,
      };
      const clusters: NonNullable<ReconcilerDeps['clusters']> = {
        targetFor: async () => target,
        enter: () => () => {},
        reportOutcome: (_t, err) => outcomes.push(err),
        ...over,
      };
      return { clusters, outcomes };
    }

    it('records the target in status.cluster and applies there', async () => {
      const { clusters, outcomes } = selector();
      const h = harness({}, { clusters });
      const gs = gitSource({ kubeConfig });
      await h.reconciler.reconcile(gs);
      expect(gs.status?.cluster).toEqual({ server: remote.server, context: 'prod-eu' });
      expect(findCondition(gs.status?.conditions, 'Ready')?.status).toBe('True');
      expect(outcomes).toEqual([undefined]);
    });

    it('an API server that stops answering mid-apply: ClusterUnreachable naming the cluster, no prune', async () => {
      const { clusters, outcomes } = selector();
      const h = harness(
        {
          apply: async () => {
            h.calls.push('apply');
            throw new ApiError(
              0,
              'ConnectionFailed',
              'PATCH /api/v1/x: connect ECONNREFUSED',
              [],
              'PATCH',
              '/x',
            );
          },
        },
        { clusters },
      );
      const gs = gitSource({ kubeConfig });
      const result = await h.reconciler.reconcile(gs);
      const ready = findCondition(gs.status?.conditions, 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: 'ClusterUnreachable' });
      expect(ready?.message).toContain('cluster https://10.1.2.3:6443/ (context prod-eu) unreachable');
      expect(h.calls).not.toContain('prune');
      // Retried with backoff, never Stalled: the cluster may come back.
      expect(result.kind).toBe('backoff');
      expect(findCondition(gs.status?.conditions, 'Stalled')).toBeUndefined();
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]).toBeInstanceOf(ApiError);
    });

    it('other failures in the remote cluster name it too', async () => {
      const { clusters } = selector();
      const h = harness(
        { apply: async () => Promise.reject(new ConvergeError('ApplyFailed', 'ConfigMap/apps/a: invalid')) },
        { clusters },
      );
      const gs = gitSource({ kubeConfig });
      await h.reconciler.reconcile(gs);
      expect(findCondition(gs.status?.conditions, 'Ready')).toMatchObject({
        reason: 'ApplyFailed',
        message: 'cluster https://10.1.2.3:6443/ (context prod-eu): ConfigMap/apps/a: invalid',
      });
    });

    it('a refused kubeconfig stalls before any fetch', async () => {
      const { clusters } = selector({
        targetFor: async () => {
          throw new ConvergeError('InvalidKubeConfig', 'spec.kubeConfig: refused user.exec');
        },
      });
      const h = harness({}, { clusters });
      const gs = gitSource({ kubeConfig });
      await h.reconciler.reconcile(gs);
      expect(h.calls).toEqual([]);
      expect(findCondition(gs.status?.conditions, 'Ready')?.reason).toBe('InvalidKubeConfig');
      expect(findCondition(gs.status?.conditions, 'Stalled')?.status).toBe('True');
    });

    it('a cluster at its in-flight limit: requeued shortly, nothing run or written', async () => {
      const { clusters } = selector({ enter: () => undefined });
      const h = harness({}, { clusters });
      const gs = gitSource({ kubeConfig });
      gs.status = { cluster: { server: remote.server, context: 'prod-eu' } };
      const result = await h.reconciler.reconcile(gs);
      expect(result).toEqual({ kind: 'requeue', afterMs: 2000 });
      expect(h.calls).toEqual([]);
      expect(h.writes).toHaveLength(0);
    });

    it('a new kubeconfig (rotated Secret) plans every object again', async () => {
      let id = 'hash-1';
      const { clusters } = selector();
      const h = harness(
        {},
        {
          clusters: {
            ...clusters,
            targetFor: async () => ({ ...(await clusters.targetFor(gitSource(), {} as never)), id }),
          },
        },
      );
      const gs = gitSource({ kubeConfig });
      await h.reconciler.reconcile(gs);
      h.calls.length = 0;
      await h.reconciler.reconcile(gs);
      expect(h.calls).toEqual(['resolve']);
      id = 'hash-2';
      h.calls.length = 0;
      await h.reconciler.reconcile(gs);
      expect(h.calls).toContain('plan');
    });
  });
});

describe('Reconciler with spec.imageUpdates', () => {
  const updates = { imageUpdates: { author: { name: 'bot', email: 'bot@example.com' } } };
  /** An updater whose next outcomes the test queues; each call is recorded with its tracked commit. */
  function images(h: () => Harness, outcomes: ImageUpdateOutcome[]): ImageUpdater {
    return {
      forget: () => {},
      update: async (_ctx, input) => {
        h().calls.push(`images:${input.trackedCommit?.slice(0, 1) ?? '-'}`);
        const next = outcomes.shift() ?? { ran: false };
        // A push moves the tracked branch, as the real write-back does.
        if (next.pushed?.tracked) h().commit.value = next.pushed.commit;
        return next;
      },
    };
  }

  it('converges the commit it pushed to the tracked branch in the same pass', async () => {
    const outcomes: ImageUpdateOutcome[] = [
      { ran: true, report: { status: 'True', reason: 'UpToDate', message: '1 marker in 1 file up to date' } },
    ];
    const h: Harness = harness({}, { images: images(() => h, outcomes) });
    const gs = gitSource(updates);
    await h.reconciler.reconcile(gs);
    expect(h.calls).toEqual(['images:-', 'fetch', 'render', 'plan', 'apply', 'prune']);
    expect(findCondition(gs.status?.conditions, 'ImagesUpdated')).toMatchObject({
      status: 'True',
      reason: 'UpToDate',
    });

    const pushed = 'b'.repeat(40);
    outcomes.push({
      ran: true,
      pushed: { commit: pushed, branch: 'main', tracked: true, changes: [] },
      report: {
        status: 'True',
        reason: 'Pushed',
        message: 'Pushed bbbbbbb to main: web.yaml: r/w:1 → r/w:2',
      },
    });
    h.calls.length = 0;
    await h.reconciler.reconcile(gs);
    // The pushed commit renders what is applied here, so nothing is planned again.
    expect(h.calls).toEqual(['resolve', 'images:a', 'event:ImagesUpdated', 'resolve', 'fetch', 'render']);
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${pushed}`);
    expect(findCondition(gs.status?.conditions, 'ImagesUpdated')).toMatchObject({
      status: 'True',
      reason: 'Pushed',
    });
    expect(findCondition(gs.status?.conditions, 'Ready')?.status).toBe('True');
  });

  it('reports a failed update on ImagesUpdated, once as a Warning, and still converges what Git has', async () => {
    const refused = {
      ran: true,
      report: {
        status: 'False' as const,
        reason: 'PushRejected',
        message: 'the server refused the push to main: protected',
      },
    };
    const h: Harness = harness({}, { images: images(() => h, [refused, { ...refused }]) });
    const gs = gitSource(updates);
    await h.reconciler.reconcile(gs);
    expect(findCondition(gs.status?.conditions, 'Ready')?.status).toBe('True');
    expect(findCondition(gs.status?.conditions, 'ImagesUpdated')).toMatchObject({
      status: 'False',
      reason: 'PushRejected',
    });
    const writes = h.writes.length;
    h.calls.length = 0;
    await h.reconciler.reconcile(gs);
    // The same refusal again: no new Event, no status write.
    expect(h.calls).toEqual(['resolve', 'images:a']);
    expect(h.writes).toHaveLength(writes);
    expect(h.calls.filter((c) => c === 'event:ImageUpdateFailed')).toHaveLength(0);

    // spec.imageUpdates removed: the condition goes with it.
    delete (gs.spec as Record<string, unknown>).imageUpdates;
    gs.metadata.generation = 2;
    await h.reconciler.reconcile(gs);
    expect(findCondition(gs.status?.conditions, 'ImagesUpdated')).toBeUndefined();
  });
});

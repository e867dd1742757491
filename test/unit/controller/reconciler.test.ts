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
} from '../../../src/controller/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
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
  opts: { stale?: () => GitSource | undefined; detection?: 'Watch' | 'Interval' } = {},
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
    recordEvents: async () => {},
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
    random: () => 0.5,
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
});

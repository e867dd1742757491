// Journey: a file removed from Git is pruned (unless opted out), and a revert commit rolls the cluster back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.ts';
import { commitFiles, type GitFixture, type GitRepo, type HttpGitServer } from '../support/git-server.ts';
import {
  applyGitSource,
  eventsFor,
  getObject,
  inventoryIds,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { configMap, configMapWithAnnotations } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;

let journey: Journey | undefined;
beforeAll(async () => {
  journey = await startJourney('prune');
  ({ ns, fixture, http } = journey);
  repo = await fixture.createRepo('app');
});

afterAll(() => stopJourney(journey));

const cm = (name: string) =>
  getObject<{ data: Record<string, string>; metadata: { resourceVersion: string } }>(ns, 'configmap', name);

describe('prune and rollback', () => {
  it('prunes a removed file, keeps prune-disabled objects, and a revert commit restores the earlier objects', async () => {
    const first = {
      'a.yaml': configMap('alpha', { colour: 'blue', size: '1' }),
      'b.yaml': configMap('beta', { role: 'leaving' }),
      'keep.yaml': configMapWithAnnotations(
        'keeper',
        { role: 'stays' },
        { 'gitops.converge.dev/prune': 'disabled' },
      ),
    };
    const c1 = await commitFiles(repo, first, 'first');
    await applyGitSource(ns, 'app', {
      url: http.url('app'),
      // Each commit is taken up by requestReconcile alone. With a short interval, a poll landing
      // between a commit and the request applied it first, and the requested pass that followed
      // found nothing to do: its summary (created 0, configured 0) was the one read.
      interval: '1h',
      targetNamespace: ns,
      wait: true,
    });
    const gs1 = await waitForCondition(ns, 'app', 'Ready', 'True', { revision: c1 });
    expect(gs1.status?.summary).toMatchObject({ objects: 3, created: 3, pruned: 0 });

    // Remove beta and keeper from Git, change alpha.
    const c2 = await commitFiles(
      repo,
      { 'a.yaml': configMap('alpha', { colour: 'red', size: '2' }), 'b.yaml': null, 'keep.yaml': null },
      'remove beta and keeper',
    );
    await requestReconcile(ns, 'app');
    const gs2 = await waitForCondition(ns, 'app', 'Ready', 'True', { revision: c2 });
    expect(await cm('beta')).toBeUndefined();
    expect((await cm('keeper'))?.data).toEqual({ role: 'stays' });
    expect((await cm('alpha'))?.data).toEqual({ colour: 'red', size: '2' });
    expect(gs2.status?.summary).toMatchObject({ objects: 1, configured: 1, pruned: 1 });
    expect(gs2.status?.changes).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^ConfigMap/${ns}/beta pruned`))]),
    );
    // The change set reports what was done: the prune-disabled object was kept, not pruned.
    expect
      .soft(
        gs2.status?.changes?.some((l) => /keeper.*pruned/.test(l)),
        JSON.stringify(gs2.status?.changes),
      )
      .toBe(false);
    expect(inventoryIds(gs2)).toEqual([`${ns}_alpha__ConfigMap`]);
    const pruned = (await eventsFor(ns, 'app')).filter((e) => e.reason === 'Pruned');
    expect(pruned).toHaveLength(1);
    expect(pruned[0]?.note).toMatch(/beta/);
    expect(pruned[0]?.note).not.toMatch(/keeper/);

    // Revert: re-commit the first contents; the earlier objects and field values come back.
    const c3 = await commitFiles(
      repo,
      { 'a.yaml': first['a.yaml'], 'b.yaml': first['b.yaml'] },
      'Revert "remove beta and keeper"',
    );
    await requestReconcile(ns, 'app');
    const gs3 = await waitForCondition(ns, 'app', 'Ready', 'True', { revision: c3 });
    expect((await cm('alpha'))?.data).toEqual({ colour: 'blue', size: '1' });
    expect((await cm('beta'))?.data).toEqual({ role: 'leaving' });
    expect(gs3.status?.summary).toMatchObject({ objects: 2, created: 1, configured: 1, pruned: 0 });
    expect(gs3.status?.history?.slice(0, 3).map((h) => h.revision)).toEqual(
      expect.arrayContaining([`main@sha1:${c3}`, `main@sha1:${c2}`]),
    );
  });

  it('prune: false leaves objects that left Git in place', async () => {
    const other = await fixture.createRepo('keep-all');
    await commitFiles(
      other,
      { 'one.yaml': configMap('np-one', { n: '1' }), 'two.yaml': configMap('np-two', { n: '2' }) },
      'first',
    );
    await applyGitSource(ns, 'noprune', {
      url: http.url('keep-all'),
      interval: '5s',
      targetNamespace: ns,
      prune: false,
    });
    await waitForCondition(ns, 'noprune', 'Ready', 'True');
    const c2 = await commitFiles(other, { 'two.yaml': null }, 'remove two');
    await requestReconcile(ns, 'noprune');
    const gs = await waitForCondition(ns, 'noprune', 'Ready', 'True', { revision: c2 });
    expect((await cm('np-two'))?.data).toEqual({ n: '2' });
    expect(gs.status?.summary?.pruned ?? 0).toBe(0);
    expect((await eventsFor(ns, 'noprune')).some((e) => e.reason === 'Pruned')).toBe(false);
    // Still there a moment later (no delayed prune by a later pass).
    await eventually(async () => (await cm('np-two')) !== undefined, { timeoutMs: 1000 });
  });
});

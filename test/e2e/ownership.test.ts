// Journey: two GitSources declare the same object; the second is refused until its Git opts in to adopt it, and the first never prunes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap, configMapWithAnnotations } from '../support/apps.ts';
import { commitFiles, type GitFixture, type GitRepo, type HttpGitServer } from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repoA: GitRepo;
let repoB: GitRepo;

let journey: Journey | undefined;
beforeAll(async () => {
  journey = await startJourney('owners');
  ({ ns, fixture, http } = journey);
  repoA = await fixture.createRepo('team-a');
  repoB = await fixture.createRepo('team-b');
});
afterAll(() => stopJourney(journey));

const shared = () =>
  getObject<{ data: Record<string, string>; metadata: { labels?: Record<string, string> } }>(
    ns,
    'configmap',
    'shared',
  );

describe('one owner per object', () => {
  it('refuses a second owner with ApplyFailed, adopts only on opt-in from Git, and the first owner never prunes it', async () => {
    const a1 = await commitFiles(
      repoA,
      { 'shared.yaml': configMap('shared', { from: 'a' }), 'a.yaml': configMap('a-only', { x: '1' }) },
      'a',
    );
    await applyGitSource(ns, 'team-a', { url: http.url('team-a'), targetNamespace: ns, wait: false });
    await waitForCondition(ns, 'team-a', 'Ready', 'True', { revision: a1 });

    await commitFiles(repoB, { 'shared.yaml': configMap('shared', { from: 'b' }) }, 'b');
    await applyGitSource(ns, 'team-b', {
      url: http.url('team-b'),
      targetNamespace: ns,
      wait: false,
      retryInterval: '1s',
    });
    const refused = await waitForCondition(ns, 'team-b', 'Ready', 'False', { reason: 'ApplyFailed' });
    expect(condition(refused, 'Ready')?.message).toContain(
      `ConfigMap/${ns}/shared is owned by GitSource ${ns}/team-a`,
    );
    expect(condition(refused, 'Ready')?.message).toContain('gitops.converge.dev/adopt: enabled');
    expect((await shared())?.data).toEqual({ from: 'a' });

    const b2 = await commitFiles(
      repoB,
      {
        'shared.yaml': configMapWithAnnotations(
          'shared',
          { from: 'b' },
          { 'gitops.converge.dev/adopt': 'enabled' },
        ),
      },
      'b adopts',
    );
    await requestReconcile(ns, 'team-b');
    await waitForCondition(ns, 'team-b', 'Ready', 'True', { revision: b2, timeoutMs: 60_000 });
    const adopted = await shared();
    expect(adopted?.data).toEqual({ from: 'b' });
    expect(adopted?.metadata.labels).toMatchObject({ 'gitops.converge.dev/name': 'team-b' });

    // team-a drops it from Git: its prune leaves team-b's object alone.
    const a2 = await commitFiles(repoA, { 'shared.yaml': null }, 'a lets go');
    await requestReconcile(ns, 'team-a');
    await waitForCondition(ns, 'team-a', 'Ready', 'True', { revision: a2, timeoutMs: 60_000 });
    expect((await shared())?.data).toEqual({ from: 'b' });
    expect(await getObject(ns, 'configmap', 'a-only')).toBeDefined();
  });
});

// Journey: `wait: true` holds Converged until objects are healthy; a new commit cancels a wait that
// cannot succeed instead of sitting out the timeout; a wait that times out says what is not ready.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { applyGitSource, condition, getGitSource, waitForCondition } from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { configMap, deployment } from '../support/apps.ts';
import { eventually } from '../support/cluster.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;

let journey: Journey | undefined;
beforeAll(async () => {
  journey = await startJourney('wait');
  ({ ns, fixture, http } = journey);
});

afterAll(() => stopJourney(journey));

describe('health wait', () => {
  it('a new commit cancels a health wait that cannot succeed', async () => {
    const repo = await fixture.createRepo('stuck');
    await commitFiles(
      repo,
      { 'web.yaml': deployment('web', 1, 'nginx:1.27', 'never-ready') },
      'a Deployment that never becomes ready',
    );
    await applyGitSource(ns, 'stuck', {
      url: http.url('stuck'),
      interval: '5s',
      timeout: '90s',
      targetNamespace: ns,
    });
    // Applied, then waiting: Reconciling with Converged not yet True.
    await eventually(
      async () => {
        const gs = await getGitSource(ns, 'stuck');
        return (
          condition(gs, 'Reconciling')?.status === 'True' && condition(gs, 'Converged')?.status !== 'True'
        );
      },
      { what: 'the health wait to start' },
    );
    const started = Date.now();
    const fix = await commitFiles(
      repo,
      { 'web.yaml': null, 'config.yaml': configMap('web', { a: '1' }) },
      'replace it',
    );
    const gs = await waitForCondition(ns, 'stuck', 'Ready', 'True', { revision: fix, timeoutMs: 30_000 });
    const took = Date.now() - started;
    console.log(`health-wait: new commit took over after ${took} ms (timeout 90s, poll interval 5s)`);
    expect(took).toBeLessThan(30_000);
    expect(condition(gs, 'Converged')).toMatchObject({ status: 'True' });
    expect(gs.status?.summary).toMatchObject({ pruned: 1 });
  }, 60_000);

  it('a wait that runs out of time is HealthCheckFailed, naming the object that is not ready', async () => {
    const repo = await fixture.createRepo('slow');
    await commitFiles(repo, { 'api.yaml': deployment('api', 2, 'nginx:1.27', 'never-ready') }, 'never ready');
    await applyGitSource(ns, 'slow', {
      url: http.url('slow'),
      interval: '5s',
      timeout: '5s',
      targetNamespace: ns,
    });
    const gs = await waitForCondition(ns, 'slow', 'Ready', 'False', {
      reason: 'HealthCheckFailed',
      timeoutMs: 30_000,
    });
    expect(condition(gs, 'Ready')?.message).toMatch(/timed out after [1-5]s .*Deployment \S+\/api/);
    expect(condition(gs, 'Converged')).toMatchObject({ status: 'False', reason: 'HealthCheckFailed' });
  }, 60_000);
});

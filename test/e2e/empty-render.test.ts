// Journey: what a new user's first repository hits. Objects without a namespace land in the
// GitSource's namespace; a path with nothing Converge can render fails saying what is there,
// prunes nothing and stalls until the next commit; allowEmpty accepts an empty set; a health
// failure keeps Ready=False through the retries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { applyGitSource, condition, getGitSource, getObject, waitForCondition } from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { configMap } from '../support/apps.ts';
import { eventually } from '../support/cluster.ts';
import { jobManifest } from '../support/jobs.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let journey: Journey | undefined;

beforeAll(async () => {
  journey = await startJourney('empty');
  ({ ns, fixture, http } = journey);
});

afterAll(() => stopJourney(journey));

describe('first repositories', () => {
  it('defaults the namespace, refuses an empty render without pruning, stalls, and recovers at the next commit', async () => {
    const repo = await fixture.createRepo('app');
    await commitFiles(repo, { 'app/config.yaml': configMap('plain', { a: '1' }) }, 'no namespace anywhere');
    // Neither the manifest nor the GitSource names a namespace.
    await applyGitSource(ns, 'app', { url: http.url('app'), path: 'app', interval: '5s' });
    await waitForCondition(ns, 'app', 'Ready', 'True');
    expect(await getObject(ns, 'configmap', 'plain')).toBeDefined();

    const jsonnet = await commitFiles(
      repo,
      {
        'app/config.yaml': null,
        'app/main.jsonnet': '{}',
        'app/lib/a.jsonnet': '{}',
        'app/lib/b.jsonnet': '{}',
      },
      'moved to jsonnet',
    );
    const failed = await waitForCondition(ns, 'app', 'Ready', 'False', { reason: 'RenderFailed' });
    const message = condition(failed, 'Ready')?.message ?? '';
    console.log(`empty-render: ${message}`);
    expect(message).toContain(
      'no manifests at "app": 3 .jsonnet files found; Converge renders YAML/JSON, kustomize and Helm',
    );
    expect(condition(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'RenderFailed' });
    expect(failed.status?.lastAttemptedRevision).toContain(jsonnet);
    // Nothing was pruned.
    expect(await getObject(ns, 'configmap', 'plain')).toBeDefined();

    const back = await commitFiles(
      repo,
      { 'app/config.yaml': configMap('plain', { a: '2' }) },
      'back to YAML',
    );
    const ok = await waitForCondition(ns, 'app', 'Ready', 'True', { revision: back, timeoutMs: 30_000 });
    expect(condition(ok, 'Stalled')).toBeUndefined();

    // An explicit allowEmpty accepts the empty set, and prunes what left it.
    await commitFiles(repo, { 'app/config.yaml': null }, 'nothing left');
    await waitForCondition(ns, 'app', 'Ready', 'False', { reason: 'RenderFailed', timeoutMs: 30_000 });
    await applyGitSource(ns, 'app', { url: http.url('app'), path: 'app', interval: '5s', allowEmpty: true });
    await waitForCondition(ns, 'app', 'Ready', 'True', { timeoutMs: 30_000 });
    await eventually(async () => (await getObject(ns, 'configmap', 'plain')) === undefined, {
      what: 'the ConfigMap to be pruned',
    });
  }, 120_000);

  it('refuses generateName on an object it keeps in sync, naming it', async () => {
    const repo = await fixture.createRepo('gen');
    await commitFiles(
      repo,
      { 'job.yaml': jobManifest('run-', {}, { generateName: true }) },
      'a Job named by the server',
    );
    await applyGitSource(ns, 'gen', { url: http.url('gen'), interval: '5s' });
    const failed = await waitForCondition(ns, 'gen', 'Ready', 'False', { reason: 'RenderFailed' });
    expect(condition(failed, 'Ready')?.message).toContain(
      'job.yaml (document 1): Job run-*: generateName is only allowed for hooks (helm.sh/hook or argocd.argoproj.io/hook)',
    );
    expect(condition(failed, 'Stalled')?.status).toBe('True');
  }, 60_000);

  it('names the unhealthy object when the wait times out, and keeps Ready=False while it retries', async () => {
    const repo = await fixture.createRepo('slow');
    // Its pod runs on a kwok node but never becomes Ready, so the Job never completes.
    await commitFiles(
      repo,
      { 'job.yaml': jobManifest('never', {}, { pods: 'never-ready' }) },
      'a Job that never ends',
    );
    await applyGitSource(ns, 'slow', {
      url: http.url('slow'),
      interval: '10s',
      retryInterval: '2s',
      timeout: '5s',
    });
    // While waiting, Reconciling counts the objects still unhealthy and says why.
    await eventually(
      async () =>
        /^Waiting for 1 of 1 object\(s\) to become healthy: Job \S+\/never: /.test(
          condition(await getGitSource(ns, 'slow'), 'Reconciling')?.message ?? '',
        ),
      { timeoutMs: 30_000, what: 'the waiting message' },
    );
    const failed = await waitForCondition(ns, 'slow', 'Ready', 'False', { reason: 'HealthCheckFailed' });
    expect(condition(failed, 'Ready')?.message).toMatch(
      new RegExp(`^timed out after \\d+s waiting for 1 object\\(s\\) to become ready: Job ${ns}/never: job`),
    );
    // The retry shows in Reconciling; Ready keeps the failure instead of going back to Unknown.
    const retrying = await eventually(
      async () => {
        const gs = await getGitSource(ns, 'slow');
        return condition(gs, 'Reconciling')?.reason === 'ProgressingWithRetry' ? gs : undefined;
      },
      { timeoutMs: 30_000, what: 'a retry' },
    );
    expect(condition(retrying, 'Ready')).toMatchObject({ status: 'False', reason: 'HealthCheckFailed' });
    expect(condition(retrying, 'Reconciling')?.message).toMatch(/retrying after HealthCheckFailed/);
  }, 60_000);
});

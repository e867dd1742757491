// Journey: a fleet of GitSources on one monorepo shares one git cache. A commit to one app's path
// is fetched once; only that app's objects change, the others move to the new revision with no
// write to any of their objects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually } from '../support/cluster.ts';
import {
  commitFiles,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
} from '../support/git-server.ts';
import {
  apiDryRuns,
  applyGitSource,
  getGitSource,
  getObject,
  metricSum,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

const APPS = ['a', 'b', 'c', 'd', 'e'];

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('mono');
  fixture = await startGitFixture();
  http = await fixture.serveHttp();
  repo = await fixture.createRepo('fleet');
  operator = await startOperator({ namespace: ns });
});

afterAll(async () => {
  await operator?.stop();
  await fixture?.close();
  await deleteNamespace(ns);
});

const fetches = async () =>
  metricSum(await operator.metricsPort(), 'converge_git_duration_seconds_count', { operation: /^fetch$/ });
const lsRemotes = async () =>
  metricSum(await operator.metricsPort(), 'converge_git_duration_seconds_count', {
    operation: /^ls-remote$/,
  });

describe('a fleet on one monorepo', () => {
  it('fetches each commit once and re-applies only the GitSource whose render changed', async () => {
    const files = Object.fromEntries(
      APPS.map((app) => [`apps/${app}/config.yaml`, configMap(`app-${app}`, { version: '1' })]),
    );
    const first = await commitFiles(repo, files, 'five apps');
    for (const app of APPS)
      await applyGitSource(ns, app, {
        url: http.url('fleet'),
        path: `./apps/${app}`,
        // Long: the second commit must reach every GitSource through the shared cache, not their own polls.
        interval: '10m',
        targetNamespace: ns,
        prune: true,
      });
    for (const app of APPS) {
      const gs = await waitForCondition(ns, app, 'Ready', 'True');
      expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${first}`);
    }
    expect(await fetches()).toBe(1);

    const before = new Map<string, string>();
    for (const app of APPS)
      before.set(app, (await getObject(ns, 'configmap', `app-${app}`))!.metadata.resourceVersion!);
    const lsRemotesBefore = await lsRemotes();
    const dryRunsBefore = await apiDryRuns(await operator.metricsPort());

    const second = await commitFiles(
      repo,
      { 'apps/a/config.yaml': configMap('app-a', { version: '2' }) },
      'only app a',
    );
    // One GitSource asks (as a push webhook or `converge reconcile` would); the others learn the new
    // commit from its ls-remote.
    await requestReconcile(ns, 'a');
    await eventually(
      async () => {
        for (const app of APPS)
          expect((await getGitSource(ns, app))?.status?.lastAppliedRevision).toBe(`main@sha1:${second}`);
        return true;
      },
      { timeoutMs: 60_000 },
    );

    expect(await fetches()).toBe(2);
    expect(await lsRemotes()).toBe(lsRemotesBefore + 1);
    // Only app a planned its object against the cluster; the others compared digests locally.
    expect((await apiDryRuns(await operator.metricsPort())) - dryRunsBefore).toBe(1);
    const a = await getObject<{ data: Record<string, string> }>(ns, 'configmap', 'app-a');
    expect(a?.data.version).toBe('2');
    for (const app of APPS.slice(1)) {
      const live = await getObject(ns, 'configmap', `app-${app}`);
      expect(live?.metadata.resourceVersion, `app-${app} was written`).toBe(before.get(app));
      const gs = await getGitSource(ns, app);
      expect(gs?.status?.summary).toMatchObject({ objects: 1, created: 0, configured: 0, unchanged: 1 });
    }
    const changed = await getGitSource(ns, 'a');
    expect(changed?.status?.summary).toMatchObject({ objects: 1, configured: 1 });

    // Every GitSource reports the disk its (shared) cache uses.
    await eventually(
      async () => {
        for (const app of APPS)
          expect(
            await metricSum(await operator.metricsPort(), 'converge_git_cache_bytes', {
              name: new RegExp(`^${app}$`),
            }),
          ).toBeGreaterThan(0);
        return true;
      },
      { timeoutMs: 15_000 },
    );
  });
});

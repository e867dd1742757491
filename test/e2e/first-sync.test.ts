// Journey: point a GitSource at a repository served over HTTP and watch it converge, then change it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import {
  commitFiles,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
} from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  eventsFor,
  getGitSource,
  inventoryIds,
  metricSum,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap, deployment, service } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('sync');
  fixture = await startGitFixture();
  http = await fixture.serveHttp();
  repo = await fixture.createRepo('app');
  operator = await startOperator({ namespace: ns });
});

afterAll(async () => {
  await operator?.stop();
  await fixture?.close();
  await deleteNamespace(ns);
});

describe('first sync and a new commit', () => {
  it('converges a repository, then a new commit goes Changed → Diverged → Converged', async () => {
    const first = await commitFiles(
      repo,
      {
        'deploy/config.yaml': configMap('web-config', { greeting: 'hello' }),
        'deploy/web.yaml': `${deployment('web', 2)}---\n${service('web')}`,
        'README.md': '# not a manifest',
      },
      'first',
    );
    await applyGitSource(ns, 'web', {
      url: http.url('app'),
      path: './deploy',
      // The new commit below is taken up by the requested reconcile alone: a poll landing between the
      // commit and the request would apply it first, and the requested pass would find nothing to do.
      interval: '1h',
      targetNamespace: ns,
      wait: false,
    });

    const gs = await waitForCondition(ns, 'web', 'Ready', 'True');
    expect(gs.status?.lastAppliedRevision).toBe(`main@sha1:${first}`);
    expect(condition(gs, 'Converged')?.status).toBe('True');
    expect(condition(gs, 'Changed')).toMatchObject({ status: 'False', reason: 'UpToDate' });
    expect(condition(gs, 'Diverged')).toMatchObject({ status: 'False', reason: 'InSync' });
    expect(gs.status?.summary).toMatchObject({ objects: 3, created: 3, pruned: 0 });
    expect(inventoryIds(gs).sort()).toEqual(
      [`${ns}_web-config__ConfigMap`, `${ns}_web_apps_Deployment`, `${ns}_web__Service`].sort(),
    );
    // deletionPolicy Orphan (the default) has nothing to do at deletion: no finalizer to get stuck on.
    expect(gs.metadata.finalizers ?? []).not.toContain('gitops.converge.dev/finalizer');
    for (const c of gs.status?.conditions ?? []) expect(c.observedGeneration).toBe(gs.metadata.generation);

    const dep = JSON.parse(
      await kubectlOk(['get', 'deployment', 'web', '-n', ns, '-o', 'json', '--show-managed-fields']),
    );
    expect(dep.spec.replicas).toBe(2);
    expect(dep.metadata.labels).toMatchObject({
      'gitops.converge.dev/name': 'web',
      'gitops.converge.dev/namespace': ns,
    });
    expect(dep.metadata.managedFields.some((m: { manager: string }) => m.manager === 'converge')).toBe(true);

    // kubectl shows the columns and `kubectl wait` returns.
    const table = await kubectlOk(['get', 'gitsources', '-n', ns]);
    expect(table).toMatch(
      new RegExp(`web\\s+True\\s+main@sha1:${first}\\s+Applied revision main@sha1:${first.slice(0, 7)}`),
    );
    await kubectlOk(['wait', '--for=condition=Ready', 'gitsource/web', '-n', ns, '--timeout=10s']);

    const second = await commitFiles(
      repo,
      {
        'deploy/web.yaml': `${deployment('web', 3)}---\n${service('web')}`,
        'deploy/config.yaml': configMap('web-config', { greeting: 'hi' }),
      },
      'scale up',
    );
    const reconciles = async () => metricSum(await operator.metricsPort(), 'converge_reconcile_total');
    const reconcilesBefore = await reconciles();
    await kubectlOk([
      'annotate',
      '--overwrite',
      'gitsource/web',
      '-n',
      ns,
      `gitops.converge.dev/requested-at=${Date.now()}`,
    ]);
    const after = await waitForCondition(ns, 'web', 'Ready', 'True', { revision: second });
    // One pass took the commit up: the poll that saw the ref move does not wake its own GitSource
    // for a second pass (which could start from a mid-pass copy and report that nothing changed).
    await new Promise((r) => setTimeout(r, 1000));
    expect(await reconciles()).toBe(reconcilesBefore + 1);
    expect(after.status?.summary).toMatchObject({ objects: 3, configured: 2, unchanged: 1 });
    expect(after.status?.changes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Deployment\/.+\/web configured: \/spec\/replicas 2→3/),
        expect.stringMatching(/^ConfigMap\/.+\/web-config configured: \/data\/greeting/),
      ]),
    );
    expect(after.status?.lastHandledReconcileAt).toBeDefined();
    expect(
      JSON.parse(await kubectlOk(['get', 'deployment', 'web', '-n', ns, '-o', 'json'])).spec.replicas,
    ).toBe(3);

    // One event per transition, in order: the first sync and the change each give Changed, Diverged, Converged.
    const reasons = (await eventsFor(ns, 'web')).map((e) => e.reason);
    expect(reasons).toEqual(['Changed', 'Diverged', 'Converged', 'Changed', 'Diverged', 'Converged']);
    const changed = (await eventsFor(ns, 'web')).filter((e) => e.reason === 'Changed')[1];
    expect(changed?.note).toBe(`main@sha1:${first.slice(0, 7)} → ${second.slice(0, 7)}`);

    const described = await kubectlOk(['describe', 'gitsource', 'web', '-n', ns]);
    expect(described).toMatch(/Converged/);
    expect(described).toMatch(/Events:/);
  });

  it('makes no writes on a no-op interval pass', async () => {
    const noopCount = async () => {
      const text = await (await fetch(`http://127.0.0.1:${await operator.metricsPort()}/metrics`)).text();
      return Number(/converge_reconcile_total\{result="noop"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    // Polls every 5 s from now on; the spec change itself gets a pass, which must end first.
    await kubectlOk([
      'patch',
      'gitsource',
      'web',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"interval":"5s"}}',
    ]);
    await eventually(async () => {
      const gs = await getGitSource(ns, 'web');
      return (
        gs?.status?.observedGeneration === gs?.metadata.generation &&
        condition(gs!, 'Ready')?.status === 'True' &&
        !condition(gs!, 'Reconciling')
      );
    });
    const noopsBefore = await noopCount();
    const before = await getGitSource(ns, 'web');
    const dep = JSON.parse(await kubectlOk(['get', 'deployment', 'web', '-n', ns, '-o', 'json']));
    // Two 5s intervals pass: the GitSource and the objects keep their resourceVersions.
    await new Promise((r) => setTimeout(r, 11_000));
    const after = await getGitSource(ns, 'web');
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    const depAfter = JSON.parse(await kubectlOk(['get', 'deployment', 'web', '-n', ns, '-o', 'json']));
    expect(depAfter.metadata.resourceVersion).toBe(dep.metadata.resourceVersion);
    // The interval passes did run (as no-ops), they just wrote nothing.
    expect(await noopCount()).toBeGreaterThanOrEqual(noopsBefore + 2);
    // converge_condition says what the GitSource says now: Ready, and no Reconciling series (the
    // condition went away when the work was done).
    const port = await operator.metricsPort();
    const mine = { namespace: new RegExp(`^${ns}$`), name: /^web$/ };
    expect(await metricSum(port, 'converge_condition', { ...mine, type: /^Ready$/, status: /^True$/ })).toBe(
      1,
    );
    expect(await metricSum(port, 'converge_condition', { ...mine, type: /^Ready$/ })).toBe(1);
    expect(await metricSum(port, 'converge_condition', { ...mine, type: /^Reconciling$/ })).toBe(0);
  }, 30_000);
});

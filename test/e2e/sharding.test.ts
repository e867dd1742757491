// Journey: two operators shard one namespace by label, each with its own Lease; moving a GitSource to
// the other shard is a label change, and the new shard takes it over without re-creating anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import { commitFiles, startGitFixture, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { apiWrites, applyGitSource, getObject, waitForCondition } from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let main: OperatorProcess;
let shardA: OperatorProcess;

const applied = (op: OperatorProcess, name: string) =>
  op.logs.some((l) => l.includes(`"gitsource":"${ns}/${name}"`) && /"msg":"(applied|in sync)"/.test(l));

beforeAll(async () => {
  ns = await createNamespace('shard');
  fixture = await startGitFixture();
  const [server, repo] = await Promise.all([fixture.serveHttp(), fixture.createRepo('app')]);
  http = server;
  await commitFiles(
    repo,
    { 'web/cm.yaml': configMap('web', { v: '1' }), 'api/cm.yaml': configMap('api', { v: '1' }) },
    'apps',
  );
  // As the chart runs them: the default release skips labelled sources, shard a takes only its own.
  const lease = (name: string) => ['--leader-elect=true', '--lease-namespace', ns, '--lease-name', name];
  [main, shardA] = await Promise.all([
    startOperator({
      namespace: ns,
      args: [...lease('converge-leader'), '--label-selector', '!gitops.converge.dev/shard'],
      env: { POD_NAME: 'main-0' },
    }),
    startOperator({
      namespace: ns,
      args: [...lease('converge-leader-a'), '--label-selector', 'gitops.converge.dev/shard=a'],
      env: { POD_NAME: 'shard-a-0' },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([main?.stop(), shardA?.stop()]);
  await fixture?.close();
  await deleteNamespace(ns);
});

describe('sharding', () => {
  it('each shard reconciles its own GitSources; a label moves one to the other shard without re-creating it', async () => {
    const spec = (path: string) => ({
      url: http.url('app'),
      path,
      interval: '5s',
      targetNamespace: ns,
      wait: false,
    });
    await applyGitSource(ns, 'web', spec('./web'));
    // Labelled from the start, so the default release never sees it.
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'GitSource',
        metadata: { name: 'api', namespace: ns, labels: { 'gitops.converge.dev/shard': 'a' } },
        spec: spec('./api'),
      }),
    );
    await waitForCondition(ns, 'web', 'Ready', 'True');
    await waitForCondition(ns, 'api', 'Ready', 'True');
    await eventually(async () => (applied(main, 'web') && applied(shardA, 'api')) || undefined, {
      what: 'each shard applied its own source',
    });
    expect(applied(main, 'web')).toBe(true);
    expect(applied(shardA, 'web')).toBe(false);
    expect(applied(shardA, 'api')).toBe(true);
    // Each shard holds its own Lease.
    const holder = async (lease: string) =>
      JSON.parse(await kubectlOk(['get', 'lease', lease, '-n', ns, '-o', 'json'])).spec
        .holderIdentity as string;
    expect(await holder('converge-leader')).toBe('main-0');
    expect(await holder('converge-leader-a')).toBe('shard-a-0');

    // Move web to shard a: shard a adopts it, finds it in sync, and writes nothing to the object.
    const before = await getObject(ns, 'configmap', 'web');
    await kubectlOk(['label', 'gitsource', 'web', '-n', ns, 'gitops.converge.dev/shard=a']);
    await eventually(async () => applied(shardA, 'web') || undefined, {
      timeoutMs: 30_000,
      what: 'shard a takes over web',
    });
    const after = await getObject(ns, 'configmap', 'web');
    expect(after?.metadata?.uid).toBe(before?.metadata?.uid);
    expect(after?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);
    await waitForCondition(ns, 'web', 'Ready', 'True');
    // The default release no longer touches it: a commit is applied by shard a alone.
    const mainWrites = await apiWrites(await main.metricsPort());
    await kubectlOk([
      'annotate',
      '--overwrite',
      'gitsource',
      'web',
      '-n',
      ns,
      `gitops.converge.dev/requested-at=${Date.now()}`,
    ]);
    await eventually(
      async () =>
        shardA.logs.filter((l) => l.includes(`"gitsource":"${ns}/web"`) && l.includes('"msg":"in sync"'))
          .length > 1 || undefined,
      { timeoutMs: 30_000, what: 'shard a handles the requested reconcile' },
    );
    expect(await apiWrites(await main.metricsPort())).toBe(mainWrites);
  }, 120_000);
});

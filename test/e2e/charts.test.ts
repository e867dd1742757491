// Journey: a chart from a chart repository (helm package + helm repo index, served with basic auth)
// as a GitSource: first sync, a new version, values from Git and a ConfigMap, bad input that applies
// and prunes nothing, and the CLI (get, build, history, rollback pins a version).
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kubectl, kubectlOk } from '../support/cluster.ts';
import { startChartRepo, type ChartRepo } from '../support/chart-repo.ts';
import { converge } from '../support/cli.ts';
import { commitFiles, startGitFixture, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  getGitSource,
  inventoryIds,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';

let ns: string;
let repo: ChartRepo;
let fixture: GitFixture;
let http: HttpGitServer;
let operator: OperatorProcess;
const digests: Record<string, string> = {};
const password = 'chart-repo-password-7431';

const configData = async (name: string) =>
  JSON.parse(await kubectlOk(['get', 'configmap', name, '-n', ns, '-o', 'jsonpath={.data}'])) as Record<
    string,
    string
  >;

beforeAll(async () => {
  ns = await createNamespace('charts');
  repo = await startChartRepo({ auth: { username: 'reader', password } });
  for (const version of ['1.0.0', '1.1.0', '2.0.0'])
    digests[version] = (await repo.addChart({ name: 'demo', version })).digest;
  fixture = await startGitFixture();
  http = await fixture.serveHttp();
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'charts-auth', namespace: ns },
      stringData: repo.secretData(),
    }),
  );
  operator = await startOperator({ namespace: ns });
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await repo?.close();
  await fixture?.close();
  await deleteNamespace(ns);
});

describe('a chart from an HTTP chart repository', () => {
  it('converges the highest version in the range, names chart@version@digest, and takes up a new one', async () => {
    await applyGitSource(ns, 'demo', {
      chart: {
        repository: repo.url,
        name: 'demo',
        version: '>=1.0.0 <2.0.0',
        secretRef: { name: 'charts-auth' },
      },
      interval: '1h',
      targetNamespace: ns,
      helm: { releaseName: 'web', values: { message: 'from spec' } },
      wait: false,
    });
    const gs = await waitForCondition(ns, 'demo', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(gs.status?.lastAppliedRevision).toBe(`demo@1.1.0@sha256:${digests['1.1.0']}`);
    expect(inventoryIds(gs)).toEqual([`${ns}_web-config__ConfigMap`]);
    expect(await configData('web-config')).toEqual({ message: 'from spec', chart: 'demo-1.1.0' });

    const { digest } = await repo.addChart({ name: 'demo', version: '1.2.0' });
    await requestReconcile(ns, 'demo');
    await waitForCondition(ns, 'demo', 'Ready', 'True', {
      revision: `demo@1.2.0@sha256:${digest}`,
      timeoutMs: 60_000,
    });
    expect((await configData('web-config')).chart).toBe('demo-1.2.0');
    // The password reached neither the logs nor the status.
    expect(operator.logs.join('\n')).not.toContain(password);
    expect(JSON.stringify(await getGitSource(ns, 'demo'))).not.toContain(password);
  });

  it('the CLI shows, builds and rolls back the chart by version', async () => {
    const get = await converge(['get', 'demo', '-n', ns]);
    expect(get.stdout).toMatch(/demo@1\.2\.0@sha256:[0-9a-f]{7}\b/);
    const build = await converge(['build', 'demo', '-n', ns]);
    expect(build.code).toBe(0);
    expect(build.stdout).toContain('name: web-config');
    expect(build.stdout).toContain('chart: demo-1.2.0');
    const rollback = await converge(['rollback', 'demo', '-n', ns]);
    expect(rollback.stdout).toContain(`pinned to chart demo 1.1.0`);
    const gs = await waitForCondition(ns, 'demo', 'Ready', 'True', {
      revision: 'demo@1.1.0@',
      timeoutMs: 60_000,
    });
    expect(gs.spec.chart).toMatchObject({ version: '1.1.0' });
    expect((await configData('web-config')).chart).toBe('demo-1.1.0');
    const resume = await converge(['resume-tracking', 'demo', '-n', ns]);
    expect(resume.stdout).toContain('follows chart version ">=1.0.0 <2.0.0" again');
    expect((await getGitSource(ns, 'demo'))?.spec.chart).toMatchObject({ version: '>=1.0.0 <2.0.0' });
  });

  it('values from Git files and a ConfigMap, merged before the inline values; the revision names both', async () => {
    const git = await fixture.createRepo('values');
    const commit = await commitFiles(
      git,
      { 'apps/demo/values.yaml': 'message: from git\n', 'apps/demo/prod.yaml': 'message: from prod file\n' },
      'values',
    );
    await kubectlOk(['create', 'configmap', 'demo-values', '-n', ns, '--from-literal=values.yaml=extra: 1']);
    await applyGitSource(ns, 'valued', {
      url: http.url('values'),
      path: 'apps/demo',
      chart: { repository: repo.url, name: 'demo', version: '1.0.0', secretRef: { name: 'charts-auth' } },
      interval: '1h',
      targetNamespace: ns,
      helm: {
        releaseName: 'valued',
        valuesFiles: ['values.yaml', 'prod.yaml'],
        valuesFrom: [{ kind: 'ConfigMap', name: 'demo-values' }],
      },
      wait: false,
    });
    const gs = await waitForCondition(ns, 'valued', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(gs.status?.lastAppliedRevision).toBe(`demo@1.0.0@sha256:${digests['1.0.0']}+main@sha1:${commit}`);
    expect((await configData('valued-config')).message).toBe('from prod file');
  });

  it('no version in the range: RefNotFound listing the nearest, nothing applied or pruned', async () => {
    await applyGitSource(ns, 'demo', {
      chart: { repository: repo.url, name: 'demo', version: '>=3.0.0', secretRef: { name: 'charts-auth' } },
      interval: '1h',
      targetNamespace: ns,
      helm: { releaseName: 'web', values: { message: 'from spec' } },
      wait: false,
    });
    const gs = await waitForCondition(ns, 'demo', 'Ready', 'False', {
      reason: 'RefNotFound',
      timeoutMs: 60_000,
    });
    expect(condition(gs, 'Ready')?.message).toContain('no version of chart demo in');
    expect(condition(gs, 'Ready')?.message).toContain(
      'matches ">=3.0.0"; the nearest are 2.0.0, 1.2.0, 1.1.0',
    );
    expect((await kubectl(['get', 'configmap', 'web-config', '-n', ns])).code).toBe(0);
  });

  it('a digest mismatch is VerificationFailed, the applied chart stays', async () => {
    await applyGitSource(ns, 'demo', {
      chart: {
        repository: repo.url,
        name: 'demo',
        version: '>=2.0.0 <3.0.0',
        secretRef: { name: 'charts-auth' },
      },
      interval: '1h',
      targetNamespace: ns,
      helm: { releaseName: 'web', values: { message: 'from spec' } },
      wait: false,
    });
    await waitForCondition(ns, 'demo', 'Ready', 'True', { revision: 'demo@2.0.0@', timeoutMs: 60_000 });
    // A new version whose archive is not the one the index names.
    const { digest } = await repo.addChart({ name: 'demo', version: '2.0.1' });
    await repo.put('index.yaml', (await repo.readIndex()).replace(digest, 'ab'.repeat(32)));
    onTestFinished(() => repo.reindex());
    await requestReconcile(ns, 'demo');
    const gs = await waitForCondition(ns, 'demo', 'Ready', 'False', {
      reason: 'VerificationFailed',
      timeoutMs: 60_000,
    });
    expect(condition(gs, 'Ready')?.message).toMatch(
      /chart demo 2\.0\.1 from .*: its sha256 is [0-9a-f]{64}, the repository's index says abab/,
    );
    expect(gs.status?.lastAppliedRevision).toMatch(/^demo@2\.0\.0@/);
    expect((await configData('web-config')).chart).toBe('demo-2.0.0');
  });

  it('a wrong password is AuthenticationFailed and Stalled; the inventory stays', async () => {
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'charts-auth', namespace: ns },
        stringData: { username: 'reader', password: 'not-the-password' },
      }),
    );
    await requestReconcile(ns, 'demo');
    const gs = await waitForCondition(ns, 'demo', 'Ready', 'False', {
      reason: 'AuthenticationFailed',
      timeoutMs: 60_000,
    });
    expect(condition(gs, 'Stalled')?.status).toBe('True');
    expect(condition(gs, 'Ready')?.message).toContain('answered 401: check the credentials in the Secret');
    expect(inventoryIds(gs)).toEqual([`${ns}_web-config__ConfigMap`]);
    await eventually(
      async () => (await kubectl(['get', 'configmap', 'web-config', '-n', ns])).code === 0 || undefined,
      {
        timeoutMs: 5_000,
        what: 'web-config still there',
      },
    );
  });
});

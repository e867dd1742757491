// Journey: hand edits that strip or rewrite our ownership labels are still drift; reported drift
// stays reported through unrelated edits, no-op passes and an operator restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import { commitFiles, startGitFixture, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { applyGitSource, condition, getGitSource, getObject, waitForCondition } from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('driftlabels');
  fixture = await startGitFixture();
  const [server, repo] = await Promise.all([fixture.serveHttp(), fixture.createRepo('app')]);
  http = server;
  await commitFiles(
    repo,
    {
      'strip/s1.yaml': configMap('s1', { v: '1' }),
      'report/r1.yaml': configMap('r1', { v: '1' }),
      'report/r2.yaml': configMap('r2', { v: '1' }),
    },
    'apps',
  );
  operator = await startOperator({ namespace: ns });
});

afterAll(async () => {
  await operator?.stop();
  await fixture?.close();
  await deleteNamespace(ns);
});

const label = async (name: string) =>
  (await getObject(ns, 'configmap', name))?.metadata?.labels?.['gitops.converge.dev/name'] as
    string | undefined;

/** Holds for `ms`: `check` stays true on every poll. */
async function staysFor(ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    expect(await check()).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('drift and ownership labels', () => {
  it('restores ownership labels that were removed or rewritten by hand, and the edit made with it', async () => {
    // interval 1m: a correction seen within seconds comes from the watch.
    await applyGitSource(ns, 'strip', {
      url: http.url('app'),
      path: './strip',
      interval: '1m',
      targetNamespace: ns,
      wait: false,
    });
    await waitForCondition(ns, 'strip', 'Ready', 'True');
    expect(await label('s1')).toBe('strip');

    await kubectlOk(['label', 'configmap', 's1', '-n', ns, 'gitops.converge.dev/name-']);
    await kubectlOk(['patch', 'configmap', 's1', '-n', ns, '-p', '{"data":{"v":"edited"}}']);
    await eventually(
      async () => {
        const cm = await getObject(ns, 'configmap', 's1');
        return cm?.metadata?.labels?.['gitops.converge.dev/name'] === 'strip' && cm.data?.v === '1'
          ? true
          : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'label and data restored after the label was removed' },
    );

    await kubectlOk([
      'label',
      '--overwrite',
      'configmap',
      's1',
      '-n',
      ns,
      'gitops.converge.dev/name=intruder',
    ]);
    await eventually(async () => ((await label('s1')) === 'strip' ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: 'label restored after it was rewritten',
    });
  });

  it('keeps reporting drift through an unrelated edit, no-op intervals and an operator restart', async () => {
    await applyGitSource(ns, 'rep', {
      url: http.url('app'),
      path: './report',
      targetNamespace: ns,
      interval: '5s',
      drift: 'Report',
      wait: false,
    });
    await waitForCondition(ns, 'rep', 'Ready', 'True');
    await kubectlOk(['patch', 'configmap', 'r1', '-n', ns, '-p', '{"data":{"v":"by-hand"}}']);
    await waitForCondition(ns, 'rep', 'Diverged', 'True');
    const reported = async () => {
      const gs = await getGitSource(ns, 'rep');
      return condition(gs, 'Diverged')?.reason === 'Drifted' && condition(gs, 'Diverged')?.status === 'True';
    };
    expect(condition(await getGitSource(ns, 'rep'), 'Diverged')?.message).toMatch(/r1/);

    // A sibling is touched in a way that is not drift; two no-op intervals pass.
    await kubectlOk(['annotate', 'configmap', 'r2', '-n', ns, 'note=harmless']);
    await staysFor(11_000, reported);

    // The operator restarts: its memory is gone, the report is not, and r1 is left as the user made it.
    await operator.stop();
    operator = await startOperator({ namespace: ns });
    await eventually(
      async () => (operator.logs.some((l) => l.includes('drift reported')) ? true : undefined),
      {
        timeoutMs: 20_000,
        what: 'the restarted operator re-checks the source',
      },
    );
    await staysFor(3_000, reported);
    expect((await getObject(ns, 'configmap', 'r1'))?.data).toEqual({ v: 'by-hand' });

    // Put back by hand: InSync again.
    await kubectlOk(['patch', 'configmap', 'r1', '-n', ns, '-p', '{"data":{"v":"1"}}']);
    await waitForCondition(ns, 'rep', 'Diverged', 'False');
  }, 90_000);
});

// Journey: someone edits or deletes a managed object by hand; Converge restores it within a second,
// or only reports it with drift: Report, leaves ignored fields alone, and never fights its own writes.
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
  apiWrites,
  applyGitSource,
  condition,
  eventsFor,
  getGitSource,
  getObject,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap, deployment } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;
let operator: OperatorProcess;

beforeAll(async () => {
  ns = await createNamespace('drift');
  fixture = await startGitFixture();
  [http, repo] = await Promise.all([fixture.serveHttp(), fixture.createRepo('app')]);
  await commitFiles(
    repo,
    {
      'correct/web.yaml': `${deployment('web', 2)}---\n${configMap('web-config', { greeting: 'hello' })}`,
      'report/rep.yaml': deployment('rep', 2),
      'ignore/ign.yaml': deployment('ign', 2, 'nginx:1.27'),
    },
    'three apps',
  );
  operator = await startOperator({ namespace: ns });
});

afterAll(async () => {
  await operator?.stop();
  await fixture?.close();
  await deleteNamespace(ns);
});

const replicas = async (name: string) => (await getObject(ns, 'deployment', name))?.spec?.replicas;

/** Milliseconds until `check` holds, polling every 50 ms. */
async function timeUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = performance.now();
  await eventually(async () => (await check()) || undefined, { timeoutMs, intervalMs: 50, what: 'restore' });
  return Math.round(performance.now() - start);
}

/** Holds for `ms`: `check` stays true on every poll (proves something does NOT happen). */
async function staysFor(ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    expect(await check()).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('drift', () => {
  it('corrects a hand edit (patch and scale) within a second and recreates a deleted object', async () => {
    // interval 1m: any correction seen here comes from the watch, not from a scheduled pass.
    await applyGitSource(ns, 'web', {
      url: http.url('app'),
      path: './correct',
      interval: '1m',
      targetNamespace: ns,
      wait: false,
    });
    await waitForCondition(ns, 'web', 'Ready', 'True');

    await kubectlOk([
      'patch',
      'deployment',
      'web',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"replicas":5}}',
    ]);
    const patchMs = await timeUntil(async () => (await replicas('web')) === 2);
    console.log(`drift: kubectl patch replicas 5 restored to 2 in ${patchMs} ms`);
    expect(patchMs).toBeLessThan(2000);
    await eventually(
      async () =>
        (await eventsFor(ns, 'web')).some((e) => e.reason === 'DriftCorrected' && e.note?.includes('web')),
      {
        timeoutMs: 5000,
        what: 'DriftCorrected event',
      },
    );

    await kubectlOk(['scale', 'deployment', 'web', '-n', ns, '--replicas=4']);
    // kubectl scale writes through the scale subresource: its managedFields entry says subresource: scale.
    const scaleMs = await timeUntil(async () => (await replicas('web')) === 2, 3000).catch(() => Infinity);
    console.log(`drift: kubectl scale --replicas=4 restored to 2 in ${scaleMs} ms`);
    expect.soft(scaleMs, 'kubectl scale corrected').toBeLessThan(2000);

    const uid = (await getObject(ns, 'configmap', 'web-config'))?.metadata.uid;
    await kubectlOk(['delete', 'configmap', 'web-config', '-n', ns]);
    const recreateMs = await timeUntil(async () => {
      const cm = await getObject(ns, 'configmap', 'web-config');
      return !!cm && cm.metadata.uid !== uid && cm.data?.greeting === 'hello';
    });
    console.log(`drift: deleted ConfigMap recreated in ${recreateMs} ms`);
    expect(recreateMs).toBeLessThan(2000);
    const gs = await waitForCondition(ns, 'web', 'Ready', 'True');
    expect(condition(gs, 'Diverged')?.status).toBe('False');
  });

  it('does not fight its own writes: after convergence nothing is written for 3 s', async () => {
    // The controller-manager writes Deployment status for a while after a scale; wait until it is quiet.
    let last = '';
    let stableSince = Date.now();
    await eventually(
      async () => {
        const rv = (await getObject(ns, 'deployment', 'web'))?.metadata.resourceVersion ?? '';
        if (rv !== last) [last, stableSince] = [rv, Date.now()];
        return Date.now() - stableSince > 1000;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'Deployment quiet' },
    );
    const port = await operator.metricsPort();
    const writesBefore = await apiWrites(port);
    const gsBefore = (await getGitSource(ns, 'web'))?.metadata.resourceVersion;
    await new Promise((r) => setTimeout(r, 3000));
    expect((await getObject(ns, 'deployment', 'web'))?.metadata.resourceVersion).toBe(last);
    expect((await getGitSource(ns, 'web'))?.metadata.resourceVersion).toBe(gsBefore);
    expect(await apiWrites(port)).toBe(writesBefore);
  });

  it('drift: Report marks Diverged=True (Drifted, with the field path) and leaves the object alone', async () => {
    await applyGitSource(ns, 'reported', {
      url: http.url('app'),
      path: './report',
      interval: '1m',
      targetNamespace: ns,
      wait: false,
      drift: 'Report',
    });
    await waitForCondition(ns, 'reported', 'Ready', 'True');

    await kubectlOk([
      'patch',
      'deployment',
      'rep',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"replicas":5}}',
    ]);
    const gs = await waitForCondition(ns, 'reported', 'Diverged', 'True', {
      reason: 'Drifted',
      timeoutMs: 5000,
    });
    expect(condition(gs, 'Diverged')?.message).toMatch(/Deployment\/.*rep.*\/spec\/replicas/);
    await staysFor(2000, async () => (await replicas('rep')) === 5);
    const reasons = (await eventsFor(ns, 'reported')).map((e) => e.reason);
    expect(reasons).not.toContain('DriftCorrected');
    expect(reasons).toContain('Diverged');
  });

  it('an ignore rule for /spec/replicas: a replicas edit is neither corrected nor reported, other fields still are', async () => {
    await applyGitSource(ns, 'ignored', {
      url: http.url('app'),
      path: './ignore',
      interval: '1m',
      targetNamespace: ns,
      wait: false,
      ignore: [{ target: { kind: 'Deployment', name: 'ign' }, paths: ['/spec/replicas'] }],
    });
    await waitForCondition(ns, 'ignored', 'Ready', 'True');

    await kubectlOk([
      'patch',
      'deployment',
      'ign',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"replicas":7}}',
    ]);
    await staysFor(2000, async () => (await replicas('ign')) === 7);
    const gs = await getGitSource(ns, 'ignored');
    expect(condition(gs, 'Diverged')?.status).toBe('False');
    expect((await eventsFor(ns, 'ignored')).map((e) => e.reason)).not.toContain('DriftCorrected');

    // Not a dead watch: an edit of a field that is not ignored is corrected, replicas stays as edited.
    await kubectlOk(['set', 'image', 'deployment/ign', '-n', ns, 'ign=nginx:1.28']);
    const image = async () =>
      (
        await getObject<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(
          ns,
          'deployment',
          'ign',
        )
      )?.spec.template.spec.containers[0]?.image;
    const imageMs = await timeUntil(async () => (await image()) === 'nginx:1.27');
    console.log(`drift: image edit on an object with ignored replicas restored in ${imageMs} ms`);
    expect(await replicas('ign')).toBe(7);
  });
});

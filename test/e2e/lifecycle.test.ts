// Journey: the life of a GitSource: suspend and resume, dependsOn ordering, deletion with Orphan and
// Delete, and `kubectl wait --for=condition=Ready`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubectl, kubectlOk } from '../support/cluster.ts';
import { commitFiles, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  getGitSource,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { configMap } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;

let journey: Journey | undefined;
beforeAll(async () => {
  journey = await startJourney('life');
  ({ ns, fixture, http } = journey);
});

afterAll(() => stopJourney(journey));

const cmData = async (name: string) => (await getObject(ns, 'configmap', name))?.data;

describe('lifecycle', () => {
  it('suspend: Ready=False Suspended, a new commit waits; resuming applies it', async () => {
    const repo = await fixture.createRepo('sus');
    await commitFiles(repo, { 'cm.yaml': configMap('sus', { v: '1' }) }, 'v1');
    await applyGitSource(ns, 'sus', { url: http.url('sus'), interval: '5s', targetNamespace: ns });
    await waitForCondition(ns, 'sus', 'Ready', 'True');

    await kubectlOk([
      'patch',
      'gitsource',
      'sus',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"suspend":true}}',
    ]);
    const suspended = await waitForCondition(ns, 'sus', 'Ready', 'False', { reason: 'Suspended' });
    const c2 = await commitFiles(repo, { 'cm.yaml': configMap('sus', { v: '2' }) }, 'v2');
    await requestReconcile(ns, 'sus');
    const end = Date.now() + 2000;
    while (Date.now() < end) {
      expect(await cmData('sus')).toEqual({ v: '1' });
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await getGitSource(ns, 'sus'))?.status?.lastAppliedRevision).toBe(
      suspended.status?.lastAppliedRevision,
    );

    await kubectlOk([
      'patch',
      'gitsource',
      'sus',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"spec":{"suspend":false}}',
    ]);
    const resumed = await waitForCondition(ns, 'sus', 'Ready', 'True', { revision: c2 });
    expect(condition(resumed, 'Ready')?.reason).toBe('Succeeded');
    expect(await cmData('sus')).toEqual({ v: '2' });
  });

  it('dependsOn: B waits with DependencyNotReady and is re-queued the moment A is Ready', async () => {
    const [ra, rb] = await Promise.all([fixture.createRepo('dep-a'), fixture.createRepo('dep-b')]);
    await Promise.all([
      commitFiles(ra, { 'a.yaml': configMap('from-a', { layer: 'infra' }) }, 'a'),
      commitFiles(rb, { 'b.yaml': configMap('from-b', { layer: 'app' }) }, 'b'),
    ]);
    // interval/retryInterval 1m: if B turns Ready within seconds of A, it was woken, not polled.
    await applyGitSource(ns, 'b', {
      url: http.url('dep-b'),
      interval: '1m',
      retryInterval: '1m',
      targetNamespace: ns,
      dependsOn: [{ name: 'a' }],
    });
    const blocked = await waitForCondition(ns, 'b', 'Ready', 'False', { reason: 'DependencyNotReady' });
    expect(condition(blocked, 'Ready')?.message).toMatch(new RegExp(`${ns}/a`));
    expect(await getObject(ns, 'configmap', 'from-b')).toBeUndefined();
    // kubectl wait fails while B is not Ready.
    expect(
      (await kubectl(['wait', '--for=condition=Ready', 'gitsource/b', '-n', ns, '--timeout=1s'])).code,
    ).not.toBe(0);

    await applyGitSource(ns, 'a', { url: http.url('dep-a'), interval: '5s', targetNamespace: ns });
    let aReadyAt = 0;
    let bReadyAt = 0;
    await eventually(
      async () => {
        const [a, b] = await Promise.all([getGitSource(ns, 'a'), getGitSource(ns, 'b')]);
        if (!aReadyAt && condition(a, 'Ready')?.status === 'True') aReadyAt = Date.now();
        if (!bReadyAt && condition(b, 'Ready')?.status === 'True') bReadyAt = Date.now();
        return aReadyAt && bReadyAt;
      },
      { timeoutMs: 20_000, what: 'a and b Ready' },
    );
    console.log(`lifecycle: b Ready ${bReadyAt - aReadyAt} ms after a was seen Ready`);
    expect(bReadyAt).toBeGreaterThanOrEqual(aReadyAt);
    expect(bReadyAt - aReadyAt).toBeLessThan(3000);
    expect(await cmData('from-b')).toEqual({ layer: 'app' });
    const r = await kubectl(['wait', '--for=condition=Ready', 'gitsource/b', '-n', ns, '--timeout=10s']);
    expect(r.code).toBe(0);
  });

  it('deletion: Orphan (default) keeps the objects, Delete removes them before the GitSource goes', async () => {
    const [ro, rd] = await Promise.all([fixture.createRepo('orphan'), fixture.createRepo('delete')]);
    await Promise.all([
      commitFiles(ro, { 'o.yaml': configMap('orphaned', { k: 'v' }) }, 'o'),
      commitFiles(rd, { 'd.yaml': configMap('deleted', { k: 'v' }) }, 'd'),
    ]);
    await applyGitSource(ns, 'orphan', { url: http.url('orphan'), interval: '5s', targetNamespace: ns });
    await applyGitSource(ns, 'delete', {
      url: http.url('delete'),
      interval: '5s',
      targetNamespace: ns,
      deletionPolicy: 'Delete',
    });
    await Promise.all([
      waitForCondition(ns, 'orphan', 'Ready', 'True'),
      waitForCondition(ns, 'delete', 'Ready', 'True'),
    ]);
    await kubectlOk([
      'wait',
      '--for=condition=Ready',
      'gitsource/orphan',
      'gitsource/delete',
      '-n',
      ns,
      '--timeout=10s',
    ]);

    await kubectlOk(['delete', 'gitsource', 'orphan', '-n', ns, '--timeout=20s']);
    expect(await getGitSource(ns, 'orphan')).toBeUndefined();
    expect(await cmData('orphaned')).toEqual({ k: 'v' });

    const started = Date.now();
    await kubectlOk(['delete', 'gitsource', 'delete', '-n', ns, '--timeout=20s']);
    console.log(`lifecycle: deletionPolicy Delete finished in ${Date.now() - started} ms`);
    expect(await getGitSource(ns, 'delete')).toBeUndefined();
    const left = await getObject(ns, 'configmap', 'deleted');
    expect(left === undefined || left.metadata.deletionTimestamp !== undefined).toBe(true);
    // Still orphaned a moment later: no late prune.
    expect(await cmData('orphaned')).toEqual({ k: 'v' });
  });
});

// Journey: bad input (broken YAML, an object the API server rejects, a missing CRD, a missing secret)
// gives Ready=False with a precise reason and message, and the last good revision stays as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, type GitFixture, type GitRepo, type HttpGitServer } from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  eventsFor,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { configMap, service } from '../support/apps.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;

let journey: Journey | undefined;
beforeAll(async () => {
  journey = await startJourney('bad');
  ({ ns, fixture, http } = journey);
  repo = await fixture.createRepo('app');
});

afterAll(() => stopJourney(journey));

const BROKEN = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: broken',
  'data:',
  '  a: [unclosed',
  '  b: "2"',
  '',
].join('\n');
const rv = async (kind: string, name: string) => (await getObject(ns, kind, name))?.metadata.resourceVersion;

describe('bad input', () => {
  it('broken YAML: RenderFailed naming the file, last good revision untouched, nothing pruned; a good commit recovers', async () => {
    const c1 = await commitFiles(
      repo,
      { 'good.yaml': configMap('good', { v: '1' }), 'other.yaml': configMap('other', { v: '1' }) },
      'good',
    );
    await applyGitSource(ns, 'app', {
      url: http.url('app'),
      // Each commit is taken up by requestReconcile alone: a poll landing between a commit and the
      // request would apply it first, and leave the requested pass (the status read) nothing to do.
      interval: '1h',
      retryInterval: '5s',
      targetNamespace: ns,
    });
    await waitForCondition(ns, 'app', 'Ready', 'True', { revision: c1 });
    const before = { good: await rv('configmap', 'good'), other: await rv('configmap', 'other') };

    // The broken commit also drops other.yaml and changes good.yaml: neither may happen.
    const c2 = await commitFiles(
      repo,
      { 'broken.yaml': BROKEN, 'other.yaml': null, 'good.yaml': configMap('good', { v: '2' }) },
      'broken',
    );
    await requestReconcile(ns, 'app');
    const failed = await waitForCondition(ns, 'app', 'Ready', 'False', { reason: 'RenderFailed' });
    const message = condition(failed, 'Ready')?.message ?? '';
    console.log(`bad-input: RenderFailed message: ${message}`);
    expect(message).toContain('broken.yaml');
    expect(message).toMatch(/line \d+/);
    expect(failed.status?.lastAppliedRevision).toBe(`main@sha1:${c1}`);
    expect(failed.status?.lastAttemptedRevision).toBe(`main@sha1:${c2}`);
    // The same commit will never render: Stalled until the next commit (issue 10).
    expect(condition(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'RenderFailed' });
    expect(await rv('configmap', 'good')).toBe(before.good);
    expect(await rv('configmap', 'other')).toBe(before.other);
    expect((await eventsFor(ns, 'app')).map((e) => e.reason)).toContain('ReconcileFailed');

    const c3 = await commitFiles(repo, { 'broken.yaml': configMap('broken', { a: 'fixed' }) }, 'fix');
    await requestReconcile(ns, 'app');
    const ok = await waitForCondition(ns, 'app', 'Ready', 'True', { revision: c3 });
    expect(ok.status?.summary).toMatchObject({ created: 1, configured: 1, pruned: 1 });
    expect(await getObject(ns, 'configmap', 'other')).toBeUndefined();
    expect((await getObject(ns, 'configmap', 'good'))?.data).toEqual({ v: '2' });
  });

  it('an object the API server rejects: ApplyFailed naming the object, nothing pruned', async () => {
    const keep = await rv('configmap', 'broken');
    expect(keep).toBeDefined();
    // Drops broken.yaml (would be pruned on success) and adds a Service with an invalid port.
    await commitFiles(repo, { 'broken.yaml': null, 'svc.yaml': service('bad-svc', 99999) }, 'invalid port');
    await requestReconcile(ns, 'app');
    const failed = await waitForCondition(ns, 'app', 'Ready', 'False', { reason: 'ApplyFailed' });
    const message = condition(failed, 'Ready')?.message ?? '';
    console.log(`bad-input: ApplyFailed message: ${message}`);
    expect(message).toMatch(/Service\/[^ ]*bad-svc/);
    expect(message).toMatch(/port/);
    // An invalid object fails the same way at every retry of this commit.
    expect(condition(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    expect(await rv('configmap', 'broken')).toBe(keep);
    expect(await getObject(ns, 'service', 'bad-svc')).toBeUndefined();
  });

  it('a kind with no CRD: Ready=False naming the kind', async () => {
    const widgets = await fixture.createRepo('widgets');
    await commitFiles(
      widgets,
      { 'w.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n' },
      'widget',
    );
    await applyGitSource(ns, 'widgets', { url: http.url('widgets'), interval: '5s', targetNamespace: ns });
    const failed = await waitForCondition(ns, 'widgets', 'Ready', 'False', { timeoutMs: 20_000 });
    const ready = condition(failed, 'Ready');
    console.log(`bad-input: missing CRD: ${ready?.reason}: ${ready?.message}`);
    expect(ready?.reason).not.toBe('Progressing');
    expect(ready?.message).toMatch(/Widget/);
    expect(ready?.message).toMatch(/example\.com/);
  });

  it('a missing secretRef secret: MissingSecret and Stalled=True', async () => {
    await applyGitSource(ns, 'nosecret', {
      url: http.url('widgets'),
      interval: '5s',
      secretRef: { name: 'absent-auth' },
    });
    const failed = await waitForCondition(ns, 'nosecret', 'Ready', 'False', { reason: 'MissingSecret' });
    expect(condition(failed, 'Ready')?.message).toContain('absent-auth');
    expect(condition(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'MissingSecret' });
  });
});

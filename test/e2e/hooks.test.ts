// Journey: repositories written for Helm and Argo CD apply unchanged. Helm hooks and Argo CD hooks
// run around a revision (once, never inventoried), sync waves order the apply, objects without a
// namespace land in the GitSource's namespace, and a failing hook stops the revision.
// No kubelet runs pods here: the test ends a Job's pod by writing its status (test/support/jobs.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  getGitSource,
  getObject,
  inventoryIds,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { startOperator } from '../support/operator.ts';
import { eventually, kubectlOk } from '../support/cluster.ts';
import { configMapWithAnnotations } from '../support/apps.ts';
import { finishJob, jobManifest } from '../support/jobs.ts';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let journey: Journey | undefined;

beforeAll(async () => {
  journey = await startJourney('hooks');
  ({ ns, fixture, http } = journey);
});

afterAll(() => stopJourney(journey));

interface Live {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
}

async function jobsOf(owner: string): Promise<Live[]> {
  const out = await kubectlOk([
    'get',
    'jobs',
    '-n',
    ns,
    '-l',
    `gitops.converge.dev/hook-owner-name=${owner}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(out) as { items: Live[] }).items;
}

const chart = (message: string) => ({
  'chart/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 0.1.0\n',
  'chart/values.yaml': `message: ${message}\n`,
  'chart/templates/config.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: {{ .Release.Name }}-config',
    'data:',
    '  message: {{ .Values.message | quote }}',
    '  releaseNamespace: {{ .Release.Namespace | quote }}',
    '',
  ].join('\n'),
  'chart/templates/migrate.yaml': jobManifest(
    '{{ .Release.Name }}-migrate',
    {
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '1',
      'converge.test/values': '{{ .Values.message }}',
    },
    // kwok leaves the pod running; the test decides how the hook ends (finishJob).
    { pods: 'never-ready' },
  ),
  'chart/templates/done.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: {{ .Release.Name }}-done',
    '  annotations:',
    '    helm.sh/hook: post-install,post-upgrade',
    'data:',
    '  message: {{ .Values.message | quote }}',
    '',
  ].join('\n'),
});

describe('hooks and waves', () => {
  it('runs Helm pre/post hooks once per revision, in the release namespace, and stops at a failing hook', async () => {
    const repo = await fixture.createRepo('chart');
    await commitFiles(repo, chart('one'), 'a chart with hooks');
    // No targetNamespace: the chart's release namespace is the GitSource's.
    await applyGitSource(ns, 'chart', {
      url: http.url('chart'),
      path: 'chart',
      interval: '5s',
      timeout: '90s',
    });

    // The pre-install hook runs first; the release's objects wait for it.
    await eventually(() => getObject(ns, 'job', 'chart-migrate'), {
      timeoutMs: 30_000,
      what: 'the pre-install Job',
    });
    expect(await getObject(ns, 'configmap', 'chart-config')).toBeUndefined();
    const running = await getGitSource(ns, 'chart');
    expect(condition(running, 'Reconciling')?.message).toMatch(
      new RegExp(`pre-sync hook Job/${ns}/chart-migrate \\(helm.sh/hook: pre-install,pre-upgrade\\)`),
    );
    await finishJob(ns, 'chart-migrate', 'Succeeded');

    const ready = await waitForCondition(ns, 'chart', 'Ready', 'True', { timeoutMs: 60_000 });
    const config = await getObject<Live>(ns, 'configmap', 'chart-config');
    expect(config?.data).toEqual({ message: 'one', releaseNamespace: ns });
    const done = await getObject<Live>(ns, 'configmap', 'chart-done');
    expect(done?.metadata.labels).toMatchObject({ 'gitops.converge.dev/hook-owner-name': 'chart' });
    expect(done?.metadata.labels?.['gitops.converge.dev/name']).toBeUndefined();
    const ids = inventoryIds(ready);
    expect(ids).toEqual([`${ns}_chart-config__ConfigMap`]);
    const hooks = (ready.status as { hooks?: { completed: string[] } }).hooks;
    expect(hooks?.completed).toEqual([`pre:Job/${ns}/chart-migrate`, `post:ConfigMap/${ns}/chart-done`]);

    // A restart re-plans the revision, but its hooks do not run again.
    const migrated = await getObject<Live>(ns, 'job', 'chart-migrate');
    await journey!.operator.stop();
    journey!.operator = await startOperator({ namespace: ns });
    const at = await requestReconcile(ns, 'chart');
    await eventually(async () => (await getGitSource(ns, 'chart'))?.status?.lastHandledReconcileAt === at, {
      timeoutMs: 30_000,
      what: 'the reconcile after the restart',
    });
    expect((await getObject<Live>(ns, 'job', 'chart-migrate'))?.metadata.uid).toBe(migrated?.metadata.uid);
    expect(condition(await getGitSource(ns, 'chart'), 'Ready')?.status).toBe('True');

    // An upgrade whose pre-upgrade hook fails: HookFailed naming the Job and its pod's message.
    const upgrade = await commitFiles(repo, { 'chart/values.yaml': 'message: two\n' }, 'upgrade');
    await eventually(
      async () =>
        (await getObject<Live>(ns, 'job', 'chart-migrate'))?.metadata.annotations?.[
          'gitops.converge.dev/hook-revision'
        ]?.includes(upgrade),
      { timeoutMs: 30_000, what: 'the pre-upgrade Job of the new revision' },
    );
    await finishJob(ns, 'chart-migrate', 'Failed', 'migration 2 failed: table users is locked');
    const failed = await waitForCondition(ns, 'chart', 'Ready', 'False', {
      reason: 'HookFailed',
      timeoutMs: 30_000,
    });
    const message = condition(failed, 'Ready')?.message ?? '';
    console.log(`hooks: HookFailed message: ${message}`);
    expect(message).toMatch(
      new RegExp(
        `helm.sh/hook: pre-install,pre-upgrade hook Job/${ns}/chart-migrate failed: .*BackoffLimitExceeded`,
      ),
    );
    expect(message).toContain('table users is locked');
    expect(condition(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'HookFailed' });
    // Nothing of the failed revision was applied.
    expect((await getObject<Live>(ns, 'configmap', 'chart-config'))?.data?.message).toBe('one');

    // The next commit runs the hook again and goes through.
    const fix = await commitFiles(repo, { 'chart/values.yaml': 'message: three\n' }, 'fixed');
    await eventually(
      async () =>
        (await getObject<Live>(ns, 'job', 'chart-migrate'))?.metadata.annotations?.[
          'gitops.converge.dev/hook-revision'
        ]?.includes(fix),
      { timeoutMs: 30_000, what: 'the pre-upgrade Job of the fix' },
    );
    await finishJob(ns, 'chart-migrate', 'Succeeded');
    const fixed = await waitForCondition(ns, 'chart', 'Ready', 'True', { revision: fix, timeoutMs: 60_000 });
    expect(condition(fixed, 'Stalled')).toBeUndefined();
    expect((await getObject<Live>(ns, 'configmap', 'chart-config'))?.data?.message).toBe('three');
    expect((await getObject<Live>(ns, 'configmap', 'chart-done'))?.data?.message).toBe('three');
  }, 240_000);

  it('applies an Argo CD set wave by wave between its PreSync and PostSync hooks', async () => {
    const repo = await fixture.createRepo('argo');
    const wave = (n: number) => ({ 'argocd.argoproj.io/sync-wave': String(n) });
    await commitFiles(
      repo,
      {
        'db.yaml': configMapWithAnnotations('db', { a: '1' }, wave(-1)),
        'migrate.yaml': jobManifest('migrate', wave(0), { pods: 'never-ready' }),
        'app.yaml': configMapWithAnnotations('app', { a: '1' }, wave(1)),
        'presync.yaml': jobManifest(
          'presync-',
          { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded' },
          { generateName: true, pods: 'never-ready' },
        ),
        'postsync.yaml': configMapWithAnnotations(
          'postsync',
          { a: '1' },
          { 'argocd.argoproj.io/hook': 'PostSync' },
        ),
        'skip.yaml': configMapWithAnnotations('skipped', { a: '1' }, { 'argocd.argoproj.io/hook': 'Skip' }),
      },
      'an Argo CD app',
    );
    await applyGitSource(ns, 'argo', { url: http.url('argo'), interval: '5s', timeout: '90s' });

    const presync = await eventually(async () => (await jobsOf('argo'))[0], {
      timeoutMs: 30_000,
      what: 'the PreSync Job',
    });
    expect(presync.metadata.name).toMatch(/^presync-[a-z0-9]{5}$/);
    expect(await getObject(ns, 'configmap', 'db')).toBeUndefined();
    await finishJob(ns, presync.metadata.name, 'Succeeded');

    // Wave -1, then wave 0 (a Job that must complete) before wave 1 is applied.
    await eventually(() => getObject(ns, 'job', 'migrate'), { timeoutMs: 30_000, what: 'wave 0' });
    expect(await getObject(ns, 'configmap', 'db')).toBeDefined();
    expect(await getObject(ns, 'configmap', 'app')).toBeUndefined();
    const waiting = await getGitSource(ns, 'argo');
    expect(condition(waiting, 'Reconciling')?.message).toMatch(/sync wave 0|Job/);
    await finishJob(ns, 'migrate', 'Succeeded');

    const ready = await waitForCondition(ns, 'argo', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(await getObject(ns, 'configmap', 'app')).toBeDefined();
    expect(await getObject(ns, 'configmap', 'postsync')).toBeDefined();
    expect(await getObject(ns, 'configmap', 'skipped')).toBeUndefined();
    // HookSucceeded: the PreSync Job is gone once it succeeded.
    await eventually(async () => (await jobsOf('argo')).length === 0, {
      what: 'the PreSync Job to be deleted',
    });
    expect(inventoryIds(ready).sort()).toEqual(
      [`${ns}_app__ConfigMap`, `${ns}_db__ConfigMap`, `${ns}_migrate_batch_Job`].sort(),
    );
  }, 180_000);
});

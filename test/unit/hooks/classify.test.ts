import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/api/index.ts';
import { classifyObjects, wavesOf, type Hook } from '../../../src/hooks/index.ts';
import type { ChangeSet, PlannedObject } from '../../../src/plan/index.ts';

function obj(
  kind: string,
  name: string,
  annotations: Record<string, string> = {},
  apiVersion = 'v1',
): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace: 'apps', annotations } };
}
const job = (name: string, annotations: Record<string, string>) => obj('Job', name, annotations, 'batch/v1');
const keys = (hooks: Hook[]) => hooks.map((h) => `${h.identity}@${h.weight}`);

describe('classifyObjects', () => {
  it('keeps objects without hook annotations managed', () => {
    const plan = classifyObjects(
      [obj('ConfigMap', 'a'), obj('ConfigMap', 'b', { 'argocd.argoproj.io/sync-wave': '2' })],
      {
        install: true,
      },
    );
    expect(plan.managed.map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(Object.values(plan.hooks).flat()).toEqual([]);
  });

  it('maps Helm hook events by install or upgrade, weights and delete policies', () => {
    const objects = [
      job('migrate', { 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '5' }),
      obj('ServiceAccount', 'migrate', {
        'helm.sh/hook': 'pre-install,pre-upgrade',
        'helm.sh/hook-weight': '-1',
      }),
      job('seed', {
        'helm.sh/hook': 'post-install',
        'helm.sh/hook-delete-policy': 'hook-succeeded,hook-failed',
      }),
      job('notify', { 'helm.sh/hook': 'post-upgrade' }),
      obj('Pod', 'test-connection', { 'helm.sh/hook': 'test' }),
      job('cleanup', { 'helm.sh/hook': 'pre-delete' }),
    ];
    const install = classifyObjects(objects, { install: true });
    expect(keys(install.hooks.pre)).toEqual(['ServiceAccount/apps/migrate@-1', 'Job/apps/migrate@5']);
    expect(keys(install.hooks.post)).toEqual(['Job/apps/seed@0']);
    expect([...install.hooks.post[0]!.deletePolicies].sort()).toEqual(['hook-failed', 'hook-succeeded']);
    // No policy given: the previous instance is replaced, as in Helm and Argo CD.
    expect([...install.hooks.pre[1]!.deletePolicies]).toEqual(['before-hook-creation']);
    expect(install.skipped.map((s) => `${s.object.metadata.name}: ${s.why}`)).toEqual([
      'notify: helm.sh/hook: post-upgrade (not run on an install)',
      'test-connection: helm.sh/hook: test (test hooks are skipped)',
      'cleanup: helm.sh/hook: pre-delete (not run on an install)',
    ]);
    expect(install.managed).toEqual([]);

    const upgrade = classifyObjects(objects, { install: false });
    expect(keys(upgrade.hooks.pre)).toEqual(['ServiceAccount/apps/migrate@-1', 'Job/apps/migrate@5']);
    expect(keys(upgrade.hooks.post)).toEqual(['Job/apps/notify@0']);
    expect(upgrade.skipped.map((s) => s.object.metadata.name)).toEqual([
      'seed',
      'test-connection',
      'cleanup',
    ]);
  });

  it('maps Argo CD hooks, Skip, sync-wave as weight, and its delete policies; Argo wins over Helm', () => {
    const plan = classifyObjects(
      [
        job('b', { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/sync-wave': '1' }),
        job('a', { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/sync-wave': '1' }),
        job('first', { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/sync-wave': '-3' }),
        job('smoke', {
          'argocd.argoproj.io/hook': 'PostSync',
          'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded',
        }),
        job('during', { 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/sync-wave': '2' }),
        job('alert', { 'argocd.argoproj.io/hook': 'SyncFail' }),
        obj('ConfigMap', 'skipped', { 'argocd.argoproj.io/hook': 'Skip' }),
        job('both', { 'argocd.argoproj.io/hook': 'PostSync', 'helm.sh/hook': 'pre-install' }),
      ],
      { install: true },
    );
    expect(keys(plan.hooks.pre)).toEqual(['Job/apps/first@-3', 'Job/apps/a@1', 'Job/apps/b@1']);
    expect(keys(plan.hooks.sync)).toEqual(['Job/apps/during@2']);
    expect(keys(plan.hooks.post)).toEqual(['Job/apps/both@0', 'Job/apps/smoke@0']);
    expect([...plan.hooks.post[1]!.deletePolicies]).toEqual(['hook-succeeded']);
    expect(keys(plan.hooks.fail)).toEqual(['Job/apps/alert@0']);
    expect(plan.skipped.map((s) => s.why)).toEqual(['argocd.argoproj.io/hook: Skip']);
  });

  it('lets a hook named by generateName through and keys it by its prefix', () => {
    const hook: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: '',
        generateName: 'migrate-',
        namespace: 'apps',
        annotations: { 'argocd.argoproj.io/hook': 'PreSync,PostSync' },
      },
    };
    const plan = classifyObjects([hook], { install: false });
    expect(plan.hooks.pre.map((h) => h.key)).toEqual(['pre:Job/apps/migrate-*']);
    expect(plan.hooks.post.map((h) => h.key)).toEqual(['post:Job/apps/migrate-*']);
  });

  it('refuses bad annotations and managed objects without a name, naming the object', () => {
    const cases: [KubeObject, string][] = [
      [job('j', { 'helm.sh/hook': 'pre-instal' }), 'Job/apps/j: unknown helm.sh/hook "pre-instal"'],
      [
        job('j', { 'argocd.argoproj.io/hook': 'Presync' }),
        'Job/apps/j: unknown argocd.argoproj.io/hook "Presync"',
      ],
      [
        job('j', { 'helm.sh/hook': 'post-install', 'helm.sh/hook-delete-policy': 'always' }),
        'Job/apps/j: unknown helm.sh/hook-delete-policy "always"',
      ],
      [
        job('j', { 'helm.sh/hook': 'post-install', 'helm.sh/hook-weight': 'high' }),
        'Job/apps/j: helm.sh/hook-weight must be an integer',
      ],
      [
        obj('ConfigMap', 'c', { 'argocd.argoproj.io/sync-wave': '1.5' }),
        'ConfigMap/apps/c: argocd.argoproj.io/sync-wave must be an integer',
      ],
      [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: '', generateName: 'c-', namespace: 'apps' },
        },
        'ConfigMap/apps/c-*: generateName is only allowed for hooks',
      ],
    ];
    for (const [o, message] of cases) {
      expect(() => classifyObjects([o], { install: true })).toThrow(message);
    }
  });
});

describe('wavesOf', () => {
  const planned = (o: KubeObject): PlannedObject => ({
    id: o.metadata.name,
    ref: { group: '', version: 'v1', kind: o.kind, namespace: 'apps', name: o.metadata.name },
    action: 'create',
    object: o,
    force: false,
    createOnly: false,
  });

  it('cuts a change set into ascending waves with their Sync hooks; no waves is one wave 0', () => {
    const changeSet: ChangeSet = {
      owner: { name: 'gs', namespace: 'apps' },
      objects: [
        planned(obj('ConfigMap', 'late', { 'argocd.argoproj.io/sync-wave': '5' })),
        planned(obj('ConfigMap', 'plain')),
        planned(obj('ConfigMap', 'early', { 'argocd.argoproj.io/sync-wave': '-1' })),
      ],
      stale: [
        { id: 'x', ref: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'x' } },
      ],
    };
    const sync = classifyObjects(
      [job('during', { 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/sync-wave': '3' })],
      {
        install: true,
      },
    ).hooks.sync;
    const waves = wavesOf(changeSet, sync);
    expect(
      waves.map((w) => [w.wave, w.changeSet.objects.map((o) => o.id), w.syncHooks.map((h) => h.identity)]),
    ).toEqual([
      [-1, ['early'], []],
      [0, ['plain'], []],
      [3, [], ['Job/apps/during']],
      [5, ['late'], []],
    ]);
    expect(waves.every((w) => w.changeSet.stale.length === 0)).toBe(true);
    expect(wavesOf({ owner: changeSet.owner, objects: [], stale: [] }).map((w) => w.wave)).toEqual([0]);
  });
});

// Pure decisions of pull-request previews: selection by label, eligibility for Deploy, work needed,
// namespace names, the preview spec, render digests and objects that would escape the namespace.
import { describe, expect, it } from 'vitest';
import { GitSourceSpecSchema, type KubeObject, type PreviewsSpec } from '../../../src/api/index.ts';
import {
  deployEligibility,
  escapes,
  needsWork,
  previewNamespace,
  previewSourceName,
  previewSpec,
  renderDigest,
  selectPulls,
  type PullRequest,
} from '../../../src/preview/index.ts';

const pr = (number: number, over: Partial<PullRequest> = {}): PullRequest => ({
  number,
  title: `pr ${number}`,
  head: String(number).padStart(40, 'a'),
  base: 'main',
  labels: [],
  fork: false,
  url: `https://git.example.com/org/fleet/pulls/${number}`,
  headRef: `refs/pull/${number}/head`,
  ...over,
});

const previews = (over: Partial<PreviewsSpec> = {}): PreviewsSpec => ({
  provider: 'gitea',
  secretRef: { name: 'bot' },
  mode: 'Diff',
  namespaceTemplate: '{name}-pr-{number}',
  maxPreviews: 10,
  allowForks: false,
  ...over,
});

describe('selectPulls', () => {
  it('keeps pull requests carrying every wanted label, oldest first', () => {
    const pulls = [pr(3, { labels: ['preview', 'x'] }), pr(1, { labels: ['preview'] }), pr(2)];
    expect(selectPulls(pulls, previews({ labels: ['preview'] })).map((p) => p.number)).toEqual([1, 3]);
    expect(selectPulls(pulls, previews()).map((p) => p.number)).toEqual([1, 2, 3]);
    expect(selectPulls(pulls, previews({ labels: ['preview', 'x'] })).map((p) => p.number)).toEqual([3]);
  });
});

describe('deployEligibility', () => {
  it('says nothing in Diff mode', () => {
    expect(deployEligibility([pr(1)], previews()).size).toBe(0);
  });
  it('skips forks unless allowed, and queues past maxPreviews without taking an older one’s place', () => {
    const pulls = [pr(4), pr(2, { fork: true }), pr(1), pr(3)];
    const e = deployEligibility(pulls, previews({ mode: 'Deploy', maxPreviews: 2 }));
    expect(e.get(1)).toEqual({ deploy: true });
    expect(e.get(2)).toMatchObject({ deploy: false, state: 'Skipped' });
    expect(e.get(3)).toEqual({ deploy: true });
    expect(e.get(4)).toMatchObject({ deploy: false, state: 'Queued' });
    const forks = deployEligibility(pulls, previews({ mode: 'Deploy', allowForks: true, maxPreviews: 10 }));
    expect(forks.get(2)).toEqual({ deploy: true });
  });
});

describe('needsWork', () => {
  const p = pr(1);
  it('works on a new pull request or a new head, never again on a settled one', () => {
    expect(needsWork(p, undefined, undefined)).toBe(true);
    expect(needsWork(p, { number: 1, head: 'b'.repeat(40), state: 'Diffed' }, undefined)).toBe(true);
    for (const state of ['Diffed', 'Unaffected', 'Deploying', 'Deployed', 'Failed', 'Skipped'])
      expect(needsWork(p, { number: 1, head: p.head, state }, undefined)).toBe(false);
  });
  it('takes a queued pull request up once a slot frees', () => {
    const queued = { number: 1, head: p.head, state: 'Queued' };
    expect(needsWork(p, queued, { deploy: false, state: 'Queued', message: '' })).toBe(false);
    expect(needsWork(p, queued, { deploy: true })).toBe(true);
  });
});

describe('names', () => {
  it('fills the template and keeps the number when cutting to 63 characters', () => {
    expect(previewNamespace('{name}-pr-{number}', 'web', 12)).toBe('web-pr-12');
    const long = previewNamespace('{name}-pr-{number}', 'w'.repeat(80), 12345);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long.endsWith('-12345')).toBe(true);
    expect(previewNamespace('{name}-pr-{number}', 'Web_App', 1)).toBe('web-app-pr-1');
    expect(previewSourceName('web', 7)).toBe('web-pr-7');
  });
});

describe('previewSpec', () => {
  it('pins the head, targets the preview namespace, drops previews and dependsOn, deletes on removal', () => {
    const spec = GitSourceSpecSchema.parse({
      url: 'https://git.example.com/org/fleet.git',
      ref: { branch: 'main' },
      path: './app',
      serviceAccountName: 'deployer',
      dependsOn: [{ name: 'infra' }],
      previews: { provider: 'gitea', secretRef: { name: 'bot' }, mode: 'Deploy' },
    });
    const out = previewSpec(spec, 'c'.repeat(40), 'web-pr-3');
    expect(out.ref).toEqual({ commit: 'c'.repeat(40) });
    expect(out.targetNamespace).toBe('web-pr-3');
    expect(out.previews).toBeUndefined();
    expect(out.dependsOn).toBeUndefined();
    expect(out.deletionPolicy).toBe('Delete');
    expect(out.serviceAccountName).toBe('deployer');
    expect(out.path).toBe('./app');
    expect(GitSourceSpecSchema.safeParse(out).success).toBe(true);
  });
});

describe('renderDigest', () => {
  const a: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a' },
    data: { x: '1', y: '2' },
  };
  const b: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } };
  it('ignores object and key order, and sees any value change', () => {
    const reordered: KubeObject = {
      data: { y: '2', x: '1' },
      metadata: { name: 'a' },
      kind: 'ConfigMap',
      apiVersion: 'v1',
    };
    expect(renderDigest([a, b])).toBe(renderDigest([b, reordered]));
    expect(renderDigest([a, b])).not.toBe(renderDigest([{ ...a, data: { x: '1', y: '3' } }, b]));
    expect(renderDigest([a])).not.toBe(renderDigest([a, b]));
  });
});

describe('escapes', () => {
  const namespaced = (o: KubeObject) => o.kind !== 'ClusterRole' && o.kind !== 'Namespace';
  it('names cluster-scoped objects and objects in another namespace', () => {
    const objs: KubeObject[] = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok', namespace: 'web-pr-1' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad', namespace: 'kube-system' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'root' } },
    ];
    expect(escapes(objs, 'web-pr-1', namespaced)).toEqual([
      'ConfigMap/kube-system/bad is outside web-pr-1',
      'ClusterRole/root is cluster-scoped',
    ]);
  });
});

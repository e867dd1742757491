import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/api/index.ts';
import {
  diffObjects,
  formatChange,
  getPointer,
  ignorePathsFor,
  normalizeForDiff,
  parsePointer,
  setPointer,
  withIgnoredFromLive,
} from '../../../src/plan/index.ts';

const deployment = (replicas: number, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'apps',
    uid: 'u1',
    resourceVersion: '7',
    generation: 3,
    creationTimestamp: '2026-01-01T00:00:00Z',
    managedFields: [{ manager: 'converge' }],
    labels: { app: 'web' },
  },
  spec: { replicas, template: { spec: { containers: [{ name: 'c', image: 'nginx:1' }] } }, ...extra },
  status: { readyReplicas: 1 },
});

describe('JSON pointers', () => {
  it('parses escapes', () => {
    expect(parsePointer('/metadata/annotations/a~1b~0c')).toEqual(['metadata', 'annotations', 'a/b~c']);
    expect(() => parsePointer('spec')).toThrow(/must start with/);
  });
  it('gets, sets and removes', () => {
    const doc: Record<string, unknown> = { a: { b: [1, 2, 3] } };
    expect(getPointer(doc, '/a/b/1')).toEqual({ found: true, value: 2 });
    expect(getPointer(doc, '/a/x')).toEqual({ found: false });
    setPointer(doc, '/a/c/d', 5);
    expect(doc).toEqual({ a: { b: [1, 2, 3], c: { d: 5 } } });
    setPointer(doc, '/a/b/0', undefined);
    setPointer(doc, '/missing/deep', undefined);
    expect(doc).toEqual({ a: { b: [2, 3], c: { d: 5 } } });
  });
});

describe('normalizeForDiff', () => {
  it('drops server-maintained metadata, status and ignored paths, without touching the input', () => {
    const obj = deployment(2);
    const n = normalizeForDiff(obj, ['/spec/replicas']);
    expect(n).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'apps', labels: { app: 'web' } },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1' }] } } },
    });
    expect(obj.metadata.uid).toBe('u1');
    expect((obj.spec as { replicas: number }).replicas).toBe(2);
  });
});

describe('diffObjects', () => {
  it('is empty when only volatile fields differ', () => {
    const live = deployment(2);
    const dry = deployment(2);
    dry.metadata.resourceVersion = '8';
    dry.metadata.managedFields = [];
    dry.status = { readyReplicas: 0 };
    expect(diffObjects(live, dry)).toEqual([]);
  });
  it('names changed fields with old and new values', () => {
    const changes = diffObjects(deployment(2), deployment(3));
    expect(changes).toEqual([{ op: 'replace', path: '/spec/replicas', from: 2, to: 3 }]);
    expect(formatChange(changes[0]!)).toBe('/spec/replicas 2→3');
  });
  it('reports array elements and added fields by path', () => {
    const after = deployment(2, { paused: true });
    (
      after.spec as { template: { spec: { containers: { image: string }[] } } }
    ).template.spec.containers[0]!.image = 'nginx:2';
    const lines = diffObjects(deployment(2), after).map(formatChange).sort();
    expect(lines).toEqual(['/spec/paused +true', '/spec/template/spec/containers/0/image nginx:1→nginx:2']);
  });
  it('ignores paths', () => {
    expect(diffObjects(deployment(2), deployment(5), { ignorePaths: ['/spec/replicas'] })).toEqual([]);
  });
  it('hides values when asked (Secrets)', () => {
    const live: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { password: 'b2xk' },
    };
    const dry: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { password: 'bmV3', user: 'dQ==' },
    };
    const changes = diffObjects(live, dry, { hideValues: true });
    const lines = changes.map(formatChange).sort();
    expect(lines).toEqual(['/data/password changed', '/data/user added']);
    expect(JSON.stringify(changes)).not.toMatch(/b2xk|bmV3|dQ==/);
  });
  it('formats removals and long values', () => {
    expect(formatChange({ op: 'remove', path: '/data/a', from: 'x' })).toBe('/data/a removed');
    expect(formatChange({ op: 'replace', path: '/data/a', from: 'x'.repeat(80), to: { b: 1 } })).toBe(
      `/data/a ${'x'.repeat(37)}...→{"b":1}`,
    );
  });
});

describe('ignore rules', () => {
  const ref = { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'apps', name: 'web' };
  it('matches on every given target field, empty fields match all', () => {
    const rules = [
      { target: { kind: 'Deployment', name: 'web' }, paths: ['/spec/replicas'] },
      { target: { kind: 'Deployment', name: 'other' }, paths: ['/spec/paused'] },
      { target: { group: 'apps', namespace: '' }, paths: ['/metadata/annotations/x', '/spec/replicas'] },
      { target: { kind: 'Service' }, paths: ['/spec/clusterIP'] },
    ];
    expect(ignorePathsFor(ref, rules)).toEqual(['/spec/replicas', '/metadata/annotations/x']);
    expect(ignorePathsFor(ref, undefined)).toEqual([]);
  });
  it('takes ignored fields from the live object so apply neither overwrites nor removes them', () => {
    const desired = deployment(2);
    const live = deployment(5);
    const applied = withIgnoredFromLive(desired, live, ['/spec/replicas', '/spec/paused']);
    expect((applied.spec as { replicas: number }).replicas).toBe(5);
    expect(applied.spec).not.toHaveProperty('paused');
    expect((desired.spec as { replicas: number }).replicas).toBe(2);
    const liveWithout = deployment(5);
    delete (liveWithout.spec as { replicas?: number }).replicas;
    expect(withIgnoredFromLive(desired, liveWithout, ['/spec/replicas']).spec).not.toHaveProperty('replicas');
    expect(withIgnoredFromLive(desired, undefined, ['/spec/replicas'])).toBe(desired);
  });
});

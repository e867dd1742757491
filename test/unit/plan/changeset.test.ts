import { describe, expect, it } from 'vitest';
import { objectId, type ObjectRef } from '../../../src/api/index.ts';
import {
  changeLines,
  describeChange,
  hasChanges,
  summarize,
  withOwnerLabels,
  ownerSelector,
  type ChangeSet,
  type PlannedObject,
} from '../../../src/plan/index.ts';

const ref = (kind: string, name: string, namespace = 'apps', group = ''): ObjectRef => ({
  group,
  version: 'v1',
  kind,
  namespace,
  name,
});
const planned = (
  r: ObjectRef,
  action: PlannedObject['action'],
  changes?: PlannedObject['changes'],
): PlannedObject => ({
  id: objectId(r),
  ref: r,
  action,
  object: { apiVersion: 'v1', kind: r.kind, metadata: { name: r.name } },
  force: false,
  createOnly: false,
  ...(changes ? { changes } : {}),
});

const set: ChangeSet = {
  owner: { name: 'web', namespace: 'apps' },
  objects: [
    planned(ref('ConfigMap', 'new'), 'create'),
    planned(ref('Deployment', 'web', 'apps', 'apps'), 'configure', [
      { op: 'replace', path: '/spec/replicas', from: 2, to: 3 },
    ]),
    planned(ref('Service', 'web'), 'unchanged'),
  ],
  stale: [{ id: 'apps_old__ConfigMap', ref: ref('ConfigMap', 'old') }],
};

describe('change set', () => {
  it('summarizes', () => {
    expect(summarize(set)).toEqual({ objects: 3, created: 1, configured: 1, unchanged: 1, pruned: 1 });
    expect(hasChanges(set)).toBe(true);
    expect(hasChanges({ ...set, objects: [set.objects[2]!], stale: [] })).toBe(false);
  });

  it('writes human lines as in the design', () => {
    expect(changeLines(set)).toEqual([
      'ConfigMap/apps/new created',
      'Deployment/apps/web configured: /spec/replicas 2→3',
      'ConfigMap/apps/old pruned',
    ]);
  });

  it('counts kept stale objects apart from pruned ones', () => {
    const kept: ChangeSet = {
      ...set,
      objects: [set.objects[2]!],
      stale: [
        { id: 'apps_k__ConfigMap', ref: ref('ConfigMap', 'k'), keep: 'gitops.converge.dev/prune: disabled' },
      ],
    };
    expect(summarize(kept).pruned).toBe(0);
    expect(hasChanges(kept)).toBe(false);
    expect(changeLines(kept)).toEqual([
      'ConfigMap/apps/k left in place (gitops.converge.dev/prune: disabled)',
    ]);
  });

  it('caps fields per line and lines per set', () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ op: 'add' as const, path: `/data/k${i}`, to: 'v' }));
    expect(describeChange(planned(ref('ConfigMap', 'c'), 'configure', many))).toBe(
      'ConfigMap/apps/c configured: /data/k0 +v, /data/k1 +v, /data/k2 +v, +2 more',
    );
    const big: ChangeSet = {
      ...set,
      objects: Array.from({ length: 30 }, (_, i) => planned(ref('ConfigMap', `c${i}`), 'create')),
      stale: [],
    };
    const lines = changeLines(big);
    expect(lines).toHaveLength(20);
    expect(lines[19]).toBe('… and 11 more');
  });

  it('adds ownership labels without touching the input', () => {
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: 'b' } } };
    const labelled = withOwnerLabels(obj, { name: 'web', namespace: 'apps' });
    expect(labelled.metadata.labels).toEqual({
      a: 'b',
      'gitops.converge.dev/name': 'web',
      'gitops.converge.dev/namespace': 'apps',
    });
    expect(obj.metadata.labels).toEqual({ a: 'b' });
    expect(ownerSelector({ name: 'web', namespace: 'apps' })).toBe(
      'gitops.converge.dev/name=web,gitops.converge.dev/namespace=apps',
    );
  });
});

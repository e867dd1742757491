// ownershipConflict: who may write an object that already exists.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/api/index.ts';
import { ownerOf, ownershipConflict } from '../../../src/plan/index.ts';

const me = { name: 'web', namespace: 'apps' };
const ref = { kind: 'ClusterRole', namespace: '', name: 'system:foo_bar' };
const obj = (labels?: Record<string, string>, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: {
    name: 'system:foo_bar',
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  },
});
const owned = (name: string, namespace: string) =>
  obj({ 'gitops.converge.dev/name': name, 'gitops.converge.dev/namespace': namespace });

describe('ownershipConflict', () => {
  it('lets an owner write its own and unlabelled objects', () => {
    expect(ownershipConflict(ref, obj(), obj(), me)).toBeUndefined();
    expect(ownershipConflict(ref, obj({ app: 'x' }), obj(), me)).toBeUndefined();
    expect(ownershipConflict(ref, owned('web', 'apps'), obj(), me)).toBeUndefined();
  });

  it('refuses another GitSource’s object, naming the object and the owner', () => {
    expect(ownershipConflict(ref, owned('web', 'other'), obj(), me)).toBe(
      'ClusterRole/system:foo_bar is owned by GitSource other/web (labels gitops.converge.dev/namespace, ' +
        'gitops.converge.dev/name); remove it from one of the two, or annotate it gitops.converge.dev/adopt: ' +
        "enabled in this GitSource's Git to take it over",
    );
    expect(ownershipConflict(ref, owned('db', 'apps'), obj(), me)).toMatch(/owned by GitSource apps\/db/);
    // One label alone still claims it.
    expect(ownershipConflict(ref, obj({ 'gitops.converge.dev/name': 'db' }), obj(), me)).toMatch(
      /owned by GitSource \?\/db/,
    );
  });

  it('takes over only when the desired object (from Git) opts in', () => {
    const adopt = { 'gitops.converge.dev/adopt': 'enabled' };
    expect(ownershipConflict(ref, owned('db', 'apps'), obj(undefined, adopt), me)).toBeUndefined();
    // On the live object it means nothing: the new owner's Git must say so.
    const liveWithAnnotation = { ...owned('db', 'apps') };
    liveWithAnnotation.metadata.annotations = adopt;
    expect(ownershipConflict(ref, liveWithAnnotation, obj(), me)).toBeDefined();
    expect(
      ownershipConflict(ref, owned('db', 'apps'), obj(undefined, { 'gitops.converge.dev/adopt': 'yes' }), me),
    ).toBeDefined();
  });

  it('reads the owner from the labels', () => {
    expect(ownerOf(obj())).toBeUndefined();
    expect(ownerOf(owned('a', 'b'))).toEqual({ name: 'a', namespace: 'b' });
  });
});

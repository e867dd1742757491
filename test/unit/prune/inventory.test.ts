import { describe, expect, it } from 'vitest';
import { canonicalObjectId, objectId, parseObjectId } from '../../../src/api/index.ts';
import { inventoryOf, staleEntries } from '../../../src/prune/index.ts';

describe('inventory', () => {
  it('lists ids and versions, sorted and without duplicates', () => {
    const inv = inventoryOf([
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'apps' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } },
      { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', namespace: '', name: 'view' },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'apps' } },
    ]);
    expect(inv).toEqual([
      { id: '_apps__Namespace', v: 'v1' },
      { id: '_view_rbac.authorization.k8s.io_ClusterRole', v: 'v1' },
      { id: 'apps_web_apps_Deployment', v: 'v1' },
    ]);
  });
  it('finds stale entries as refs', () => {
    const before = [
      { id: 'apps_web_apps_Deployment', v: 'v1' },
      { id: 'apps_old__ConfigMap', v: 'v1' },
    ];
    expect(staleEntries(before, [{ id: 'apps_web_apps_Deployment', v: 'v1' }])).toEqual([
      {
        id: 'apps_old__ConfigMap',
        ref: { namespace: 'apps', name: 'old', group: '', kind: 'ConfigMap', version: 'v1' },
      },
    ]);
  });
});

describe('inventory ids', () => {
  const ref = (namespace: string, name: string, group: string, kind: string) => ({
    namespace,
    name,
    group,
    kind,
    version: 'v1',
  });
  const legal = [
    ref('', 'system:foo_bar', 'rbac.authorization.k8s.io', 'ClusterRole'),
    ref('', 'system:foo_bar_', 'rbac.authorization.k8s.io', 'ClusterRole'),
    ref('apps', '_', 'rbac.authorization.k8s.io', 'Role'),
    ref('apps', '__a__b__', '', 'ServiceAccount'),
    ref('apps', 'a_b', '', 'ConfigMap'),
    ref('apps', 'a', '', 'ConfigMap'),
    ref('apps', 'a.b.c', 'apps', 'Deployment'),
    ref('', 'x'.repeat(253), '', 'Namespace'),
    ref('', `a_${'_:.'.repeat(83)}z`, 'rbac.authorization.k8s.io', 'ClusterRoleBinding'),
    ref('ns', 'odd%5Fname', 'example.com', 'Widget'), // not a legal name, but must still round-trip
  ];

  it('round-trips every legal name, with exactly three separators', () => {
    for (const r of legal) {
      const id = objectId(r);
      expect(id.split('_')).toHaveLength(4);
      expect(parseObjectId(id, 'v1')).toEqual(r);
    }
  });

  it('gives different objects different ids where the plain join collided', () => {
    // Joined with a bare `_` both read `ns_a_b__ConfigMap`.
    const a = objectId(ref('ns', 'a_b', '', 'ConfigMap'));
    const b = objectId(ref('ns', 'a', 'b', 'ConfigMap'));
    expect(a).not.toBe(b);
    expect(new Set(legal.map(objectId)).size).toBe(legal.length);
  });

  it('keeps ids of names without `_` as older versions wrote them', () => {
    expect(objectId(ref('apps', 'web', 'apps', 'Deployment'))).toBe('apps_web_apps_Deployment');
    expect(objectId(ref('', 'system:view', 'rbac.authorization.k8s.io', 'ClusterRole'))).toBe(
      '_system:view_rbac.authorization.k8s.io_ClusterRole',
    );
  });

  it('reads old ids with `_` in names: first field namespace, last two group and kind', () => {
    expect(parseObjectId('_system:foo_bar_rbac.authorization.k8s.io_ClusterRole', 'v1')).toEqual(
      ref('', 'system:foo_bar', 'rbac.authorization.k8s.io', 'ClusterRole'),
    );
    expect(parseObjectId('apps___a__b____ServiceAccount', 'v1')).toEqual(
      ref('apps', '__a__b__', '', 'ServiceAccount'),
    );
    expect(canonicalObjectId('apps_a_b__ConfigMap')).toBe('apps_a%5Fb__ConfigMap');
    expect(() => parseObjectId('apps_web', 'v1')).toThrow(/bad inventory id/);
  });

  it('does not take an old-format entry for stale when the object is still desired', () => {
    const old = [
      { id: '_system:foo_bar_rbac.authorization.k8s.io_ClusterRole', v: 'v1' },
      { id: 'apps_gone_away__ConfigMap', v: 'v1' },
      { id: 'apps_web_apps_Deployment', v: 'v1' },
    ];
    const now = inventoryOf([
      ref('', 'system:foo_bar', 'rbac.authorization.k8s.io', 'ClusterRole'),
      ref('apps', 'web', 'apps', 'Deployment'),
    ]);
    expect(staleEntries(old, now)).toEqual([
      { id: 'apps_gone%5Faway__ConfigMap', ref: { ...ref('apps', 'gone_away', '', 'ConfigMap') } },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
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

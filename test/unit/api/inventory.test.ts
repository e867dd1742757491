import { describe, expect, it } from 'vitest';
import { encodeInventory, inventoryEntries, objectId, type InventoryEntry } from '../../../src/api/index.ts';
import { groupInventory } from '../../../src/api/inventory.ts';
import { inventoryOf } from '../../../src/prune/index.ts';
import { appliedStatus } from '../../../src/report/index.ts';

const entry = (namespace: string, name: string, group: string, kind: string, v = 'v1'): InventoryEntry => ({
  id: objectId({ namespace, name, group, kind }),
  v,
});

describe('status.inventory encoding', () => {
  it('groups objects by apiVersion, kind and namespace, and reads back the same entries', () => {
    const entries = inventoryOf([
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'apps' } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'apps' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web', namespace: 'apps' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:a_b' } },
    ]);
    // A few objects: the documented one-entry-per-object form.
    expect(encodeInventory(entries)).toEqual({
      entries: [...entries].sort((a, b) => (a.id < b.id ? -1 : 1)),
    });
    const inventory = groupInventory(entries);
    expect(inventory).toEqual({
      objects: [
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'apps', names: ['api', 'web'] },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', names: ['system:a_b'] },
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', names: ['web'] },
        { apiVersion: 'v1', kind: 'Namespace', names: ['apps'] },
      ],
    });
    expect(inventoryEntries({ inventory })).toEqual([...entries].sort((a, b) => (a.id < b.id ? -1 : 1)));
  });

  it('round-trips names with `_`, `%` and `:`, and keeps each object apiVersion', () => {
    const entries = [
      entry('', 'system:foo_bar_', 'rbac.authorization.k8s.io', 'ClusterRole'),
      entry('apps', '__a__b__', '', 'ServiceAccount'),
      entry('ns', 'odd%5Fname', 'example.com', 'Widget', 'v1beta1'),
      entry('ns', 'other', 'example.com', 'Widget', 'v1'),
    ];
    const read = inventoryEntries({ inventory: groupInventory(entries) });
    expect(new Set(read.map((e) => `${e.id} ${e.v}`))).toEqual(new Set(entries.map((e) => `${e.id} ${e.v}`)));
  });

  it('still reads the one-entry-per-object form older versions wrote', () => {
    const old = [
      { id: 'apps_web_apps_Deployment', v: 'v1' },
      { id: '_system:foo_bar_rbac.authorization.k8s.io_ClusterRole', v: 'v1' },
    ];
    expect(inventoryEntries({ inventory: { entries: old } })).toEqual([old[1], old[0]]);
    expect(inventoryEntries(undefined)).toEqual([]);
    expect(inventoryEntries({})).toEqual([]);
  });
});

describe('GitSource status with 10,000 objects', () => {
  // 5,000 ConfigMaps and 5,000 Deployments in 50 namespaces, with names as long as real ones.
  const objects = Array.from({ length: 5000 }, (_, i) => {
    const namespace = `team-payments-${i % 50}`;
    const name = `checkout-service-${i}`;
    return [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace } },
    ];
  }).flat();
  const inventory = inventoryOf(objects);
  const status = appliedStatus(
    { old: undefined, generation: 1, now: '2026-01-01T00:00:00Z' },
    {
      revision: `main@sha1:${'a'.repeat(40)}`,
      summary: { objects: 10_000, created: 10_000, configured: 0, unchanged: 0, pruned: 0, drifted: 0 },
      changes: objects.map((o) => `ConfigMap/${o.metadata.namespace}/${o.metadata.name} created`),
      inventory,
      durationMs: 1000,
    },
  );

  it('stays far below the 1.5 MB object limit, also as `kubectl get -o json` prints it', () => {
    const compact = Buffer.byteLength(JSON.stringify(status));
    const pretty = Buffer.byteLength(JSON.stringify({ status }, null, 4));
    // ~21 bytes of name each: the older form took 61 per object compact, 130 printed (1.3 MB).
    expect(compact / 10_000).toBeLessThan(30);
    expect(pretty).toBeLessThan(512 * 1024);
    expect(status.changes).toHaveLength(20);
    expect(status.changes!.at(-1)).toBe('… and 9981 more');
  });

  it('switches to the grouped form only past 256 KiB of entries (1,000 objects keep the documented form)', () => {
    expect(status.inventory?.entries).toBeUndefined();
    expect(status.inventory?.objects?.length).toBe(100);
    const thousand = encodeInventory(inventory.slice(0, 1000));
    expect(thousand.objects).toBeUndefined();
    expect(thousand.entries).toHaveLength(1000);
  });

  it('holds every object', () => {
    expect(inventoryEntries(status)).toHaveLength(10_000);
    expect(inventoryEntries(status)).toEqual(inventory);
  });
});

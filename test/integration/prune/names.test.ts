// Prunes are exact for every legal name: `_`, `:` and `.` in names, maximum lengths, and inventories written the old way.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InventoryEntry, KubeObject } from '../../../src/api/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { pruneStale } from '../../../src/prune/index.ts';
import { createNamespace, deleteNamespace, kubectl, kubectlOk, uniqueName } from '../../support/cluster.ts';
import { configMap, converge, testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
let owner: { name: string; namespace: string };
let tag: string;

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('prune-names');
  tag = uniqueName('n').slice(2);
  owner = { name: `names-${tag}`, namespace: 'converge-tests' };
});
afterEach(async () => {
  await kubectl(['delete', 'clusterrole', '-l', `gitops.converge.dev/name=${owner.name}`, '--wait=false']);
  await deleteNamespace(ns);
});

const role = (name: string): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name, namespace: ns },
  rules: [],
});
const clusterRole = (name: string): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name },
  rules: [],
});

/** Names that collide or mis-split when fields are joined with a bare `_`. */
function objects(): { keep: KubeObject[]; drop: KubeObject[] } {
  const long = (prefix: string, fill: string) => (prefix + fill.repeat(253)).slice(0, 252) + 'z';
  return {
    keep: [
      clusterRole(`system:${tag}_foo_bar`),
      role('a_b'),
      role('a:b'),
      role('a.b'),
      role('_'),
      role(long('keep_', '_:.')),
      configMap(ns, long('keep.', 'a.b-'), {}),
    ],
    drop: [
      clusterRole(`system:${tag}_foo`),
      clusterRole(`system:${tag}`),
      role('a'),
      role('a_b_c'),
      role('b'),
      role('__'),
      role(long('drop_', '_:.')),
      configMap(ns, long('drop.', 'a.b-'), {}),
    ],
  };
}

const names = async (kind: string, extra: string[]) =>
  (await kubectlOk(['get', kind, ...extra, '-l', `gitops.converge.dev/name=${owner.name}`, '-o', 'name']))
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(l.indexOf('/') + 1))
    .sort();

async function liveNames(): Promise<string[]> {
  return [
    ...(await names('clusterroles', [])),
    ...(await names('roles', ['-n', ns])),
    ...(await names('configmaps', ['-n', ns])),
  ].sort();
}

const nameOf = (o: KubeObject) => o.metadata.name;

describe('prune with awkward names', () => {
  it('prunes exactly what left Git, for names with `_`, `:`, `.` and of maximum length', async () => {
    const { keep, drop } = objects();
    const first = await converge(client, [...keep, ...drop], { owner });
    expect(await liveNames()).toEqual([...keep, ...drop].map(nameOf).sort());

    const second = await converge(client, keep, { owner, inventory: first.inventory });
    expect(second.changeSet.stale.map((s) => s.ref.name).sort()).toEqual(drop.map(nameOf).sort());
    expect(second.changeSet.stale.every((s) => !s.keep)).toBe(true);
    const result = await pruneStale(client, client.mapper, second.changeSet.stale, { owner });
    expect(result.pruned.map((s) => s.ref.name).sort()).toEqual(drop.map(nameOf).sort());
    expect(result.gone).toEqual([]);
    expect(await liveNames()).toEqual(keep.map(nameOf).sort());
  });

  it('still prunes exactly from an inventory written with the old, ambiguous ids', async () => {
    const { keep, drop } = objects();
    const first = await converge(client, [...keep, ...drop], { owner });
    // What older versions stored: fields joined with a bare `_`.
    const oldInventory: InventoryEntry[] = first.changeSet.objects.map((o) => ({
      id: `${o.ref.namespace}_${o.ref.name}_${o.ref.group}_${o.ref.kind}`,
      v: o.ref.version,
    }));
    expect(oldInventory.some((e) => e.id.split('_').length > 4)).toBe(true);

    const second = await converge(client, keep, { owner, inventory: oldInventory });
    expect(second.changeSet.stale.map((s) => s.ref.name).sort()).toEqual(drop.map(nameOf).sort());
    const result = await pruneStale(client, client.mapper, second.changeSet.stale, { owner });
    expect(result.pruned.map((s) => s.ref.name).sort()).toEqual(drop.map(nameOf).sort());
    expect(await liveNames()).toEqual(keep.map(nameOf).sort());
    // The inventory written now is in the new form and reads back to the kept objects only.
    expect(second.inventory.every((e) => e.id.split('_').length === 4)).toBe(true);
    expect(second.inventory).toHaveLength(keep.length);
  });
});

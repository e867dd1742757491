// status.inventory on the wire: objects grouped by apiVersion, kind and namespace (a name each), and the older one-entry-per-object form still read.
import type { GitSourceStatus, Inventory, InventoryEntry, InventoryGroup } from './gitsource.ts';
import { groupOf, objectId, parseObjectId, versionOf } from './object.ts';

const byId = (a: InventoryEntry, b: InventoryEntry) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Above this, status.inventory is written grouped (`objects`) instead of one entry per object. */
export const INVENTORY_ENTRIES_MAX_BYTES = 256 * 1024;

/**
 * status.inventory as written. The documented one-entry-per-object form (`entries`) while it stays
 * under INVENTORY_ENTRIES_MAX_BYTES, a few thousand objects; beyond, the grouped form (`objects`),
 * where an object costs its name plus three bytes instead of ~50 (twice that as `kubectl get -o
 * json` prints it), so 10,000 objects with long names stay far below etcd's 1.5 MB.
 */
export function encodeInventory(entries: readonly InventoryEntry[]): Inventory {
  let bytes = 0;
  for (const e of entries) bytes += e.id.length + e.v.length + 17; // {"id":"","v":""},
  if (bytes <= INVENTORY_ENTRIES_MAX_BYTES) return { entries: [...entries].sort(byId) };
  return groupInventory(entries);
}

/** The grouped form (exported for tests; encodeInventory picks the form). */
export function groupInventory(entries: readonly InventoryEntry[]): Inventory {
  const groups = new Map<string, InventoryGroup>();
  for (const e of entries) {
    const ref = parseObjectId(e.id, e.v);
    const apiVersion = ref.group ? `${ref.group}/${ref.version}` : ref.version;
    const key = JSON.stringify([apiVersion, ref.kind, ref.namespace]);
    let group = groups.get(key);
    if (!group) {
      group = {
        apiVersion,
        kind: ref.kind,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
        names: [],
      };
      groups.set(key, group);
    }
    group.names.push(ref.name);
  }
  const objects = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({ ...g, names: [...new Set(g.names)].sort() }));
  return { objects };
}

/**
 * The inventory as entries (`ns_name_group_kind` + version), sorted by id, from either form: what
 * the prune, the plan and the CLI work with. Both forms together (never written so) are merged.
 */
export function inventoryEntries(status: Pick<GitSourceStatus, 'inventory'> | undefined): InventoryEntry[] {
  const inventory = status?.inventory;
  if (!inventory) return [];
  const out = new Map<string, InventoryEntry>();
  for (const e of inventory.entries ?? []) out.set(e.id, e);
  for (const g of inventory.objects ?? []) {
    const group = groupOf(g.apiVersion);
    const version = versionOf(g.apiVersion);
    for (const name of g.names) {
      const id = objectId({ namespace: g.namespace ?? '', name, group, kind: g.kind });
      out.set(id, { id, v: version });
    }
  }
  return [...out.values()].sort(byId);
}

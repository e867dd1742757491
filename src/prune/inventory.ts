// Inventory: the ids (+ API version) of what a GitSource applied, the baseline for the next prune.
import {
  canonicalObjectId,
  objectId,
  parseObjectId,
  refOf,
  type InventoryEntry,
  type KubeObject,
  type ObjectRef,
} from '../api/index.ts';

/** Sorted inventory entries for objects (or refs). */
export function inventoryOf(objects: readonly (KubeObject | ObjectRef)[]): InventoryEntry[] {
  const byId = new Map<string, InventoryEntry>();
  for (const o of objects) {
    const ref = 'apiVersion' in o ? refOf(o) : o;
    byId.set(objectId(ref), { id: objectId(ref), v: ref.version });
  }
  // Code-point order: the same on every machine, and cheap for 10,000 ids.
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Refs of the previous inventory entries that are not in the current one. Ids are compared in
 * their current form, so an entry written by an older version (plain `_` join) still matches the
 * same object in a new inventory instead of being taken for stale.
 */
export function staleEntries(
  previous: readonly InventoryEntry[],
  current: readonly InventoryEntry[],
): { id: string; ref: ObjectRef }[] {
  const keep = new Set(current.map((e) => canonicalObjectId(e.id)));
  const out = new Map<string, { id: string; ref: ObjectRef }>();
  for (const e of previous) {
    const ref = parseObjectId(e.id, e.v);
    const id = objectId(ref);
    if (!keep.has(id) && !out.has(id)) out.set(id, { id, ref });
  }
  return [...out.values()];
}

// Inventory: the ids (+ API version) of what a GitSource applied, the baseline for the next prune.
import {
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
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** Refs of the previous inventory entries that are not in the current one. */
export function staleEntries(
  previous: readonly InventoryEntry[],
  current: readonly InventoryEntry[],
): { id: string; ref: ObjectRef }[] {
  const keep = new Set(current.map((e) => e.id));
  return previous.filter((e) => !keep.has(e.id)).map((e) => ({ id: e.id, ref: parseObjectId(e.id, e.v) }));
}

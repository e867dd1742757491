// Prune: deletes what left Git (inventory old − new), only while it still belongs to the GitSource.
export { pruneStale, PruneError } from './prune.ts';
export type { PruneOptions, PruneResult, SkippedObject } from './prune.ts';
export { inventoryOf, staleEntries } from './inventory.ts';

// The engine half of a reconcile: plan → apply → prune → health, over the stage modules, for one GitSource.
import {
  describeRef,
  parseObjectId,
  type GitSource,
  type GitSourceSpec,
  type InventoryEntry,
  type KubeObject,
} from '../api/index.ts';
import type { KubeClient } from '../kube/index.ts';
import { changeLines, hasChanges, planChanges, summarize, type ChangeSet } from '../plan/index.ts';
import { inventoryOf, pruneStale } from '../prune/index.ts';
import { waitForHealthy, type ObjectHealth } from '../health/index.ts';
import { applyInWaves, type WaveOptions } from './sync.ts';

export interface PlanOutcome {
  changeSet: ChangeSet;
  /** Desired objects as applied (ownership labels added): the baseline for drift checks. */
  desired: KubeObject[];
  hasChanges: boolean;
  changeLines: string[];
  /** "1 to create, 2 to configure, 1 to prune: Deployment/apps/web /spec/replicas, …" */
  divergedMessage: string;
}

export interface ApplyOutcome {
  summary: { objects: number; created: number; configured: number; unchanged: number; pruned: number };
  changes: string[];
  inventory: InventoryEntry[];
  pruned: string[];
  healthMessage?: string;
}

function ownerOf(gs: GitSource) {
  return { name: gs.metadata.name, namespace: gs.metadata.namespace };
}

export async function planDesired(
  client: KubeClient,
  desired: KubeObject[],
  gs: GitSource,
  spec: GitSourceSpec,
  signal: AbortSignal,
  opts: { withInventory?: boolean } = {},
): Promise<PlanOutcome> {
  const changeSet = await planChanges(client, client.mapper, desired, {
    owner: ownerOf(gs),
    ignore: spec.ignore,
    inventory: opts.withInventory === false ? undefined : (gs.status?.inventory?.entries ?? []),
    force: spec.force,
    signal,
  });
  if (!spec.prune) changeSet.stale = [];
  const s = summarize(changeSet);
  const counts = [
    s.created ? `${s.created} to create` : '',
    s.configured ? `${s.configured} to configure` : '',
    s.pruned ? `${s.pruned} to prune` : '',
  ].filter(Boolean);
  const lines = changeLines(changeSet);
  return {
    changeSet,
    desired: changeSet.objects.map((o) => o.object),
    hasChanges: hasChanges(changeSet),
    changeLines: lines,
    divergedMessage: `${counts.join(', ') || 'no changes'}${lines.length ? `: ${lines.slice(0, 5).join('; ')}` : ''}`,
  };
}

export async function applyDesired(
  client: KubeClient,
  plan: PlanOutcome,
  gs: GitSource,
  spec: GitSourceSpec,
  opts: { signal: AbortSignal } & WaveOptions,
): Promise<ApplyOutcome> {
  const { changeSet } = plan;
  // Throws on any failure: nothing below (prune) runs after a failed apply.
  await applyInWaves(client, changeSet, { ...opts, force: spec.force });
  let pruned: string[] = [];
  if (spec.prune && changeSet.stale.length > 0) {
    const result = await pruneStale(client, client.mapper, changeSet.stale, {
      owner: ownerOf(gs),
      signal: opts.signal,
    });
    pruned = result.pruned.map((r) => describeRef(r.ref));
  }
  const s = summarize(changeSet);
  return {
    summary: { ...s, pruned: pruned.length },
    changes: plan.changeLines,
    inventory: inventoryOf(changeSet.objects.map((o) => o.object)),
    pruned,
  };
}

/** Waits until every applied object is healthy; returns a line for the Converged message. */
export async function waitUntilHealthy(
  client: KubeClient,
  plan: PlanOutcome,
  opts: {
    signal: AbortSignal;
    timeoutMs: number;
    timeoutText?: string;
    onProgress?: (pending: readonly ObjectHealth[], total: number) => void | Promise<void>;
  },
): Promise<string> {
  const refs = plan.changeSet.objects.map((o) => o.ref);
  const report = await waitForHealthy(client, client.mapper, refs, opts);
  return `${report.objects.length} object(s) healthy`;
}

/** deletionPolicy: Delete — every object in the inventory goes, if it still belongs to this GitSource. */
export async function deleteInventory(
  client: KubeClient,
  gs: GitSource,
  entries: InventoryEntry[],
): Promise<string[]> {
  if (entries.length === 0) return [];
  const stale = entries.map((e) => ({ id: e.id, ref: parseObjectId(e.id, e.v) }));
  // pruneStale throws a PruneError naming every object it could not delete.
  const result = await pruneStale(client, client.mapper, stale, { owner: ownerOf(gs) });
  return result.pruned.map((r) => describeRef(r.ref));
}

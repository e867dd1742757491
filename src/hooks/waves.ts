// Pure: a planned ChangeSet cut into sync waves (argocd.argoproj.io/sync-wave), lowest first, with the Sync hooks of each wave.
import type { ChangeSet } from '../plan/index.ts';
import { syncWaveOf, type Hook } from './classify.ts';

export interface Wave {
  wave: number;
  /** This wave's objects (changed and unchanged, for the health wait); never anything to prune. */
  changeSet: ChangeSet;
  /** Argo CD `Sync` hooks of this wave: run once its objects are applied. */
  syncHooks: Hook[];
}

/**
 * One entry per wave that has objects or Sync hooks, in ascending order. A set without waves is
 * one wave 0, so callers need no special case.
 */
export function wavesOf(changeSet: ChangeSet, syncHooks: readonly Hook[] = []): Wave[] {
  const waves = new Map<number, Wave>();
  const at = (wave: number): Wave => {
    let w = waves.get(wave);
    if (!w) {
      w = { wave, changeSet: { owner: changeSet.owner, objects: [], stale: [] }, syncHooks: [] };
      waves.set(wave, w);
    }
    return w;
  };
  for (const planned of changeSet.objects) at(syncWaveOf(planned.object)).changeSet.objects.push(planned);
  for (const hook of syncHooks) at(hook.weight).syncHooks.push(hook);
  if (waves.size === 0) at(0);
  return [...waves.values()].sort((a, b) => a.wave - b.wave);
}

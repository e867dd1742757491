// GitSources that share one source cache (same source and Secret): which cache a GitSource uses, waking
// the others when one poll finds a new commit, and the disk-use metrics of the caches.
import type { Logger } from 'pino';
import { parseSpec, type GitSource } from '../api/index.ts';
import type { Metrics } from '../server/index.ts';
import { sourceKeyOf, type Fetcher, type SourceSpec } from '../source/index.ts';
import type { GitSourceCache } from './cache.ts';

/** The source cache a GitSource's spec selects: its source and Secret (see sourceKeyOf). */
export function cacheKeyFor(namespace: string, spec: SourceSpec): string {
  return sourceKeyOf(namespace, spec);
}

/** The cache keys of GitSources whose specs parse (to keep their caches at start-up). */
export function cacheKeysOf(list: readonly GitSource[]): string[] {
  return list.flatMap((gs) => {
    const parsed = parseSpec(gs.spec);
    return parsed.ok ? [cacheKeyFor(gs.metadata.namespace, parsed.spec)] : [];
  });
}

export interface SharedCacheOptions {
  source: Fetcher;
  cache: GitSourceCache;
  /** Reconciles `namespace/name` at once (false when this replica does not lead). */
  reconcileNow: (key: string) => boolean;
  metrics: Metrics;
  logger: Logger;
  /** How often the caches' disk use is measured (default 60 s). */
  diskEveryMs?: number;
}

export interface SharedCaches {
  /** A fetch ran: disk use is measured again shortly. */
  fetched(): void;
  stop(): void;
}

/** Wires the shared-cache behaviour: wakes on moved refs, disk-use metrics. */
export function shareGitCaches(opts: SharedCacheOptions): SharedCaches {
  const { source, cache, metrics, logger } = opts;
  // One GitSource's poll found the ref moved: the others of the cache learn it now, not at their
  // own next poll. Their passes reuse the fetch, and those whose render is unchanged write nothing.
  source.onMoved((key, revision, by) => {
    const owners = source.owners();
    let woken = 0;
    for (const gs of cache.values())
      if (
        owners.get(gs.metadata.uid) === key &&
        // The GitSource whose poll saw the move takes it up in that very pass. Waking it too queued
        // a second pass right after, which could start from the cached copy of a status written
        // mid-pass and re-plan the commit, leaving a status that said nothing had changed.
        gs.metadata.uid !== by &&
        opts.reconcileNow(`${gs.metadata.namespace}/${gs.metadata.name}`)
      )
        woken++;
    if (woken > 1) logger.info({ revision, woken }, 'new commit in a shared repository: woke its GitSources');
  });

  let measuring = false;
  let measuredAt = -Infinity;
  const measure = async () => {
    if (measuring) return;
    measuring = true;
    measuredAt = performance.now();
    try {
      const usage = await source.diskUsage();
      const owners = source.owners();
      metrics.gitCacheBytes.reset();
      for (const gs of cache.values()) {
        const bytes = usage.get(owners.get(gs.metadata.uid) ?? '');
        if (bytes !== undefined)
          metrics.gitCacheBytes.set({ namespace: gs.metadata.namespace, name: gs.metadata.name }, bytes);
      }
      metrics.gitCacheDiskBytes.set([...usage.values()].reduce((a, b) => a + b, 0));
    } catch (err) {
      logger.debug({ err: String(err) }, 'could not measure git cache disk use');
    } finally {
      measuring = false;
    }
  };
  const everyMs = opts.diskEveryMs ?? 60_000;
  const timer = setInterval(() => void measure(), everyMs);
  timer.unref();
  // A fetch changes what a cache holds: measure shortly after, unless a measurement is recent (a
  // burst of first fetches in a large fleet must not walk every cache over and over).
  let soon: NodeJS.Timeout | undefined;
  const measureSoon = () => {
    if (performance.now() - measuredAt < everyMs / 2) return;
    soon ??= setTimeout(() => {
      soon = undefined;
      void measure();
    }, 2_000);
    soon.unref();
  };
  return {
    fetched: measureSoon,
    stop: () => {
      clearInterval(timer);
      if (soon) clearTimeout(soon);
    },
  };
}

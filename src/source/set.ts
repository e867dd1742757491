// Every kind of source behind one Fetcher: each request goes to the kind that handles it, and each
// kind keeps its caches under <workDir>/<kind>.
import { mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConvergeError } from '../api/index.ts';
import { createGitSource, gitFetcher } from './git/index.ts';
import { createHelmFetcher } from './helm/index.ts';
import type { Fetcher, RemoteOperation, SourceRef, SourceRequest, SourceStats } from './types.ts';

export interface SourcesOptions {
  /** Root of every cache: <workDir>/git, <workDir>/helm, … */
  workDir: string;
  logger: Logger;
  /** Accept file:// git URLs (development and tests only). */
  allowFileUrls?: boolean;
  /** Where private temp dirs for key files are made (default: the OS temp dir). */
  tmpDir?: string;
  /** Called after each remote operation with its duration: wire it to metrics. */
  onRemoteCall?: (kind: SourceRef['kind'], operation: RemoteOperation, seconds: number) => void;
}

/** The fetchers of each kind, by the folder their caches live in. */
export type FetcherKinds = Readonly<Record<string, Fetcher>>;

/** Builds every kind the operator knows, each with its cache folder. */
export function createSources(options: SourcesOptions): Fetcher {
  const dir = (kind: string) => {
    const path = join(options.workDir, kind);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const git = gitFetcher(
    createGitSource({
      workDir: dir('git'),
      logger: options.logger.child({ kind: 'git' }),
      ...(options.allowFileUrls !== undefined ? { allowFileUrls: options.allowFileUrls } : {}),
      ...(options.tmpDir !== undefined ? { tmpDir: options.tmpDir } : {}),
      onRemoteCall: (operation, seconds) => options.onRemoteCall?.('git', operation, seconds),
    }),
  );
  const helm = createHelmFetcher({
    workDir: dir('helm'),
    logger: options.logger.child({ kind: 'chart' }),
    ...(options.allowFileUrls !== undefined ? { allowFileUrls: options.allowFileUrls } : {}),
    ...(options.tmpDir !== undefined ? { tmpDir: options.tmpDir } : {}),
    onRemoteCall: (operation, seconds) => options.onRemoteCall?.('chart', operation, seconds),
  });
  return combineFetchers({ git, helm }, options.workDir);
}

/**
 * One Fetcher over several: a request goes to the first kind that handles its source. With
 * `workDir`, `retainOnly` also removes what lies beside the kinds' folders (caches of an older
 * layout).
 */
export function combineFetchers(kinds: FetcherKinds, workDir?: string): Fetcher {
  const all = Object.values(kinds);
  const pick = (ref: SourceRef): Fetcher => {
    const fetcher = all.find((f) => f.handles(ref));
    if (!fetcher) throw new ConvergeError('InvalidSpec', `no source can fetch a ${ref.kind} source`);
    return fetcher;
  };
  /** The kind of the request; a kind the owner used before (its spec changed kind) forgets it. */
  const claim = (req: SourceRequest): Fetcher => {
    const fetcher = pick(req.source);
    const owner = req.owner ?? req.key;
    for (const other of all) if (other !== fetcher && other.owners().has(owner)) void other.forget(owner);
    return fetcher;
  };
  return {
    handles: (ref) => all.some((f) => f.handles(ref)),
    checkSecret: (ref, secret) => pick(ref).checkSecret(ref, secret),
    resolveRevision: (req) => claim(req).resolveRevision(req),
    fetchRevision: (req, resolved) => claim(req).fetchRevision(req, resolved),
    async forget(owner) {
      await Promise.all(all.map((f) => f.forget(owner)));
    },
    async close() {
      await Promise.all(all.map((f) => f.close()));
    },
    async retainOnly(keys) {
      const keep = [...keys];
      const removed = (await Promise.all(all.map((f) => f.retainOnly(keep)))).flat();
      if (workDir === undefined) return removed;
      let entries: string[];
      try {
        entries = await readdir(workDir);
      } catch {
        return removed;
      }
      const stray = entries.filter((name) => !(name in kinds));
      await Promise.all(stray.map((name) => rm(join(workDir, name), { recursive: true, force: true })));
      return [...removed, ...stray];
    },
    stats() {
      const total: SourceStats = { processes: 0, lsRemotes: 0, fetches: 0, collections: 0, reused: 0 };
      for (const f of all) for (const [k, v] of Object.entries(f.stats())) total[k as keyof SourceStats] += v;
      return total;
    },
    async diskUsage() {
      const usage = new Map<string, number>();
      for (const f of all) for (const [k, v] of await f.diskUsage()) usage.set(k, (usage.get(k) ?? 0) + v);
      return usage;
    },
    owners() {
      // An owner uses one kind at a time (a spec change moves it; the old kind forgets it then).
      const merged = new Map<string, string>();
      for (const f of all) for (const [owner, key] of f.owners()) merged.set(owner, key);
      return merged;
    },
    expire(owner) {
      for (const f of all) f.expire(owner);
    },
    onMoved(listener) {
      for (const f of all) f.onMoved(listener);
    },
  };
}

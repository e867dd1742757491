// Charts from chart repositories as a source: resolve = the repository's cheap answer (an index's
// conditional GET), fetch = one verified download per chart digest, unpacked safely and shared by
// every GitSource; values files from a Git checkout beside it when spec.url is set too.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConvergeError, asConvergeError } from '../../api/index.ts';
import { DEFAULT_ARCHIVE_LIMITS, unpackTarGz, type ArchiveLimits } from '../archive.ts';
import { du } from '../disk.ts';
import { redact } from '../redact.ts';
import type {
  ChartSourceRef,
  FetchedRevision,
  Fetcher,
  MovedListener,
  ResolvedRevision,
  SourceRequest,
  SourceStats,
} from '../types.ts';
import type { ChartPick, ChartRepository, ChartRequest, IndexStats } from './repository.ts';

export interface ChartFetcherOptions {
  /** Root of this kind's caches: charts/<digest>/ (unpacked), index/ (repository indexes). */
  workDir: string;
  logger: Logger;
  /** Repositories by URL scheme (`https`, `http`, `s3`; `oci` plugs in the same way). */
  repositories: Readonly<Record<string, ChartRepository>>;
  /** A git fetcher of its own for values files read from spec.url (keys are this fetcher's). */
  values?: Fetcher | undefined;
  limits?: ArchiveLimits;
}

export interface ChartFetcher extends Fetcher {
  /** Index and download totals of the repositories (tests, benchmarks). */
  repositoryStats(): Readonly<IndexStats>;
}

interface Resolution {
  revision: string;
  /** The chart's own revision: `<chart>@<version>@sha256:<digest>`. */
  chartRevision: string;
  pick: ChartPick;
  digest: string;
  git?: ResolvedRevision | undefined;
}

/** `<chart>@<version>@sha256:<digest>`, and `+<git revision>` when values files come from Git. */
export function chartRevision(name: string, version: string, digest: string, git?: string): string {
  return `${name}@${version}@sha256:${digest}${git ? `+${git}` : ''}`;
}

export function createChartFetcher(opts: ChartFetcherOptions): ChartFetcher {
  const { logger } = opts;
  const limits = opts.limits ?? DEFAULT_ARCHIVE_LIMITS;
  const chartsDir = join(opts.workDir, 'charts');
  const stats: SourceStats = { processes: 0, lsRemotes: 0, fetches: 0, collections: 0, reused: 0 };
  const ownerKeys = new Map<string, string>();
  /** key → the request it was last resolved with (chart and Secret), and its answer. */
  const keys = new Map<string, { req: SourceRequest; last?: Resolution | undefined }>();
  /** digest → the download and unpack in flight. */
  const unpacking = new Map<string, Promise<string>>();
  /** digest → the folder inside charts/<digest> that holds Chart.yaml. */
  const folders = new Map<string, string>();
  /** charts/<digest> → how many renders read it now. */
  const leases = new Map<string, number>();
  const listeners: MovedListener[] = [];

  const chartOf = (req: SourceRequest): ChartSourceRef => {
    if (req.source.kind !== 'chart')
      throw new Error(`the chart fetcher was handed a ${req.source.kind} source`);
    return req.source;
  };
  const schemeOf = (chart: ChartSourceRef) =>
    chart.repository.slice(0, Math.max(0, chart.repository.indexOf(':')));
  const repositoryOf = (chart: ChartSourceRef): ChartRepository => {
    const repo = opts.repositories[schemeOf(chart)];
    if (!repo)
      throw new ConvergeError(
        'InvalidSpec',
        `spec.chart.repository ${redact(chart.repository)}: ${schemeOf(chart) || 'no'}:// chart repositories are not supported (https, http, s3)`,
      );
    return repo;
  };
  const chartRequest = (req: SourceRequest, maxAgeMs: number): ChartRequest => ({
    chart: chartOf(req),
    secret: req.secret,
    maxAgeMs,
    timeoutMs: req.timeoutMs,
  });
  const valuesRequest = (req: SourceRequest): SourceRequest | undefined => {
    const values = chartOf(req).values;
    return values && { ...req, source: values, secret: req.gitSecret };
  };

  function claim(req: SourceRequest): void {
    const owner = req.owner ?? req.key;
    const before = ownerKeys.get(owner);
    ownerKeys.set(owner, req.key);
    const entry = keys.get(req.key);
    keys.set(req.key, { req, last: entry?.last });
    if (before !== undefined && before !== req.key && ![...ownerKeys.values()].includes(before)) {
      keys.delete(before);
      void collect();
    }
  }

  async function resolve(req: SourceRequest, maxAgeMs: number): Promise<Resolution> {
    claim(req);
    const chart = chartOf(req);
    const repo = repositoryOf(chart);
    stats.lsRemotes++;
    const pick = await repo.resolve(chartRequest(req, maxAgeMs));
    // An index without digests: the archive is downloaded now, its digest names the revision.
    const digest = pick.digest ?? (await ensureChart(req, pick, undefined)).digest;
    const values = valuesRequest(req);
    const git = values ? await opts.values!.resolveRevision(values) : undefined;
    const own = chartRevision(chart.name, pick.version, digest);
    const resolution: Resolution = {
      revision: chartRevision(chart.name, pick.version, digest, git?.revision),
      chartRevision: own,
      pick,
      digest,
      git,
    };
    const entry = keys.get(req.key);
    const previous = entry?.last?.revision;
    if (entry) entry.last = resolution;
    if (previous !== undefined && previous !== resolution.revision)
      for (const listener of listeners) listener(req.key, resolution.revision, req.owner);
    return resolution;
  }

  /**
   * charts/<digest>, downloaded and unpacked once whoever asks. With `expected`, the archive must
   * hash to it (VerificationFailed otherwise); without, its own hash names it.
   */
  async function ensureChart(
    req: SourceRequest,
    pick: ChartPick,
    expected: string | undefined,
  ): Promise<{ digest: string; dir: string }> {
    if (expected) {
      const dir = join(chartsDir, expected);
      if (folders.has(expected) || (await present(dir, expected))) return { digest: expected, dir };
      let job = unpacking.get(expected);
      if (!job) {
        job = download(req, pick, expected).finally(() => unpacking.delete(expected));
        unpacking.set(expected, job);
      }
      return { digest: expected, dir: await job };
    }
    const dir = await download(req, pick, undefined);
    return { digest: dir.slice(chartsDir.length + 1), dir };
  }

  /** Whether charts/<digest> holds a chart an earlier call (or an earlier run) unpacked. */
  async function present(dir: string, digest: string): Promise<boolean> {
    try {
      const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory());
      for (const entry of names)
        if ((await stat(join(dir, entry.name, 'Chart.yaml')).catch(() => undefined))?.isFile()) {
          folders.set(digest, entry.name);
          stats.reused++;
          return true;
        }
    } catch {
      // Not there.
    }
    return false;
  }

  async function download(
    req: SourceRequest,
    pick: ChartPick,
    expected: string | undefined,
  ): Promise<string> {
    const chart = chartOf(req);
    const what = `chart ${chart.name} ${pick.version}`;
    const started = Date.now();
    stats.fetches++;
    const body = await repositoryOf(chart).download(chartRequest(req, 0), pick);
    const chunks: Buffer[] = [];
    let size = 0;
    const hash = createHash('sha256');
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limits.maxCompressedBytes)
          throw new ConvergeError(
            'FetchFailed',
            `${what}: the archive is larger than ${limits.maxCompressedBytes >> 20} MiB`,
          );
        hash.update(chunk);
        chunks.push(chunk);
      }
    } catch (err) {
      body.destroy();
      throw asConvergeError(err, 'FetchFailed');
    }
    const digest = hash.digest('hex');
    if (expected && digest !== expected)
      throw new ConvergeError(
        'VerificationFailed',
        `${what} from ${redact(pick.url)}: its sha256 is ${digest}, the repository's index says ${expected}; nothing from it is applied`,
      );
    await mkdir(chartsDir, { recursive: true });
    const dir = join(chartsDir, digest);
    const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await mkdir(tmp);
    try {
      await unpackTarGz(Buffer.concat(chunks, size), tmp, `${what} (${pick.url.split('/').pop()})`, limits);
      const folder = await chartFolder(tmp, what);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      folders.set(digest, folder);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    logger.info(
      { chart: chart.name, version: pick.version, digest, bytes: size, ms: Date.now() - started },
      'fetched chart',
    );
    return dir;
  }

  const lease = (dir: string) => {
    leases.set(dir, (leases.get(dir) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (leases.get(dir) ?? 1) - 1;
      if (n > 0) leases.set(dir, n);
      else {
        leases.delete(dir);
        void collect();
      }
    };
  };

  /** Removes unpacked charts no key resolves to and nobody reads. */
  async function collect(): Promise<void> {
    const used = new Set([...keys.values()].flatMap((k) => (k.last ? [k.last.digest] : [])));
    let names: string[];
    try {
      names = await readdir(chartsDir);
    } catch {
      return;
    }
    await Promise.all(
      names
        .filter(
          (name) =>
            !name.includes('.tmp-') &&
            !used.has(name) &&
            !leases.has(join(chartsDir, name)) &&
            !unpacking.has(name),
        )
        .map((name) => {
          folders.delete(name);
          return rm(join(chartsDir, name), { recursive: true, force: true });
        }),
    );
  }

  return {
    handles: (ref) => ref.kind === 'chart',

    checkSecret(ref, secret) {
      if (ref.kind !== 'chart') return;
      repositoryOf(ref).checkSecret(ref, secret);
    },

    async resolveRevision(req) {
      const r = await resolve(req, req.maxAgeMs ?? 0);
      return { revision: r.revision, commit: commitOf(r), fetchRef: r.pick.url, name: r.pick.version };
    },

    async fetchRevision(req, resolved) {
      const known = keys.get(req.key)?.last;
      // The answer resolveRevision gave moments ago, or (the CLI, a first fetch) a fresh one.
      const r =
        resolved && known && known.revision === resolved.revision
          ? (claim(req), known)
          : await resolve(req, Math.min(req.maxAgeMs ?? 0, 5_000));
      const { dir } = await ensureChart(req, r.pick, r.digest);
      const values = valuesRequest(req);
      const releaseChart = lease(dir);
      let git: FetchedRevision | undefined;
      try {
        git = values ? await opts.values!.fetchRevision(values, r.git) : undefined;
      } catch (err) {
        releaseChart();
        throw err;
      }
      const fetched = git?.fetched ?? false;
      return {
        revision: git ? chartRevision(chartOf(req).name, r.pick.version, r.digest, git.revision) : r.revision,
        commit: git ? `sha256:${r.digest}+${git.commit}` : commitOf(r),
        fetchRef: r.pick.url,
        name: r.pick.version,
        dir,
        renderPath: folders.get(r.digest) ?? chartOf(req).name,
        valuesRoot: git?.dir,
        fetched,
        release: () => {
          releaseChart();
          git?.release();
        },
      };
    },

    async forget(owner) {
      const key = ownerKeys.get(owner);
      ownerKeys.delete(owner);
      await opts.values?.forget(owner);
      if (key === undefined || [...ownerKeys.values()].includes(key)) return;
      keys.delete(key);
      await retainRepositories();
      await collect();
    },

    async close() {
      await opts.values?.close();
    },

    async retainOnly(wanted) {
      const keep = new Set(wanted);
      for (const key of [...keys.keys()]) if (!keep.has(key)) keys.delete(key);
      for (const [owner, key] of [...ownerKeys]) if (!keep.has(key)) ownerKeys.delete(owner);
      const removed = (await opts.values?.retainOnly(keep)) ?? [];
      await retainRepositories();
      await collect();
      return removed;
    },

    stats() {
      const git = opts.values?.stats();
      if (!git) return { ...stats };
      return {
        processes: stats.processes + git.processes,
        lsRemotes: stats.lsRemotes + git.lsRemotes,
        fetches: stats.fetches + git.fetches,
        collections: stats.collections + git.collections,
        reused: stats.reused + git.reused,
      };
    },

    repositoryStats() {
      const total: IndexStats = { indexRequests: 0, notModified: 0, scans: 0, downloads: 0 };
      for (const repo of new Set(Object.values(opts.repositories)))
        for (const [k, v] of Object.entries(repo.stats())) total[k as keyof IndexStats] += v;
      return total;
    },

    async diskUsage() {
      const usage = new Map<string, number>();
      const sizes = new Map<string, number>();
      for (const [key, entry] of keys) {
        const digest = entry.last?.digest;
        if (!digest) continue;
        if (!sizes.has(digest)) sizes.set(digest, await du(join(chartsDir, digest)));
        usage.set(key, sizes.get(digest)!);
      }
      for (const [key, bytes] of (await opts.values?.diskUsage()) ?? [])
        usage.set(key, (usage.get(key) ?? 0) + bytes);
      return usage;
    },

    owners: () => ownerKeys,

    expire(owner) {
      const key = ownerKeys.get(owner);
      const entry = key === undefined ? undefined : keys.get(key);
      if (entry && entry.req.source.kind === 'chart')
        repositoryOf(entry.req.source).expire({ chart: entry.req.source, secret: entry.req.secret });
      opts.values?.expire(owner);
    },

    onMoved(listener) {
      listeners.push(listener);
      opts.values?.onMoved(listener);
    },
  };

  async function retainRepositories(): Promise<void> {
    const used = [...keys.values()].flatMap(({ req }) =>
      req.source.kind === 'chart' ? [{ chart: req.source, secret: req.secret }] : [],
    );
    for (const repo of new Set(Object.values(opts.repositories))) await repo.retain(used);
  }
}

/** What identifies a chart revision's content: its digest (and the values commit beside it). */
function commitOf(r: Resolution): string {
  return r.git ? `sha256:${r.digest}+${r.git.commit}` : `sha256:${r.digest}`;
}

/** The one top-level folder of an unpacked chart that holds Chart.yaml (Helm packages it so). */
async function chartFolder(root: string, what: string): Promise<string> {
  const entries = await readdir(root, { withFileTypes: true });
  for (const entry of entries)
    if (
      entry.isDirectory() &&
      (await stat(join(root, entry.name, 'Chart.yaml')).catch(() => undefined))?.isFile()
    )
      return entry.name;
  throw new ConvergeError('FetchFailed', `${what}: the archive holds no <chart>/Chart.yaml`);
}

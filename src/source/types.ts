// The one interface every kind of source implements (git, chart repositories, and what follows): the
// reconcile, the shared cache, webhooks and the CLI see only this, never which kind they have.
import type { GitRef } from '../api/index.ts';

/** What a GitSource's spec says to fetch: one variant per kind (see `sourceOf`). */
export type SourceRef = GitSourceRef | ChartSourceRef;

export interface GitSourceRef {
  kind: 'git';
  url: string;
  ref?: GitRef | undefined;
}

/** A chart from a chart repository: `repository` is https://, s3:// or (later) oci://. */
export interface ChartSourceRef {
  kind: 'chart';
  repository: string;
  name: string;
  /** A semver range (default "*": the highest stable version) or an exact version. */
  version: string;
  /** Send the repository's credentials to chart URLs on other hosts too (Helm's --pass-credentials). */
  passCredentials?: boolean | undefined;
  /** For s3:// repositories. */
  s3?: S3Endpoint | undefined;
  /** With spec.url: the values files are read from this Git source (at spec.path). */
  values?: GitSourceRef | undefined;
}

export interface S3Endpoint {
  /** host[:port] of any S3-compatible service (default s3.<region>.amazonaws.com). */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** Plain HTTP (a bucket on a private network). */
  insecure?: boolean | undefined;
}

/** A Secret's data as the reconcile read it; each kind takes the keys it understands. */
export interface SourceSecret {
  /** `namespace/name`, for messages. */
  where: string;
  data: Readonly<Record<string, Buffer>>;
}

export interface SourceRequest {
  /** Cache key (`sourceKeyOf`): GitSources with the same key share one cache and one cheap poll. */
  key: string;
  /** The GitSource this call is for (its uid); a cache lives while some owner uses it. Default: key. */
  owner?: string | undefined;
  /**
   * Accept a resolve answer for this cache at most this old (another GitSource's poll); default 0:
   * always ask the remote.
   */
  maxAgeMs?: number | undefined;
  source: SourceRef;
  /** spec.secretRef (or spec.chart.secretRef) as read from the cluster. */
  secret?: SourceSecret | undefined;
  /** spec.secretRef when spec.chart has its own secretRef: the Git part's Secret (values from Git). */
  gitSecret?: SourceSecret | undefined;
  /** Bound for the whole call. */
  timeoutMs: number;
}

export interface ResolvedRevision {
  /** `main@sha1:<sha>`, `ingress-nginx@4.11.3@sha256:<digest>`: what status.revision shows. */
  revision: string;
  /**
   * What identifies the content: a commit SHA, a chart's digest. Two revisions with the same
   * `commit` render the same (the reconcile compares it to skip, stall or supersede a pass).
   */
  commit: string;
  /** Kind-private detail for `fetchRevision` (git: the ref to fetch; a chart: its URL). */
  fetchRef: string;
  /** Branch, tag or chart version; undefined for a pinned commit. */
  name?: string | undefined;
}

export interface FetchedRevision extends ResolvedRevision {
  /** The content of the revision (a checkout, an unpacked chart); it stays until `release`. */
  dir: string;
  /**
   * What to render inside `dir` in place of spec.path (a chart's folder in its archive); undefined:
   * spec.path.
   */
  renderPath?: string | undefined;
  /** Where spec.path's values files are read (a Git checkout beside a chart); undefined: `dir`. */
  valuesRoot?: string | undefined;
  /** Whether this call went to the remote (false when the cache already held the revision). */
  fetched: boolean;
  /** Done reading `dir` (after the render): older content is removed once nobody reads it. */
  release(): void;
}

/** Told that a poll found cache `key` moved (to wake the GitSources sharing it); `by`: whose poll. */
export type MovedListener = (key: string, revision: string, by: string | undefined) => void;

/** The operation a fetcher reports with its duration (metrics), prefixed by nothing for git. */
export type RemoteOperation = 'ls-remote' | 'fetch' | 'gc' | 'index' | 'download';

/** Running totals a fetcher keeps (each kind fills what applies). */
export interface SourceStats {
  /** Child processes run (git). */
  processes: number;
  /** Cheap polls that went to the remote (ls-remote, conditional GET). */
  lsRemotes: number;
  /** Content downloads (git fetch, chart download). */
  fetches: number;
  /** Caches collected (git gc). */
  collections: number;
  /** Caches an earlier run left that were reused. */
  reused: number;
}

/**
 * A kind of source. `resolveRevision` is cheap (ls-remote, conditional GET, HEAD, one list page);
 * `fetchRevision` goes to the remote only when the cache does not hold the revision. Each kind owns
 * its cache on disk, its auth and its gc.
 */
export interface Fetcher {
  /** Whether this fetcher serves `ref` (the set dispatches on it). */
  handles(ref: SourceRef): boolean;
  /** Checks a Secret has the keys this kind needs for `ref` (InvalidSpec naming the key), before any call. */
  checkSecret(ref: SourceRef, secret: SourceSecret): void;
  resolveRevision(req: SourceRequest): Promise<ResolvedRevision>;
  /** With `resolved` (from resolveRevision moments ago) it trusts that answer instead of asking again. */
  fetchRevision(req: SourceRequest, resolved?: ResolvedRevision): Promise<FetchedRevision>;
  /** The GitSource `owner` is gone: its caches go once nobody else uses them. */
  forget(owner: string): Promise<void>;
  /** Closes connections kept for reuse (shutdown). */
  close(): Promise<void>;
  /** Deletes the caches of every key not in `keys`; returns the directory names removed. */
  retainOnly(keys: Iterable<string>): Promise<string[]>;
  stats(): Readonly<SourceStats>;
  /** Bytes on disk per cache key; measuring may also collect (git gc). */
  diskUsage(): Promise<Map<string, number>>;
  /** The cache key each owner (GitSource uid) uses now. */
  owners(): ReadonlyMap<string, string>;
  /** Forgets the last poll answer of the cache `owner` uses: a push was announced. */
  expire(owner: string): void;
  /** Calls `listener` when a poll finds a cache moved. */
  onMoved(listener: MovedListener): void;
}

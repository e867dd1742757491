// S3 buckets as sources: a poll lists the prefix (one ListObjectsV2 page per 1,000 keys, bounded) and
// hashes `<key> <etag>` into the revision; a new revision downloads only the objects whose ETag changed
// (the others are linked from the previous tree), into a directory shared by every GitSource with the key.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ConvergeError } from '../../api/index.ts';
import { pathFilter } from '../../render/index.ts';
import { createS3Client, parseS3Url, type S3Client, type S3Credentials } from '../s3/index.ts';
import type { S3Endpoint } from '../types.ts';
import { bucketEntries, bucketRevision, unquoteEtag, type BucketEntry } from './revision.ts';

export interface BucketLimits {
  /** Keys listed under the prefix at most (before excludes). */
  maxKeys: number;
  /** Bytes of one object. */
  maxObjectBytes: number;
  /** Bytes of all objects of a revision. */
  maxTotalBytes: number;
  /** Keys asked for per ListObjectsV2 page (S3's own maximum is 1,000). */
  pageSize: number;
}

export const DEFAULT_BUCKET_LIMITS: Readonly<BucketLimits> = Object.freeze({
  maxKeys: 100_000,
  maxObjectBytes: 5 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  pageSize: 1000,
});

export interface BucketRequest {
  key: string;
  owner?: string | undefined;
  url: string;
  s3?: S3Endpoint | undefined;
  credentials?: S3Credentials | undefined;
  exclude?: readonly string[] | undefined;
  maxAgeMs?: number | undefined;
  timeoutMs: number;
}

export interface ResolvedBucket {
  /** `sha256:<hex>` over the sorted `<key> <etag>` lines. */
  revision: string;
  entries: BucketEntry[];
}

export interface FetchedBucket {
  revision: string;
  dir: string;
  fetched: boolean;
  /** Objects downloaded by this call (the rest were unchanged and linked). */
  downloaded: number;
  release(): void;
}

export interface BucketStats {
  /** ListObjectsV2 pages requested. */
  listPages: number;
  /** Objects downloaded. */
  objects: number;
  polls: number;
  fetches: number;
}

export interface BucketSourceOptions {
  workDir: string;
  logger: Logger;
  limits?: Partial<BucketLimits>;
}

export interface BucketSource {
  resolveRevision(req: BucketRequest): Promise<ResolvedBucket>;
  fetchRevision(req: BucketRequest, resolved?: ResolvedBucket): Promise<FetchedBucket>;
  forget(owner: string): Promise<void>;
  retainOnly(keys: Iterable<string>): Promise<string[]>;
  stats(): Readonly<BucketStats>;
  owners(): ReadonlyMap<string, string>;
  expire(owner: string): void;
  diskUsage(): Promise<Map<string, number>>;
  onMoved(listener: (key: string, revision: string, by: string | undefined) => void): void;
}

const INDEX = '.converge-bucket.json';

export function createBucketSource(options: BucketSourceOptions): BucketSource {
  const root = options.workDir;
  const limits = { ...DEFAULT_BUCKET_LIMITS, ...options.limits };
  const totals: BucketStats = { listPages: 0, objects: 0, polls: 0, fetches: 0 };
  const clients = new Map<string, { client: S3Client; fingerprint: string }>();
  const answers = new Map<string, { at: number; resolved: ResolvedBucket }>();
  const ownerKeys = new Map<string, string>();
  const newest = new Map<string, string>();
  const leases = new Map<string, number>();
  const chains = new Map<string, Promise<unknown>>();
  const moved: Array<(key: string, revision: string, by: string | undefined) => void> = [];

  const clientFor = (req: BucketRequest): S3Client => {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([req.s3 ?? null, req.credentials ?? null]))
      .digest('hex');
    const known = clients.get(req.key);
    if (known?.fingerprint === fingerprint) return known.client;
    const client = createS3Client({ ...req.s3, credentials: req.credentials });
    clients.set(req.key, { client, fingerprint });
    return client;
  };

  const serialize = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const next = (chains.get(key) ?? Promise.resolve()).then(work, work);
    chains.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  };

  async function list(req: BucketRequest): Promise<ResolvedBucket> {
    const { bucket, prefix } = parseS3Url(req.url);
    const client = clientFor(req);
    const where = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    const signal = AbortSignal.timeout(req.timeoutMs);
    const objects: Array<{ key: string; etag: string; size: number }> = [];
    let token: string | undefined;
    do {
      totals.listPages++;
      const page = await client.listPage(bucket, prefix ? `${prefix}/` : '', {
        timeoutMs: req.timeoutMs,
        signal,
        maxKeys: limits.pageSize,
        continuationToken: token,
      });
      for (const o of page.objects) objects.push({ key: o.key, etag: unquoteEtag(o.etag), size: o.size });
      if (objects.length > limits.maxKeys) {
        throw new ConvergeError(
          'FetchFailed',
          `${where} holds more than ${limits.maxKeys} objects; narrow the prefix in spec.url (nothing listed further, nothing applied)`,
        );
      }
      token = page.next;
    } while (token);
    const entries = bucketEntries(objects, prefix, where, pathFilter([], req.exclude ?? []));
    return { revision: bucketRevision(entries), entries };
  }

  function lease(dir: string): () => void {
    leases.set(dir, (leases.get(dir) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (leases.get(dir) ?? 1) - 1;
      if (n > 0) leases.set(dir, n);
      else leases.delete(dir);
    };
  }

  async function collect(key: string): Promise<void> {
    const keep = newest.get(key);
    for (const name of await readdir(join(root, key)).catch(() => [] as string[])) {
      const path = join(root, key, name);
      if (path === keep || leases.has(path)) continue;
      await rm(path, { recursive: true, force: true });
    }
  }

  const source: BucketSource = {
    async resolveRevision(req) {
      if (req.owner) ownerKeys.set(req.owner, req.key);
      const cached = answers.get(req.key);
      if (cached && req.maxAgeMs && Date.now() - cached.at <= req.maxAgeMs) return cached.resolved;
      totals.polls++;
      const resolved = await list(req);
      const before = cached?.resolved.revision;
      answers.set(req.key, { at: Date.now(), resolved });
      if (before !== undefined && before !== resolved.revision)
        for (const l of moved) l(req.key, resolved.revision, req.owner);
      return resolved;
    },

    async fetchRevision(req, known) {
      const resolved = known ?? (await source.resolveRevision(req));
      if (req.owner) ownerKeys.set(req.owner, req.key);
      const { bucket, prefix } = parseS3Url(req.url);
      const where = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
      const dir = join(root, req.key, resolved.revision.slice('sha256:'.length, 'sha256:'.length + 24));
      return serialize(req.key, async () => {
        let fetched = false;
        let downloaded = 0;
        const done = await stat(join(dir, INDEX)).then(
          () => true,
          () => false,
        );
        if (!done) {
          const total = resolved.entries.reduce((n, e) => n + e.size, 0);
          const big = resolved.entries.find((e) => e.size > limits.maxObjectBytes);
          if (big) {
            throw new ConvergeError(
              'FetchFailed',
              `${where}: object ${big.key} is ${big.size} bytes, over the ${limits.maxObjectBytes}-byte limit; not downloaded`,
            );
          }
          if (total > limits.maxTotalBytes) {
            throw new ConvergeError(
              'FetchFailed',
              `${where}: ${total} bytes of objects, over the ${limits.maxTotalBytes}-byte limit; not downloaded`,
            );
          }
          const previous = newest.get(req.key) ?? (await latestTree(join(root, req.key)));
          const before: Record<string, string> = previous
            ? ((
                await readFile(join(previous, INDEX), 'utf8').then(
                  (t) => JSON.parse(t) as { etags?: Record<string, string> },
                  (): { etags?: Record<string, string> } => ({}),
                )
              ).etags ?? {})
            : {};
          const client = clientFor(req);
          const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
          const signal = AbortSignal.timeout(req.timeoutMs);
          try {
            await mkdir(join(tmp, 'content'), { recursive: true });
            for (const e of resolved.entries) {
              const target = join(tmp, 'content', e.path);
              await mkdir(dirname(target), { recursive: true });
              if (previous && before[e.path] === e.etag) {
                // Unchanged since the last tree: a hard link, no download (a copy where links fail).
                const from = join(previous, 'content', e.path);
                const ok = await link(from, target).then(
                  () => true,
                  () => false,
                );
                if (
                  ok ||
                  (await copyFile(from, target).then(
                    () => true,
                    () => false,
                  ))
                )
                  continue;
              }
              const res = await client.getObject(bucket, e.key, {
                timeoutMs: req.timeoutMs,
                signal,
                what: `downloading ${e.key} of ${where}`,
              });
              const length = Number(res.headers['content-length'] ?? 0);
              if (length > limits.maxObjectBytes) {
                res.body.destroy();
                throw new ConvergeError(
                  'FetchFailed',
                  `${where}: object ${e.key} is over the ${limits.maxObjectBytes}-byte limit`,
                );
              }
              let size = 0;
              res.body.on('data', (c: Buffer) => {
                size += c.length;
                if (size > limits.maxObjectBytes) {
                  res.body.destroy(
                    new ConvergeError(
                      'FetchFailed',
                      `${where}: object ${e.key} is over the ${limits.maxObjectBytes}-byte limit`,
                    ),
                  );
                }
              });
              await pipeline(res.body, createWriteStream(target, { mode: 0o644 }));
              downloaded++;
            }
            const etags = Object.fromEntries(resolved.entries.map((e) => [e.path, e.etag]));
            await writeFile(join(tmp, INDEX), JSON.stringify({ revision: resolved.revision, etags }));
            await rm(dir, { recursive: true, force: true });
            await rename(tmp, dir);
          } finally {
            await rm(tmp, { recursive: true, force: true });
          }
          fetched = true;
          totals.fetches++;
          totals.objects += downloaded;
          options.logger.info({ source: where, revision: resolved.revision, downloaded }, 'bucket fetched');
        }
        newest.set(req.key, dir);
        const release = lease(dir);
        void collect(req.key);
        return {
          revision: resolved.revision,
          dir: join(dir, 'content'),
          fetched,
          downloaded,
          release: () => {
            release();
            void collect(req.key);
          },
        };
      });
    },

    async forget(owner) {
      const key = ownerKeys.get(owner);
      ownerKeys.delete(owner);
      if (key === undefined || [...ownerKeys.values()].includes(key)) return;
      answers.delete(key);
      clients.delete(key);
      newest.delete(key);
      await serialize(key, () => rm(join(root, key), { recursive: true, force: true }));
    },

    async retainOnly(keys) {
      const keep = new Set(keys);
      const removed: string[] = [];
      for (const name of await readdir(root).catch(() => [] as string[])) {
        if (keep.has(name)) continue;
        await rm(join(root, name), { recursive: true, force: true });
        removed.push(name);
      }
      return removed;
    },

    stats: () => ({ ...totals }),
    owners: () => ownerKeys,
    expire(owner) {
      const key = ownerKeys.get(owner);
      if (key !== undefined) answers.delete(key);
    },
    async diskUsage() {
      const usage = new Map<string, number>();
      for (const key of await readdir(root).catch(() => [] as string[]))
        usage.set(key, await du(join(root, key)));
      return usage;
    },
    onMoved(listener) {
      moved.push(listener);
    },
  };
  return source;
}

/** The tree of a key an earlier run left (after a restart), to link unchanged objects from. */
async function latestTree(dir: string): Promise<string | undefined> {
  let best: { path: string; at: number } | undefined;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.includes('.tmp-')) continue;
    const st = await stat(join(dir, name, INDEX)).catch(() => undefined);
    if (st && (!best || st.mtimeMs > best.at)) best = { path: join(dir, name), at: st.mtimeMs };
  }
  return best?.path;
}

async function du(path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await du(join(path, name));
  return total;
}

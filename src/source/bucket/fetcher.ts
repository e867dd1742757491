// S3 buckets behind the source interface: a GitSource's request becomes a bucket request (URL, endpoint,
// the keys its Secret holds, spec.exclude).
import type { Fetcher, FetchedRevision, ResolvedRevision, SourceRequest } from '../types.ts';
import { s3CredentialsFromSecret } from '../s3/index.ts';
import type { BucketRequest, BucketSource, ResolvedBucket } from './source.ts';

export function bucketFetcher(source: BucketSource): Fetcher {
  const toBucket = (req: SourceRequest): BucketRequest => {
    if (req.source.kind !== 'bucket')
      throw new Error(`the bucket fetcher was handed a ${req.source.kind} source`);
    return {
      key: req.key,
      owner: req.owner,
      maxAgeMs: req.maxAgeMs,
      url: req.source.url,
      s3: req.source.s3,
      exclude: req.source.exclude,
      credentials: req.secret ? s3CredentialsFromSecret(req.secret) : undefined,
      timeoutMs: req.timeoutMs,
    };
  };
  // The listing rides along with the revision so the fetch needs no second list.
  const listings = new Map<string, ResolvedBucket>();
  const toResolved = (key: string, r: ResolvedBucket): ResolvedRevision => {
    listings.set(key, r);
    return { revision: r.revision, commit: r.revision, fetchRef: r.revision };
  };
  return {
    handles: (ref) => ref.kind === 'bucket',
    checkSecret: (ref, secret) => {
      if (ref.kind === 'bucket') s3CredentialsFromSecret(secret);
    },
    resolveRevision: async (req) => toResolved(req.key, await source.resolveRevision(toBucket(req))),
    async fetchRevision(req, resolved): Promise<FetchedRevision> {
      const listing = listings.get(req.key);
      const known = resolved && listing?.revision === resolved.commit ? listing : undefined;
      const f = await source.fetchRevision(toBucket(req), known);
      return {
        revision: f.revision,
        commit: f.revision,
        fetchRef: f.revision,
        dir: f.dir,
        fetched: f.fetched,
        release: f.release,
      };
    },
    async forget(owner) {
      const key = source.owners().get(owner);
      await source.forget(owner);
      if (key !== undefined && ![...source.owners().values()].includes(key)) listings.delete(key);
    },
    close: async () => undefined,
    retainOnly: (keys) => source.retainOnly(keys),
    stats() {
      const s = source.stats();
      return { processes: 0, lsRemotes: s.polls, fetches: s.fetches, collections: 0, reused: 0 };
    },
    diskUsage: () => source.diskUsage(),
    owners: () => source.owners(),
    expire: (owner) => source.expire(owner),
    onMoved: (listener) => source.onMoved(listener),
  };
}

// S3 buckets as sources: ListObjectsV2 polls, Flux's Bucket revision, only changed objects downloaded.
export { createBucketSource, DEFAULT_BUCKET_LIMITS } from './source.ts';
export type { BucketSource, BucketRequest, BucketLimits, ResolvedBucket, FetchedBucket } from './source.ts';
export { bucketRevision, bucketEntries } from './revision.ts';
export { bucketFetcher } from './fetcher.ts';

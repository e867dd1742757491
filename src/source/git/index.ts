// Git as a source: one shared cache per (URL, ref, Secret), one ls-remote per poll, one fetch per commit.
export { cacheKeyOf, createGitSource } from './cache.ts';
export type {
  GitSource,
  CacheKeyInput,
  GitSourceOptions,
  GitRequest,
  ResolvedRevision,
  FetchedRevision,
} from './cache.ts';
export { credentialsFromSecret } from './credentials.ts';
export type { GitCredentials } from './credentials.ts';
export type { GitStats } from './process.ts';
export { gitFetcher } from './fetcher.ts';
export { redact } from '../redact.ts';

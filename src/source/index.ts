// The source stage: fetch a GitSource's branch, tag, semver range or commit, cheaply and safely.
export { cacheKeyOf, createGitSource } from './git-source.ts';
export type {
  GitSource,
  CacheKeyInput,
  GitSourceOptions,
  MovedListener,
  SourceRequest,
  ResolvedRevision,
  FetchedRevision,
} from './git-source.ts';
export { credentialsFromSecret } from './credentials.ts';
export type { GitCredentials } from './credentials.ts';
export type { GitStats } from './git-process.ts';
export { redact } from './redact.ts';

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
export { credentialsFromSecret, prepareAuth } from './credentials.ts';
export type { GitCredentials } from './credentials.ts';
export type { GitStats } from './git-process.ts';
// For writers of Git (image updates, issue 28): one way to run git with a GitSource's credentials.
export { runGit } from './git-process.ts';
export type { RunGitOptions } from './git-process.ts';
export { gitEnv } from './git-config.ts';
export { checkUrl } from './validate.ts';
export type { GitTransport } from './validate.ts';
export { redact } from './redact.ts';

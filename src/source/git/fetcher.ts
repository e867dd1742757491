// The git cache behind the source interface: a GitSource's request becomes a git request (URL, ref and
// the credentials its Secret holds); everything else is the cache's own.
import type { Fetcher, SourceRequest } from '../types.ts';
import type { GitRequest, GitSource } from './cache.ts';
import { credentialsFromSecret } from './credentials.ts';

export function gitFetcher(cache: GitSource): Fetcher {
  const toGit = (req: SourceRequest): GitRequest => {
    if (req.source.kind !== 'git') throw new Error(`the git fetcher was handed a ${req.source.kind} source`);
    return {
      key: req.key,
      owner: req.owner,
      maxAgeMs: req.maxAgeMs,
      url: req.source.url,
      ref: req.source.ref,
      credentials: req.secret ? credentialsFromSecret(req.secret.data, req.secret.where) : undefined,
      timeoutMs: req.timeoutMs,
    };
  };
  return {
    handles: (ref) => ref.kind === 'git',
    checkSecret: (_ref, secret) => void credentialsFromSecret(secret.data, secret.where),
    resolveRevision: (req) => cache.resolveRevision(toGit(req)),
    fetchRevision: (req, resolved) => cache.fetchRevision(toGit(req), resolved),
    forget: (owner) => cache.forget(owner),
    close: () => cache.close(),
    retainOnly: (keys) => cache.retainOnly(keys),
    stats: () => cache.stats(),
    diskUsage: () => cache.diskUsage(),
    owners: () => cache.owners(),
    expire: (owner) => cache.expire(owner),
    onMoved: (listener) => cache.onMoved(listener),
  };
}

// OCI artifacts behind the source interface: a GitSource's request becomes an artifact request (URL,
// ref, layer, the registry credentials and cosign keys its Secrets hold).
import { ConvergeError } from '../../api/index.ts';
import type { Fetcher, FetchedRevision, ResolvedRevision, SourceRequest } from '../types.ts';
import { registryCredentialsFromSecret } from './auth.ts';
import { keysFromSecret } from './cosign.ts';
import { apiHost, parseOciUrl } from './reference.ts';
import type { OciRequest, OciSource, ResolvedArtifact } from './source.ts';

export function ociFetcher(source: OciSource): Fetcher {
  const toOci = (req: SourceRequest): OciRequest => {
    if (req.source.kind !== 'oci') throw new Error(`the oci fetcher was handed a ${req.source.kind} source`);
    const { url, ref, layerSelector, insecure, verify } = req.source;
    const host = apiHost(parseOciUrl(url)).host;
    if (verify && !req.verifySecret) {
      throw new ConvergeError(
        'InvalidSpec',
        'spec.verify: keyless cosign verification needs the public Sigstore services (Fulcio, Rekor), which Converge does not call; give spec.verify.secretRef with *.pub keys',
      );
    }
    return {
      key: req.key,
      owner: req.owner,
      maxAgeMs: req.maxAgeMs,
      url,
      ref,
      layerSelector,
      insecure,
      credentials: req.secret
        ? registryCredentialsFromSecret(req.secret.data, host, req.secret.where)
        : undefined,
      verify: req.verifySecret
        ? { keys: keysFromSecret(req.verifySecret.data, req.verifySecret.where) }
        : undefined,
      timeoutMs: req.timeoutMs,
    };
  };
  const toResolved = (r: ResolvedArtifact): ResolvedRevision => ({
    revision: r.revision,
    commit: r.digest,
    fetchRef: r.digest,
    name: r.tag,
  });
  return {
    handles: (ref) => ref.kind === 'oci',
    checkSecret(ref, secret) {
      if (ref.kind === 'oci')
        registryCredentialsFromSecret(secret.data, apiHost(parseOciUrl(ref.url)).host, secret.where);
    },
    resolveRevision: async (req) => toResolved(await source.resolveRevision(toOci(req))),
    async fetchRevision(req, resolved): Promise<FetchedRevision> {
      const known = resolved
        ? { revision: resolved.revision, digest: resolved.commit, tag: resolved.name }
        : undefined;
      const f = await source.fetchRevision(toOci(req), known);
      return {
        ...toResolved(f),
        dir: f.dir,
        fetched: f.fetched,
        ...(f.verifiedBy ? { verified: { provider: 'cosign', key: f.verifiedBy } } : {}),
        release: f.release,
      };
    },
    forget: (owner) => source.forget(owner),
    close: async () => undefined,
    retainOnly: (keys) => source.retainOnly(keys),
    stats() {
      const s = source.stats();
      return { processes: 0, lsRemotes: s.polls, fetches: s.downloads, collections: 0, reused: 0 };
    },
    diskUsage: () => source.diskUsage(),
    owners: () => source.owners(),
    expire: (owner) => source.expire(owner),
    onMoved: (listener) => source.onMoved(listener),
  };
}

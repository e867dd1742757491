// The OCI artifact source: resolves a tag, semver range or digest to a manifest digest (one HEAD per
// poll for a tag), and only when the digest moved downloads the chosen layer, verifies its cosign
// signature when asked, and unpacks it into a directory shared by every GitSource with the same key.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConvergeError } from '../../api/index.ts';
import { DEFAULT_ARCHIVE_LIMITS, unpackTarGz, type ArchiveLimits } from '../archive.ts';
import { highestMatchingTag } from '../git/refs.ts';
import type { RegistryCredentials } from './auth.ts';
import { RegistryClient, type Descriptor, type RegistryLimits, type RegistryStats } from './client.ts';
import {
  verifySignatures,
  SIMPLE_SIGNING_TYPE,
  type SignatureLayer,
  type VerificationKey,
} from './cosign.ts';
import { chooseLayer, type LayerSelector } from './layers.ts';
import { DIGEST, TAG, apiHost, parseOciUrl, shortDigest, signatureTag } from './reference.ts';

export interface OciRef {
  tag?: string | undefined;
  semver?: string | undefined;
  digest?: string | undefined;
}

export interface OciRequest {
  /** Cache key: GitSources with the same key share answers and unpacked trees. */
  key: string;
  owner?: string | undefined;
  url: string;
  ref?: OciRef | undefined;
  layerSelector?: LayerSelector | undefined;
  credentials?: RegistryCredentials | undefined;
  insecure?: boolean | undefined;
  /** cosign public keys: the artifact is unpacked only once one verifies its signature. */
  verify?: { keys: VerificationKey[] } | undefined;
  /** Accept a resolve answer of this cache at most this old (another GitSource's poll). */
  maxAgeMs?: number | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface ResolvedArtifact {
  /** `<tag>@sha256:<digest>`, or `sha256:<digest>` for a pinned digest. */
  revision: string;
  digest: string;
  tag?: string | undefined;
}

export interface FetchedArtifact extends ResolvedArtifact {
  dir: string;
  fetched: boolean;
  /** The Secret key (cosign.pub) whose signature verified, when verify is set. */
  verifiedBy?: string | undefined;
  release(): void;
}

export interface OciSourceOptions {
  workDir: string;
  logger: Logger;
  registryLimits?: Partial<RegistryLimits>;
  archiveLimits?: ArchiveLimits;
  /** Largest layer downloaded (checked against the manifest before any byte moves). */
  maxLayerBytes?: number;
}

export interface OciSource {
  resolveRevision(req: OciRequest): Promise<ResolvedArtifact>;
  fetchRevision(req: OciRequest, resolved?: ResolvedArtifact): Promise<FetchedArtifact>;
  forget(owner: string): Promise<void>;
  retainOnly(keys: Iterable<string>): Promise<string[]>;
  /** Requests sent to registries so far, and resolves that asked the registry / layers downloaded. */
  stats(): Readonly<RegistryStats & { polls: number; downloads: number }>;
  expire(owner: string): void;
  owners(): ReadonlyMap<string, string>;
  /** Bytes on disk of each cache key's unpacked trees. */
  diskUsage(): Promise<Map<string, number>>;
  /** Called when a resolve finds a key's digest moved (`by`: the owner whose poll saw it). */
  onMoved(listener: (key: string, revision: string, by: string | undefined) => void): void;
}

export function ociCacheKeyOf(input: {
  namespace: string;
  url: string;
  ref?: OciRef | undefined;
  secretName?: string | undefined;
}): string {
  const who = input.secretName ? `secret:${input.namespace}/${input.secretName}` : 'anonymous';
  const ref = Object.entries(input.ref ?? {})
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256')
    .update(JSON.stringify(['oci', input.url, ref, who]))
    .digest('hex')
    .slice(0, 32);
}

const DEFAULT_MAX_LAYER_BYTES = 256 * 1024 * 1024;

export function createOciSource(options: OciSourceOptions): OciSource {
  const root = options.workDir;
  const totals = { head: 0, get: 0, token: 0, blobBytes: 0, polls: 0, downloads: 0 };
  const movedListeners: Array<(key: string, revision: string, by: string | undefined) => void> = [];
  /** key → client (tokens cached per key), recreated when the credentials change. */
  const clients = new Map<string, { client: RegistryClient; fingerprint: string }>();
  const answers = new Map<string, { at: number; resolved: ResolvedArtifact }>();
  const asking = new Map<string, Promise<ResolvedArtifact>>();
  const ownerKeys = new Map<string, string>();
  /** key → the digest known when a push was announced (expire), until the next resolve. */
  const pushed = new Map<string, string>();
  const leases = new Map<string, number>();
  const newest = new Map<string, string>();
  const chains = new Map<string, Promise<unknown>>();
  const maxLayerBytes = options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES;

  function clientFor(req: OciRequest, host: string): RegistryClient {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([host, req.insecure ?? false, req.credentials ?? null]))
      .digest('hex');
    const known = clients.get(req.key);
    if (known && known.fingerprint === fingerprint) return known.client;
    const client = new RegistryClient({
      host,
      insecure: req.insecure,
      credentials: req.credentials,
      limits: options.registryLimits,
    });
    clients.set(req.key, { client, fingerprint });
    return client;
  }

  /** Counts a client's requests into the totals around one call. */
  async function counted<T>(client: RegistryClient, work: () => Promise<T>): Promise<T> {
    const before = { ...client.stats };
    try {
      return await work();
    } finally {
      totals.head += client.stats.head - before.head;
      totals.get += client.stats.get - before.get;
      totals.token += client.stats.token - before.token;
      totals.blobBytes += client.stats.blobBytes - before.blobBytes;
    }
  }

  function serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
    const prev = chains.get(key) ?? Promise.resolve();
    const next = prev.then(work, work);
    chains.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  async function resolveNow(req: OciRequest): Promise<ResolvedArtifact> {
    const location = parseOciUrl(req.url);
    const { host, repository } = apiHost(location);
    const client = clientFor(req, host);
    const signal = withTimeout(req);
    const ref = req.ref ?? {};
    return counted(client, async () => {
      if (ref.digest) {
        if (!DIGEST.test(ref.digest)) {
          throw new ConvergeError(
            'InvalidSpec',
            `spec.ref.digest: ${ref.digest} is not sha256:<64 hex digits>`,
          );
        }
        // Immutable: nothing to ask; the fetch checks the registry has it.
        return { revision: ref.digest, digest: ref.digest };
      }
      let tag = ref.tag ?? 'latest';
      if (ref.semver) {
        const tags = await client.listTags(repository, signal);
        // OCI tags cannot hold '+': Helm and Flux write build metadata as '_'.
        const byVersion = new Map(tags.map((t) => [`refs/tags/${t.replace(/_/g, '+')}`, t]));
        const best = highestMatchingTag(ref.semver, [...byVersion.keys()]);
        if (best === undefined) {
          throw new ConvergeError(
            'RefNotFound',
            `no tag of ${req.url} matches semver range "${ref.semver}"${nearest(tags)}: push a matching tag or widen spec.ref.semver`,
          );
        }
        tag = byVersion.get(`refs/tags/${best}`)!;
      } else if (!TAG.test(tag)) {
        throw new ConvergeError('InvalidSpec', `spec.ref.tag: ${tag} is not a valid OCI tag`);
      }
      const head = await client.headManifest(repository, tag, signal);
      return { revision: `${tag}@${head.digest}`, digest: head.digest, tag };
    });
  }

  async function verify(
    client: RegistryClient,
    repository: string,
    digest: string,
    keys: VerificationKey[],
    where: string,
    signal: AbortSignal,
  ): Promise<string> {
    let sigManifest;
    try {
      sigManifest = await client.getManifest(repository, signatureTag(digest), signal);
    } catch (err) {
      if (err instanceof ConvergeError && err.reason === 'RefNotFound') {
        throw new ConvergeError(
          'VerificationFailed',
          `${where}@${shortDigest(digest)}: no cosign signature (tag ${signatureTag(digest)} not found)`,
        );
      }
      throw err;
    }
    const layers: SignatureLayer[] = [];
    for (const layer of (sigManifest.manifest.layers ?? []).slice(0, 32)) {
      if (layer.mediaType !== SIMPLE_SIGNING_TYPE) continue;
      const payload = await client.getBlob(repository, layer, 64 * 1024, signal);
      layers.push({ descriptor: layer, payload });
    }
    return verifySignatures(digest, layers, keys, where).name;
  }

  /** After an announced push whose resolve still saw the old digest: up to 4 looks, 0.25–2 s apart. */
  function recheck(req: OciRequest, digest: string, attempt = 0): void {
    if (attempt >= 4) return;
    const timer = setTimeout(
      () => {
        resolveNow({ ...req, timeoutMs: Math.min(req.timeoutMs, 10_000) }).then(
          (resolved) => {
            if (resolved.digest === digest) return recheck(req, digest, attempt + 1);
            answers.set(req.key, { at: Date.now(), resolved });
            for (const l of movedListeners) l(req.key, resolved.revision, undefined);
          },
          () => undefined,
        );
      },
      250 * 2 ** attempt,
    );
    timer.unref();
  }

  function treeDir(req: OciRequest, digest: string): string {
    const variant = createHash('sha256')
      .update(
        JSON.stringify([
          req.layerSelector ?? null,
          req.verify ? req.verify.keys.map((k) => k.key.export({ type: 'spki', format: 'pem' })) : null,
        ]),
      )
      .digest('hex')
      .slice(0, 12);
    return join(root, req.key, `${digest.slice('sha256:'.length, 'sha256:'.length + 32)}-${variant}`);
  }

  function lease(dir: string): () => void {
    leases.set(dir, (leases.get(dir) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (leases.get(dir) ?? 1) - 1;
      if (n > 0) leases.set(dir, n);
      else leases.delete(dir);
    };
  }

  /** Trees of `key` other than the newest that nobody reads any more. */
  async function collect(key: string): Promise<void> {
    const keep = newest.get(key);
    const dir = join(root, key);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(dir, name);
      if (path === keep || leases.has(path) || name.startsWith('.')) continue;
      await rm(path, { recursive: true, force: true });
    }
  }

  const source: OciSource = {
    async resolveRevision(req) {
      if (req.owner) ownerKeys.set(req.owner, req.key);
      const cached = answers.get(req.key);
      if (cached && req.maxAgeMs && Date.now() - cached.at <= req.maxAgeMs) return cached.resolved;
      let pending = asking.get(req.key);
      if (!pending) {
        totals.polls++;
        pending = resolveNow(req).then((resolved) => {
          const announced = pushed.get(req.key);
          pushed.delete(req.key);
          // A registry may announce a push before its tag points at the new manifest: look again
          // a few times shortly after, and wake the sharers (this owner too) once it moves.
          if (announced !== undefined && announced === resolved.digest) recheck(req, resolved.digest);
          const before = answers.get(req.key)?.resolved.digest;
          answers.set(req.key, { at: Date.now(), resolved });
          if (before !== undefined && before !== resolved.digest) {
            for (const l of movedListeners) l(req.key, resolved.revision, req.owner);
          }
          return resolved;
        });
        const mine = pending;
        asking.set(req.key, mine);
        void mine
          .finally(() => {
            if (asking.get(req.key) === mine) asking.delete(req.key);
          })
          .catch(() => undefined);
      }
      return pending;
    },

    async fetchRevision(req, known) {
      const resolved = known ?? (await source.resolveRevision(req));
      if (req.owner) ownerKeys.set(req.owner, req.key);
      const location = parseOciUrl(req.url);
      const { host, repository } = apiHost(location);
      const where = `${location.registry}/${location.repository}`;
      const dir = treeDir(req, resolved.digest);
      return serialize(req.key, async () => {
        const marker = join(dir, '.converge-oci.json');
        const done = await stat(marker).then(
          () => true,
          () => false,
        );
        let verifiedBy: string | undefined;
        let fetched = false;
        if (done) {
          verifiedBy = req.verify ? await readVerified(marker) : undefined;
        } else {
          const client = clientFor(req, host);
          const signal = withTimeout(req);
          await counted(client, async () => {
            const { manifest } = await client.getManifest(repository, resolved.digest, signal);
            // Verified before any content is downloaded: an unsigned artifact costs its manifest only.
            if (req.verify) {
              const keys = req.verify.keys;
              verifiedBy = await verify(client, repository, resolved.digest, keys, where, signal).catch(
                (err: unknown) => {
                  // Only a new digest can help: the reconcile stalls on this one, nothing applied or pruned.
                  if (err instanceof ConvergeError && err.reason === 'VerificationFailed') {
                    throw new ConvergeError(err.reason, err.message, {
                      rejectedRevision: { revision: resolved.revision, commit: resolved.digest },
                    });
                  }
                  throw err;
                },
              );
            }
            const chosen = chooseLayer(
              manifest,
              `${where}@${shortDigest(resolved.digest)}`,
              req.layerSelector,
            );
            const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
            const blob = `${tmp}.blob`;
            await mkdir(join(root, req.key), { recursive: true });
            try {
              await client.downloadBlob(repository, chosen.layer, blob, maxLayerBytes, signal);
              const content = join(tmp, 'content');
              if (chosen.operation === 'copy') {
                await mkdir(content, { recursive: true });
                await rename(blob, join(content, chosen.fileName));
              } else {
                await mkdir(content, { recursive: true });
                const limits = {
                  ...(options.archiveLimits ?? DEFAULT_ARCHIVE_LIMITS),
                  maxCompressedBytes: maxLayerBytes,
                };
                await unpackTarGz(
                  createReadStream(blob),
                  content,
                  `layer ${shortDigest(chosen.layer.digest)} of ${where}`,
                  limits,
                ).catch((err: unknown) => {
                  // Said once, plainly: the layer is dropped whole, nothing of it reaches the cluster.
                  if (err instanceof ConvergeError)
                    throw new ConvergeError(err.reason, `${err.message}; refused, nothing applied`);
                  throw err;
                });
              }
              await writeFile(
                join(tmp, '.converge-oci.json'),
                JSON.stringify({
                  digest: resolved.digest,
                  layer: chosen.layer.digest,
                  verifiedBy: verifiedBy ?? null,
                }),
              );
              await rm(dir, { recursive: true, force: true });
              await rename(tmp, dir);
            } finally {
              await rm(blob, { force: true });
              await rm(tmp, { recursive: true, force: true });
            }
          });
          fetched = true;
          totals.downloads++;
          options.logger.info({ source: where, revision: resolved.revision, verifiedBy }, 'artifact fetched');
        }
        newest.set(req.key, dir);
        const release = lease(dir);
        void collect(req.key);
        return {
          ...resolved,
          dir: join(dir, 'content'),
          fetched,
          verifiedBy,
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

    async diskUsage() {
      const usage = new Map<string, number>();
      for (const key of await readdir(root).catch(() => [] as string[]))
        usage.set(key, await du(join(root, key)));
      return usage;
    },

    onMoved(listener) {
      movedListeners.push(listener);
    },

    expire(owner) {
      const key = ownerKeys.get(owner);
      if (key === undefined) return;
      pushed.set(key, answers.get(key)?.resolved.digest ?? '');
      answers.delete(key);
      // A HEAD already in flight may have left before the push: the next resolve must not join it.
      asking.delete(key);
    },
  };
  return source;
}

async function du(path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await du(join(path, name));
  return total;
}

function withTimeout(req: OciRequest): AbortSignal {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  return req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
}

async function readVerified(marker: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await readFile(marker, 'utf8')) as { verifiedBy?: string | null };
    return parsed.verifiedBy ?? undefined;
  } catch {
    return undefined;
  }
}

/** ", the highest tags are 1.4.0, 1.3.2, …" for a message, or nothing. */
function nearest(tags: string[]): string {
  const versions = tags
    .filter((t) => /^v?\d+\.\d+\.\d+/.test(t))
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
    .slice(0, 5);
  return versions.length
    ? ` (the highest tags are ${versions.join(', ')})`
    : tags.length
      ? ''
      : ' (it has no tags)';
}

export type { Descriptor };

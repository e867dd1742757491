// A registry client (Docker Registry HTTP API v2 / OCI distribution): token and basic auth, manifests
// by HEAD and GET, tags with Link pagination, blobs streamed with their digest and size checked.
// Every request is bounded in time and its timeout names the step; credentials never follow a redirect
// to another host.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { ConvergeError } from '../../api/index.ts';
import { basicAuthorization, parseChallenge, type RegistryCredentials } from './auth.ts';
import { DIGEST, shortDigest } from './reference.ts';

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const ACCEPT = MANIFEST_TYPES.join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Manifest {
  schemaVersion?: number;
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Array<Descriptor & { platform?: unknown }>;
  annotations?: Record<string, string>;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface RegistryLimits {
  /** Largest manifest read (the spec's own suggestion is 4 MiB). */
  maxManifestBytes: number;
  /** Tags listed at most, across pages. */
  maxTags: number;
  /** Tags asked for per page (`?n=`); a registry may send fewer and a Link to the next page. */
  tagsPageSize: number;
  /** Time for one request and its body (a blob download has its own, larger bound). */
  requestTimeoutMs: number;
  /** Time for one blob download. */
  blobTimeoutMs: number;
}

export const DEFAULT_REGISTRY_LIMITS: Readonly<RegistryLimits> = Object.freeze({
  maxManifestBytes: 4 * 1024 * 1024,
  maxTags: 100_000,
  tagsPageSize: 1000,
  requestTimeoutMs: 30_000,
  blobTimeoutMs: 120_000,
});

export interface RegistryClientOptions {
  /** host[:port] of the registry's API. */
  host: string;
  /** Plain HTTP (a registry on a private network or loopback). */
  insecure?: boolean;
  credentials?: RegistryCredentials | undefined;
  limits?: Partial<RegistryLimits>;
  userAgent?: string;
}

/** Requests sent, by kind: the cost of a poll. */
export interface RegistryStats {
  head: number;
  get: number;
  token: number;
  blobBytes: number;
}

interface Token {
  value: string;
  expires: number;
}

export class RegistryClient {
  readonly host: string;
  readonly stats: RegistryStats = { head: 0, get: 0, token: 0, blobBytes: 0 };
  private readonly base: string;
  private readonly limits: RegistryLimits;
  private readonly tokens = new Map<string, Token>();
  /** Once a registry asked for basic auth, send it up front (no 401 round trip per request). */
  private basicUpFront = false;

  constructor(private readonly options: RegistryClientOptions) {
    this.host = options.host;
    this.base = `${options.insecure ? 'http' : 'https'}://${options.host}`;
    this.limits = { ...DEFAULT_REGISTRY_LIMITS, ...options.limits };
  }

  /** The manifest's digest, media type and size: one HEAD (a GET only if the registry sends no digest). */
  async headManifest(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead> {
    const step = `resolving ${repository}:${reference}`;
    const res = await this.send(step, 'HEAD', `/v2/${repository}/manifests/${reference}`, repository, {
      accept: ACCEPT,
      signal,
    });
    const digest = res.headers.get('docker-content-digest');
    if (digest && DIGEST.test(digest)) {
      if (DIGEST.test(reference) && digest !== reference) {
        throw new ConvergeError(
          'VerificationFailed',
          `registry ${this.host} answered ${repository}@${shortDigest(reference)} with the digest ${shortDigest(digest)}`,
        );
      }
      return {
        digest,
        mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(),
        size: Number(res.headers.get('content-length') ?? 0),
      };
    }
    const { head } = await this.getManifest(repository, reference, signal);
    return head;
  }

  /** The manifest, its digest checked against the reference (when a digest) and the registry's header. */
  async getManifest(
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<{ head: ManifestHead; manifest: Manifest; body: Buffer }> {
    const step = `reading the manifest ${repository}:${reference}`;
    const res = await this.send(step, 'GET', `/v2/${repository}/manifests/${reference}`, repository, {
      accept: ACCEPT,
      signal,
    });
    const body = await this.readBounded(res, this.limits.maxManifestBytes, step);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const claimed = res.headers.get('docker-content-digest');
    if (
      (DIGEST.test(reference) && digest !== reference) ||
      (claimed && DIGEST.test(claimed) && claimed !== digest)
    ) {
      throw new ConvergeError(
        'VerificationFailed',
        `manifest ${repository}:${reference} from ${this.host} has the digest ${shortDigest(digest)}, not ${shortDigest(DIGEST.test(reference) ? reference : claimed!)}`,
      );
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(body.toString('utf8')) as Manifest;
    } catch {
      throw new ConvergeError(
        'FetchFailed',
        `manifest ${repository}:${reference} from ${this.host} is not JSON`,
      );
    }
    if (!manifest || typeof manifest !== 'object') {
      throw new ConvergeError(
        'FetchFailed',
        `manifest ${repository}:${reference} from ${this.host} is not an object`,
      );
    }
    const mediaType = manifest.mediaType ?? (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    return { head: { digest, mediaType, size: body.length }, manifest, body };
  }

  /** Every tag of the repository, following `Link: <…>; rel="next"` pages, at most maxTags. */
  async listTags(repository: string, signal?: AbortSignal): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=${this.limits.tagsPageSize}`;
    for (let page = 1; path; page++) {
      const step = `listing the tags of ${repository} (page ${page})`;
      const res = await this.send(step, 'GET', path, repository, { accept: 'application/json', signal });
      const body = await this.readBounded(res, 16 * 1024 * 1024, step);
      let parsed: { tags?: unknown };
      try {
        parsed = JSON.parse(body.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new ConvergeError('FetchFailed', `${step}: the registry ${this.host} answered no JSON`);
      }
      if (Array.isArray(parsed.tags)) for (const t of parsed.tags) if (typeof t === 'string') tags.push(t);
      if (tags.length > this.limits.maxTags) {
        throw new ConvergeError(
          'FetchFailed',
          `${repository} on ${this.host} has more than ${this.limits.maxTags} tags; pin a tag or a digest`,
        );
      }
      path = nextLink(res.headers.get('link'), path);
    }
    return tags;
  }

  /** A small blob (a config, a signature payload) in memory: its size bound checked before reading it. */
  async getBlob(
    repository: string,
    descriptor: Descriptor,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const step = `reading the blob ${shortDigest(descriptor.digest)} of ${repository}`;
    this.checkDescriptor(descriptor, maxBytes, repository);
    const res = await this.send(step, 'GET', `/v2/${repository}/blobs/${descriptor.digest}`, repository, {
      signal,
      timeoutMs: this.limits.blobTimeoutMs,
    });
    const body = await this.readBounded(res, descriptor.size, step);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (digest !== descriptor.digest || body.length !== descriptor.size) {
      throw mismatch(repository, descriptor, digest, body.length, this.host);
    }
    return body;
  }

  /**
   * Streams a blob to `file`, hashing as it goes. Refused before any byte moves when the manifest
   * declares more than maxBytes; cut off the moment the registry sends more than declared; removed
   * unless its digest and size match.
   */
  async downloadBlob(
    repository: string,
    descriptor: Descriptor,
    file: string,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const step = `downloading the layer ${shortDigest(descriptor.digest)} of ${repository}`;
    this.checkDescriptor(descriptor, maxBytes, repository);
    const res = await this.send(step, 'GET', `/v2/${repository}/blobs/${descriptor.digest}`, repository, {
      signal,
      timeoutMs: this.limits.blobTimeoutMs,
    });
    const length = res.headers.get('content-length');
    if (length !== null && Number(length) > descriptor.size) {
      await res.body?.cancel();
      throw mismatch(repository, descriptor, undefined, Number(length), this.host);
    }
    const hash = createHash('sha256');
    const out = createWriteStream(file, { mode: 0o600 });
    let size = 0;
    try {
      if (!res.body)
        throw new ConvergeError('FetchFailed', `${step}: the registry ${this.host} sent no body`);
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > descriptor.size) throw mismatch(repository, descriptor, undefined, size, this.host);
        hash.update(chunk);
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
    } catch (err) {
      out.destroy();
      await rm(file, { force: true });
      throw this.explain(err, step, this.limits.blobTimeoutMs);
    }
    this.stats.blobBytes += size;
    const digest = `sha256:${hash.digest('hex')}`;
    if (digest !== descriptor.digest || size !== descriptor.size) {
      await rm(file, { force: true });
      throw mismatch(repository, descriptor, digest, size, this.host);
    }
  }

  private checkDescriptor(descriptor: Descriptor, maxBytes: number, repository: string): void {
    if (!DIGEST.test(descriptor.digest)) {
      throw new ConvergeError(
        'FetchFailed',
        `${repository}: the manifest names a blob by ${String(descriptor.digest).slice(0, 80)}; only sha256 digests are accepted`,
      );
    }
    if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
      throw new ConvergeError(
        'FetchFailed',
        `${repository}: blob ${shortDigest(descriptor.digest)} declares no valid size`,
      );
    }
    if (descriptor.size > maxBytes) {
      throw new ConvergeError(
        'FetchFailed',
        `${repository}: blob ${shortDigest(descriptor.digest)} declares ${formatBytes(descriptor.size)}, over the ${formatBytes(maxBytes)} limit; not downloaded`,
      );
    }
  }

  private async readBounded(res: Response, max: number, step: string): Promise<Buffer> {
    const length = res.headers.get('content-length');
    if (length !== null && Number(length) > max) {
      await res.body?.cancel();
      throw new ConvergeError(
        'FetchFailed',
        `${step}: ${this.host} announced ${formatBytes(Number(length))}, over ${formatBytes(max)}`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      if (res.body) {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          size += chunk.length;
          if (size > max)
            throw new ConvergeError(
              'FetchFailed',
              `${step}: ${this.host} sent more than ${formatBytes(max)}`,
            );
          chunks.push(Buffer.from(chunk));
        }
      }
    } catch (err) {
      throw this.explain(err, step, this.limits.requestTimeoutMs);
    }
    return Buffer.concat(chunks);
  }

  /** One request, with the auth dance (401 → challenge → token → again) and same-host-only credentials. */
  private async send(
    step: string,
    method: 'GET' | 'HEAD',
    path: string,
    repository: string,
    opts: { accept?: string; signal?: AbortSignal | undefined; timeoutMs?: number },
  ): Promise<Response> {
    const scope = `repository:${repository}:pull`;
    const timeoutMs = opts.timeoutMs ?? this.limits.requestTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    for (let attempt = 0; ; attempt++) {
      const authorization = this.authorizationFor(scope);
      let res: Response;
      try {
        res = await this.follow(method, `${this.base}${path}`, opts.accept, authorization, signal);
      } catch (err) {
        throw this.explain(err, step, timeoutMs);
      }
      if (method === 'HEAD') this.stats.head++;
      else this.stats.get++;
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        const challenge = parseChallenge(res.headers.get('www-authenticate'));
        if (challenge?.scheme === 'bearer' && challenge.realm) {
          await this.fetchToken(challenge.realm, challenge.service, scope, signal, step, timeoutMs);
          continue;
        }
        if (
          challenge?.scheme === 'basic' &&
          this.options.credentials?.kind === 'basic' &&
          !this.basicUpFront
        ) {
          this.basicUpFront = true;
          continue;
        }
      }
      if (res.ok) return res;
      const detail = await errorDetail(res);
      if (res.status === 401 || res.status === 403) {
        throw new ConvergeError(
          'AuthenticationFailed',
          `${step}: registry ${this.host} answered ${res.status}${detail}${this.options.credentials ? '' : ' (no credentials given: set spec.secretRef)'}`,
        );
      }
      if (res.status === 404) {
        throw new ConvergeError('RefNotFound', `${step}: not found on ${this.host}${detail}`);
      }
      throw new ConvergeError(
        'FetchFailed',
        `${step}: registry ${this.host} answered ${res.status}${detail}`,
      );
    }
  }

  private authorizationFor(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token && token.expires > Date.now()) return `Bearer ${token.value}`;
    const creds = this.options.credentials;
    if (creds?.kind === 'basic' && this.basicUpFront)
      return basicAuthorization(creds.username, creds.password);
    return undefined;
  }

  private async fetchToken(
    realm: string,
    service: string | undefined,
    scope: string,
    signal: AbortSignal,
    step: string,
    timeoutMs: number,
  ): Promise<void> {
    const creds = this.options.credentials;
    if (creds?.kind === 'bearer') {
      // A registry token is the bearer itself (dockerconfigjson registrytoken / Secret bearerToken).
      this.tokens.set(scope, { value: creds.token, expires: Date.now() + 3600_000 });
      return;
    }
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new ConvergeError(
        'AuthenticationFailed',
        `${step}: registry ${this.host} named an invalid token realm`,
      );
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.options.insecure)) {
      throw new ConvergeError(
        'AuthenticationFailed',
        `${step}: registry ${this.host} named a token realm that is not https`,
      );
    }
    if (service) url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    let res: Response;
    try {
      if (creds?.kind === 'identity') {
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: creds.token,
          service: service ?? '',
          scope,
          client_id: 'converge',
        });
        res = await fetch(url.origin + url.pathname, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
          body: form,
          signal,
          redirect: 'error',
        });
      } else {
        if (creds?.kind === 'basic')
          headers.authorization = basicAuthorization(creds.username, creds.password);
        res = await fetch(url, { headers, signal, redirect: 'error' });
      }
    } catch (err) {
      throw this.explain(err, `${step} (token from ${url.host})`, timeoutMs);
    }
    this.stats.token++;
    if (!res.ok) {
      await res.body?.cancel();
      throw new ConvergeError(
        'AuthenticationFailed',
        `${step}: the token service ${url.host} of ${this.host} answered ${res.status}`,
      );
    }
    const body = (await this.readBounded(res, 1024 * 1024, `${step} (token)`)).toString('utf8');
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      throw new ConvergeError(
        'AuthenticationFailed',
        `${step}: the token service ${url.host} answered no JSON`,
      );
    }
    const value = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
    if (typeof value !== 'string' || !value) {
      throw new ConvergeError('AuthenticationFailed', `${step}: the token service ${url.host} gave no token`);
    }
    const ttl = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    // Refreshed a little early so a token never runs out between the check and the request.
    this.tokens.set(scope, { value, expires: Date.now() + Math.max(ttl - 10, 5) * 1000 });
  }

  /** fetch with redirects followed by hand: Authorization goes to the registry host alone (blob stores redirect to S3 and CDNs). */
  private async follow(
    method: string,
    url: string,
    accept: string | undefined,
    authorization: string | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    let current = new URL(url);
    for (let hop = 0; hop <= 5; hop++) {
      const sameHost =
        current.host === new URL(this.base).host && current.protocol === new URL(this.base).protocol;
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'converge' };
      if (accept) headers.accept = accept;
      if (authorization && sameHost) headers.authorization = authorization;
      const res = await fetch(current, { method, headers, signal, redirect: 'manual' });
      if (res.status < 300 || res.status >= 400 || res.status === 304) return res;
      const location = res.headers.get('location');
      await res.body?.cancel();
      if (!location) return res;
      const next = new URL(location, current);
      if (current.protocol === 'https:' && next.protocol !== 'https:') {
        throw new ConvergeError(
          'FetchFailed',
          `registry ${this.host} redirected from https to ${next.protocol}`,
        );
      }
      current = next;
    }
    throw new ConvergeError('FetchFailed', `registry ${this.host}: more than 5 redirects`);
  }

  private explain(err: unknown, step: string, timeoutMs: number): unknown {
    if (err instanceof ConvergeError) return err;
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e?.name === 'TimeoutError') {
      return new ConvergeError(
        'FetchFailed',
        `${step}: no complete answer from ${this.host} within ${timeoutMs / 1000}s`,
        {
          cause: err,
        },
      );
    }
    if (e?.name === 'AbortError') return err; // the caller's own cancellation (deadline, superseded)
    const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
    return new ConvergeError('FetchFailed', `${step}: ${this.host}: ${why}`, { cause: err });
  }
}

/** The next page of a tags list: `Link: </v2/x/tags/list?last=a&n=1000>; rel="next"`, kept on this registry. */
export function nextLink(header: string | null, current: string): string | undefined {
  if (!header) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(header);
  if (!m) return undefined;
  // Always asked of the registry that holds the repository, whatever host the Link names.
  const url = new URL(m[1]!, `http://registry${current}`);
  return `${url.pathname}${url.search}`;
}

function mismatch(
  repository: string,
  descriptor: Descriptor,
  digest: string | undefined,
  size: number,
  host: string,
): ConvergeError {
  const what =
    digest && digest !== descriptor.digest
      ? `has the digest ${shortDigest(digest)}`
      : `is ${size > descriptor.size ? 'larger' : 'smaller'} than the ${descriptor.size} bytes declared (${size}${size > descriptor.size ? '+' : ''})`;
  return new ConvergeError(
    'VerificationFailed',
    `${repository}: blob ${shortDigest(descriptor.digest)} from ${host} ${what}; refused`,
  );
}

async function errorDetail(res: Response): Promise<string> {
  try {
    const text = (await res.text()).slice(0, 2000);
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = parsed.errors?.[0];
    if (first) return `: ${first.code ?? ''}${first.message ? ` ${first.message}` : ''}`.slice(0, 300);
  } catch {
    // not a registry error body
  }
  return '';
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

// A small client of the registry HTTP API (Docker Registry v2 / OCI distribution): list an image's tags
// page by page (Link headers) and resolve a tag's digest by HEAD, with Basic or Bearer-token auth.
import { createHash } from 'node:crypto';
import { ConvergeError } from '../api/index.ts';

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface ImageName {
  /** host[:port] as written, with Docker Hub's names mapped to its API host. */
  host: string;
  /** The repository path inside the registry (library/nginx for "nginx"). */
  repository: string;
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface RegistryClientOptions {
  fetch?: Fetch;
  /** Bound of one HTTP request (default 30 s). */
  requestTimeoutMs?: number;
  /** Tags asked for per page (default 1000); pages followed at most (default 100), tags kept at most (default 50,000). */
  pageSize?: number;
  maxPages?: number;
  maxTags?: number;
}

export interface RegistryRequest {
  image: string;
  credentials?: RegistryCredentials | undefined;
  /** Plain HTTP (spec.insecure). */
  insecure?: boolean;
  signal?: AbortSignal | undefined;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** `registry.example.com:5000/team/web` → host and repository; Docker Hub short names as docker does. */
export function parseImageName(image: string): ImageName {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost';
  let host = isHost ? first : 'docker.io';
  let repository = isHost ? image.slice(slash + 1) : image;
  if (host === 'docker.io' || host === 'index.docker.io') {
    host = 'registry-1.docker.io';
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  return { host, repository };
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"` → parts. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** The URL of rel="next" in a Link header, resolved against the request's URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (m && /rel\s*=\s*"?next"?/i.test(m[2]!)) return new URL(m[1]!, base).toString();
  }
  return undefined;
}

export interface RegistryClient {
  /** Every tag of the image, following pagination. */
  listTags(req: RegistryRequest): Promise<string[]>;
  /** The manifest digest a tag points at (HEAD; a GET when the registry sends no digest header). */
  digestOf(req: RegistryRequest, tag: string): Promise<string | undefined>;
}

export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const doFetch: Fetch = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const pageSize = options.pageSize ?? 1000;
  const maxPages = options.maxPages ?? 100;
  const maxTags = options.maxTags ?? 50_000;
  /** host + scope + who → a bearer token and when it runs out. */
  const tokens = new Map<string, { token: string; until: number }>();

  /** One request, answering a 401 challenge once (Basic, or a Bearer token from the realm). */
  async function call(
    req: RegistryRequest,
    url: string,
    method: 'GET' | 'HEAD',
    accept: string,
    scope: string,
  ): Promise<Response> {
    const name = parseImageName(req.image);
    const who = req.credentials
      ? createHash('sha256').update(`${req.credentials.username}\0${req.credentials.password}`).digest('hex')
      : '';
    const tokenKey = `${name.host}\0${scope}\0${who}`;
    const cached = tokens.get(tokenKey);
    const headers: Record<string, string> = { accept };
    if (cached && cached.until > Date.now()) headers.authorization = `Bearer ${cached.token}`;
    let res = await send(url, method, headers, req.signal);
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get('www-authenticate'));
    await res.body?.cancel();
    if (challenge?.scheme === 'basic') {
      if (!req.credentials) throw needsCredentials(req.image);
      headers.authorization = `Basic ${basic(req.credentials)}`;
    } else if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      const token = await fetchToken(req, challenge, scope, tokenKey);
      headers.authorization = `Bearer ${token}`;
    } else {
      throw new ConvergeError(
        'AuthenticationFailed',
        `registry ${name.host} answered 401 without a Basic or Bearer challenge for ${req.image}`,
      );
    }
    res = await send(url, method, headers, req.signal);
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw rejected(req, res.status);
    }
    return res;
  }

  async function fetchToken(
    req: RegistryRequest,
    challenge: Challenge,
    scope: string,
    tokenKey: string,
  ): Promise<string> {
    const name = parseImageName(req.image);
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm!);
    } catch {
      throw new ConvergeError('FetchFailed', `registry ${name.host} named a token realm that is not a URL`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:')
      throw new ConvergeError('FetchFailed', `registry ${name.host} named a token realm that is not http(s)`);
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope ?? scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    // Credentials go to the realm only over TLS or on the registry's own host (never in the clear elsewhere).
    const sameHost = realm.host === name.host || realm.hostname === name.host.split(':')[0];
    if (req.credentials && (realm.protocol === 'https:' || sameHost))
      headers.authorization = `Basic ${basic(req.credentials)}`;
    const res = await send(realm.toString(), 'GET', headers, req.signal);
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw rejected(req, res.status);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ConvergeError('FetchFailed', `token service of ${name.host} answered HTTP ${res.status}`);
    }
    const body = (await res.json().catch(() => ({}))) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;
    if (!token) throw new ConvergeError('FetchFailed', `token service of ${name.host} returned no token`);
    const ttl = Math.max(30, Math.min(body.expires_in ?? 60, 3600));
    tokens.set(tokenKey, { token, until: Date.now() + (ttl - 10) * 1000 });
    return token;
  }

  async function send(
    url: string,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      return await doFetch(url, {
        method,
        headers,
        redirect: 'follow',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const host = new URL(url).host;
      if (timeout.aborted)
        throw new ConvergeError('FetchFailed', `registry ${host} did not answer within ${timeoutMs / 1000}s`);
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ConvergeError(
        'FetchFailed',
        `registry ${host} could not be reached: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        { cause: err },
      );
    }
  }

  const baseOf = (req: RegistryRequest) => {
    const name = parseImageName(req.image);
    return { name, base: `${req.insecure ? 'http' : 'https'}://${name.host}/v2/${name.repository}` };
  };

  return {
    async listTags(req) {
      const { name, base } = baseOf(req);
      const scope = `repository:${name.repository}:pull`;
      const tags: string[] = [];
      let url: string | undefined = `${base}/tags/list?n=${pageSize}`;
      for (let page = 0; url; page++) {
        if (page >= maxPages)
          throw new ConvergeError('FetchFailed', `${req.image} has more than ${maxPages} pages of tags`);
        const res = await call(req, url, 'GET', 'application/json', scope);
        if (res.status === 404) {
          await res.body?.cancel();
          throw new ConvergeError(
            'FetchFailed',
            `image ${req.image} was not found in registry ${name.host} (HTTP 404)`,
          );
        }
        if (!res.ok) {
          await res.body?.cancel();
          throw new ConvergeError(
            'FetchFailed',
            `listing the tags of ${req.image} failed: HTTP ${res.status}`,
          );
        }
        const body = (await res.json().catch(() => undefined)) as { tags?: unknown } | undefined;
        if (!body || (body.tags !== null && body.tags !== undefined && !Array.isArray(body.tags)))
          throw new ConvergeError('FetchFailed', `registry ${name.host} sent a tag list that is not JSON`);
        for (const t of (body.tags as unknown[] | null | undefined) ?? [])
          if (typeof t === 'string') tags.push(t);
        if (tags.length > maxTags)
          throw new ConvergeError('FetchFailed', `${req.image} has more than ${maxTags} tags`);
        url = nextLink(res.headers.get('link'), url);
      }
      return tags;
    },

    async digestOf(req, tag) {
      const { name, base } = baseOf(req);
      const scope = `repository:${name.repository}:pull`;
      const url = `${base}/manifests/${encodeURIComponent(tag)}`;
      const head = await call(req, url, 'HEAD', MANIFEST_TYPES, scope);
      const digest = head.headers.get('docker-content-digest');
      if (head.ok && digest && /^sha256:[0-9a-f]{64}$/.test(digest)) return digest;
      if (head.status === 404) return undefined;
      // Some registries send no digest header: the digest is that of the manifest's bytes.
      const res = await call(req, url, 'GET', MANIFEST_TYPES, scope);
      if (!res.ok) {
        await res.body?.cancel();
        return undefined;
      }
      const bytes = Buffer.from(await res.arrayBuffer());
      return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    },
  };
}

function basic(c: RegistryCredentials): string {
  return Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64');
}

function needsCredentials(image: string): ConvergeError {
  return new ConvergeError(
    'AuthenticationFailed',
    `the registry of ${image} asks for credentials (HTTP 401): set spec.secretRef to a kubernetes.io/dockerconfigjson Secret`,
  );
}

function rejected(req: RegistryRequest, status: number): ConvergeError {
  const host = parseImageName(req.image).host;
  return new ConvergeError(
    'AuthenticationFailed',
    req.credentials
      ? `registry ${host} rejected the credentials for ${host} in spec.secretRef (HTTP ${status})`
      : `registry ${host} refused anonymous access to ${req.image} (HTTP ${status}): set spec.secretRef`,
  );
}

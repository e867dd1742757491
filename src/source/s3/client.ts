// A small S3 client for sources (chart repositories in a bucket, buckets as sources): path-style
// requests to any S3-compatible endpoint, signed with SigV4 (sign.ts); GET (conditional), HEAD, list, PUT.
import { ConvergeError } from '../../api/index.ts';
import { expectOk, readBody, send, type HttpResponse, type HttpStats } from '../http.ts';
import type { S3Endpoint, SourceSecret } from '../types.ts';
import { EMPTY_SHA256, sha256Hex, signV4, uriEncode, type S3Credentials } from './sign.ts';

export type { S3Credentials };

export interface S3ClientOptions extends S3Endpoint {
  /** Anonymous requests (a public bucket) when absent. */
  credentials?: S3Credentials | undefined;
  /** The clock signatures use (tests). */
  now?: () => Date;
  stats?: HttpStats;
}

export interface S3Object {
  key: string;
  etag: string;
  size: number;
  lastModified: string;
}

export interface RequestOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface S3Client {
  /** Where the bucket is, for messages: `s3://bucket` at the endpoint. */
  readonly endpoint: string;
  /**
   * GET an object; with `ifNoneMatch` (an ETag) or `ifModifiedSince`, a 304 means unchanged. The
   * caller reads the body. 401/403 AuthenticationFailed, 404 `notFound`.
   */
  getObject(
    bucket: string,
    key: string,
    opts: RequestOptions & {
      ifNoneMatch?: string | undefined;
      ifModifiedSince?: string | undefined;
      what: string;
      notFound?: () => ConvergeError;
    },
  ): Promise<HttpResponse>;
  /** The object's ETag, size and date, or undefined when there is none. */
  headObject(bucket: string, key: string, opts: RequestOptions): Promise<S3Object | undefined>;
  /** One page of ListObjectsV2 under `prefix` (up to 1,000 keys). */
  listPage(
    bucket: string,
    prefix: string,
    opts: RequestOptions & { continuationToken?: string | undefined; maxKeys?: number },
  ): Promise<{ objects: S3Object[]; next?: string | undefined }>;
  putObject(
    bucket: string,
    key: string,
    body: Buffer | string,
    opts: RequestOptions & { contentType?: string },
  ): Promise<void>;
  createBucket(bucket: string, opts: RequestOptions): Promise<void>;
}

/**
 * Reads `accesskey` and `secretkey` (and `sessiontoken`) from a Secret, as Flux's Bucket does.
 * InvalidSpec naming the missing key.
 */
export function s3CredentialsFromSecret(secret: SourceSecret): S3Credentials {
  const get = (key: string) => secret.data[key]?.toString('utf8').trim() || undefined;
  const accessKeyId = get('accesskey');
  const secretAccessKey = get('secretkey');
  if (accessKeyId === undefined || secretAccessKey === undefined)
    throw new ConvergeError(
      'InvalidSpec',
      `secret ${secret.where} needs the keys "accesskey" and "secretkey" for S3 (missing "${accessKeyId === undefined ? 'accesskey' : 'secretkey'}")`,
    );
  const sessionToken = get('sessiontoken');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** `s3://bucket/prefix` → its parts (prefix without leading or trailing slash). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m)
    throw new ConvergeError(
      'InvalidSpec',
      `${url} is not an s3://bucket[/prefix] URL (bucket names are lowercase)`,
    );
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export function createS3Client(opts: S3ClientOptions): S3Client {
  const region = opts.region || 'us-east-1';
  const host = (opts.endpoint || `s3.${region}.amazonaws.com`)
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  const scheme = opts.insecure || opts.endpoint?.startsWith('http://') ? 'http' : 'https';
  const base = `${scheme}://${host}`;
  const now = opts.now ?? (() => new Date());

  const urlOf = (bucket: string, key: string, query: Record<string, string> = {}) => {
    const url = new URL(`${base}/${uriEncode(bucket)}${key ? `/${uriEncode(key, true)}` : ''}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    // URLSearchParams writes spaces as '+': S3 reads them as SigV4 encodes them.
    url.search = [...url.searchParams.entries()].map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
    return url.href;
  };

  const call = (
    method: 'GET' | 'HEAD' | 'PUT',
    url: string,
    what: string,
    ro: RequestOptions,
    headers: Record<string, string> = {},
    body?: Buffer,
  ) =>
    send(
      {
        url,
        method,
        headers,
        ...(body ? { body } : {}),
        timeoutMs: ro.timeoutMs,
        signal: ro.signal,
        what,
        // Path-style URLs: a redirect to another endpoint never gets the signature.
        sign: opts.credentials
          ? (u, m, h, b) =>
              void signV4({
                method: m,
                url: u,
                headers: h,
                payloadHash: b.length ? sha256Hex(b) : EMPTY_SHA256,
                credentials: opts.credentials!,
                region,
                now: now(),
              })
          : undefined,
      },
      opts.stats,
    );

  return {
    endpoint: base,

    async getObject(bucket, key, o) {
      const headers: Record<string, string> = {};
      if (o.ifNoneMatch) headers['if-none-match'] = o.ifNoneMatch;
      else if (o.ifModifiedSince) headers['if-modified-since'] = o.ifModifiedSince;
      const res = await call('GET', urlOf(bucket, key), o.what, o, headers);
      if (res.status !== 304) await expectOk(res, o.what, o.notFound);
      return res;
    },

    async headObject(bucket, key, o) {
      const what = `s3://${bucket}/${key}`;
      const res = await call('HEAD', urlOf(bucket, key), what, o);
      res.body.resume();
      if (res.status === 404) return undefined;
      await expectOk(res, what);
      return {
        key,
        etag: String(res.headers.etag ?? ''),
        size: Number(res.headers['content-length'] ?? 0),
        lastModified: String(res.headers['last-modified'] ?? ''),
      };
    },

    async listPage(bucket, prefix, o) {
      const what = `listing s3://${bucket}/${prefix}`;
      const query: Record<string, string> = { 'list-type': '2', 'max-keys': String(o.maxKeys ?? 1000) };
      if (prefix) query.prefix = prefix;
      if (o.continuationToken) query['continuation-token'] = o.continuationToken;
      const res = await call('GET', urlOf(bucket, '', query), what, o);
      await expectOk(
        res,
        what,
        () => new ConvergeError('FetchFailed', `${what}: bucket ${bucket} not found`),
      );
      const xml = (await readBody(res.body, 16 << 20, what)).toString('utf8');
      const objects = [...xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map(([, c]) => ({
        key: xmlText(c!, 'Key'),
        etag: xmlText(c!, 'ETag'),
        size: Number(xmlText(c!, 'Size') || 0),
        lastModified: xmlText(c!, 'LastModified'),
      }));
      const truncated = xmlText(xml, 'IsTruncated') === 'true';
      const next = truncated ? xmlText(xml, 'NextContinuationToken') : '';
      return { objects, ...(next ? { next } : {}) };
    },

    async putObject(bucket, key, body, o) {
      const what = `uploading s3://${bucket}/${key}`;
      const headers: Record<string, string> = o.contentType ? { 'content-type': o.contentType } : {};
      const res = await call('PUT', urlOf(bucket, key), what, o, headers, Buffer.from(body));
      await expectOk(res, what);
      res.body.resume();
    },

    async createBucket(bucket, o) {
      const what = `creating bucket ${bucket}`;
      const res = await call('PUT', urlOf(bucket, ''), what, o, {}, Buffer.alloc(0));
      // Already there (and ours) is fine.
      if (res.status === 409) return void res.body.resume();
      await expectOk(res, what);
      res.body.resume();
    },
  };
}

function xmlText(xml: string, tag: string): string {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1]!) : '';
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]!;
  });
}

// AWS Signature Version 4 for S3 requests, with node:crypto only: pure (the clock is passed in).
import { createHash, createHmac } from 'node:crypto';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials (STS) come with one. */
  sessionToken?: string | undefined;
}

/** sha256 of an empty body: what GET, HEAD and DELETE sign. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 percent-encoding as SigV4 wants it (unreserved characters kept; `/` kept when `path`). */
export function uriEncode(text: string, path = false): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (path && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface SignInput {
  method: string;
  url: URL;
  /** Header names in any case; `host` is added when missing. Changed in place: the auth headers are added. */
  headers: Record<string, string>;
  /** Hex sha256 of the body (EMPTY_SHA256 for none); `UNSIGNED-PAYLOAD` is allowed by S3. */
  payloadHash: string;
  credentials: S3Credentials;
  region: string;
  service?: string;
  now: Date;
}

/**
 * Adds `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` (with a session token) and
 * `authorization` to `headers`. The URL's path must already be encoded as it is sent.
 */
export function signV4(input: SignInput): { signature: string; canonicalRequest: string } {
  const { headers, credentials } = input;
  const service = input.service ?? 's3';
  const amzDate = input.now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (!has('host')) headers.host = input.url.host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = input.payloadHash;
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;

  const canonical = Object.entries(headers)
    .map(([k, v]) => [k.toLowerCase(), String(v).trim().replace(/\s+/g, ' ')] as const)
    .filter(([k]) => k !== 'authorization' && k !== 'user-agent' && k !== 'content-length')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = canonical.map(([k]) => k).join(';');
  const query = [...input.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [
    input.method,
    input.url.pathname || '/',
    query,
    canonical.map(([k, v]) => `${k}:${v}\n`).join(''),
    signedHeaders,
    input.payloadHash,
  ].join('\n');
  const scope = `${date}/${input.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), input.region), service),
    'aws4_request',
  );
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { signature, canonicalRequest };
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

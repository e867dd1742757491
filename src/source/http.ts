// HTTP(S) for sources: credentials from a Secret (basic, bearer, CA, client certificate), bounded
// bodies, redirects followed by hand so credentials never reach another host (unless passCredentials).
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { ConvergeError } from '../api/index.ts';
import { redact } from './redact.ts';
import type { SourceSecret } from './types.ts';

/** What a Secret may hold for an HTTP(S) source; any part may be absent. */
export interface HttpCredentials {
  where: string;
  basic?: { username: string; password: string };
  bearerToken?: string;
  /** PEM: the CA that signs the server's certificate (added to the system ones). */
  ca?: string;
  /** PEM client certificate and key (mutual TLS). */
  cert?: string;
  key?: string;
}

/**
 * Reads `username`+`password`, `bearerToken`, `ca.crt`, `tls.crt`+`tls.key` (the keys of Flux's
 * HelmRepository Secrets). Throws InvalidSpec naming the key when a pair is incomplete.
 */
export function httpCredentialsFromSecret(secret: SourceSecret, required = true): HttpCredentials {
  const get = (key: string) => {
    const text = secret.data[key]?.toString('utf8');
    return text ? text : undefined;
  };
  const invalid = (message: string) => new ConvergeError('InvalidSpec', `secret ${secret.where} ${message}`);
  const creds: HttpCredentials = { where: secret.where };
  const username = get('username');
  const password = get('password');
  if (username !== undefined || password !== undefined) {
    if (username === undefined) throw invalid('has "password" but no "username" key: add it');
    if (password === undefined) throw invalid('has "username" but no "password" key: add it');
    if (/[\r\n:]/.test(username)) throw invalid(': "username" must not contain \':\' or line breaks');
    creds.basic = { username, password };
  }
  const token = get('bearerToken')?.trim();
  if (token !== undefined) {
    if (/[\r\n]/.test(token)) throw invalid(': "bearerToken" must not contain line breaks');
    creds.bearerToken = token;
  }
  const ca = get('ca.crt');
  if (ca !== undefined) creds.ca = ca;
  const cert = get('tls.crt');
  const key = get('tls.key');
  if (cert !== undefined || key !== undefined) {
    if (cert === undefined) throw invalid('has "tls.key" but no "tls.crt" key: add it');
    if (key === undefined) throw invalid('has "tls.crt" but no "tls.key" key: add it');
    creds.cert = cert;
    creds.key = key;
  }
  if (required && !creds.basic && creds.bearerToken === undefined && !creds.ca && !creds.cert)
    throw invalid('has none of the keys username+password, bearerToken, ca.crt or tls.crt+tls.key');
  return creds;
}

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: Buffer | string;
  credentials?: HttpCredentials | undefined;
  /** Send the credentials to a redirect's or a chart URL's other host too (Helm's --pass-credentials). */
  passCredentials?: boolean | undefined;
  /** The origin credentials belong to (default: the URL's): a chart URL on another host gets none. */
  credentialsOrigin?: string | undefined;
  /** Adds authentication to each request (S3 signatures); called again for each redirect. */
  sign?: (url: URL, method: string, headers: Record<string, string>, body: Buffer) => void;
  /** Wall time for the whole exchange, redirects included. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Redirects followed (default 5). */
  maxRedirects?: number;
  /** What the request is for, in errors ("index.yaml of https://charts.example.com"). */
  what: string;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: string;
  body: IncomingMessage;
}

/** Totals for tests and benchmarks: how many requests went out. */
export interface HttpStats {
  requests: number;
}

/**
 * Sends a request and returns the response once its headers arrive (the caller reads or discards
 * the body). Redirects (301, 302, 303, 307, 308) are followed; credentials and the client
 * certificate go only to the first URL's origin unless `passCredentials`. Errors are FetchFailed
 * naming `what` and the redacted URL; statuses are left to the caller (see `expectOk`).
 */
export async function send(req: HttpRequest, stats?: HttpStats): Promise<HttpResponse> {
  const signal = AbortSignal.any([AbortSignal.timeout(req.timeoutMs), ...(req.signal ? [req.signal] : [])]);
  const origin = req.credentialsOrigin ?? new URL(req.url).origin;
  let url = new URL(req.url);
  let method = req.method ?? 'GET';
  let body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body);
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ConvergeError('FetchFailed', `${req.what}: ${redact(url.href)} is not an http(s) URL`);
    const trusted = url.origin === origin || req.passCredentials === true;
    const headers: Record<string, string> = { 'user-agent': 'converge', ...req.headers };
    const creds = trusted ? req.credentials : undefined;
    if (creds?.basic)
      headers.authorization = `Basic ${Buffer.from(`${creds.basic.username}:${creds.basic.password}`).toString('base64')}`;
    else if (creds?.bearerToken) headers.authorization = `Bearer ${creds.bearerToken}`;
    if (trusted && req.sign) req.sign(url, method, headers, body);
    if (body.length) headers['content-length'] = String(body.length);
    const response = await exchange(url, method, headers, body, creds, signal, req.what, stats);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if ([301, 302, 303, 307, 308].includes(status) && location) {
      response.resume();
      if (hop >= (req.maxRedirects ?? 5))
        throw new ConvergeError('FetchFailed', `${req.what}: more than ${req.maxRedirects ?? 5} redirects`);
      url = new URL(location, url);
      if (status === 303) {
        method = 'GET';
        body = Buffer.alloc(0);
      }
      continue;
    }
    return { status, headers: response.headers, url: url.href, body: response };
  }
}

function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer,
  creds: HttpCredentials | undefined,
  signal: AbortSignal,
  what: string,
  stats: HttpStats | undefined,
): Promise<IncomingMessage> {
  if (stats) stats.requests++;
  return new Promise((resolve, reject) => {
    const tls =
      url.protocol === 'https:'
        ? {
            ...(creds?.ca ? { ca: creds.ca } : {}),
            ...(creds?.cert ? { cert: creds.cert, key: creds.key } : {}),
          }
        : {};
    const options = { method, headers, signal, ...tls };
    const client = url.protocol === 'https:' ? httpsRequest(url, options) : httpRequest(url, options);
    client.on('response', resolve);
    client.on('error', (err: NodeJS.ErrnoException) => {
      const why = signal.aborted ? 'timed out' : (err.code ?? err.message);
      reject(new ConvergeError('FetchFailed', `${what}: ${method} ${redact(url.href)} failed: ${why}`));
    });
    client.end(body);
  });
}

/**
 * Throws the ConvergeError a failed status means: 401/403 AuthenticationFailed (the Secret is
 * wrong or missing), 404 `notFound` (FetchFailed by default), others FetchFailed.
 */
export async function expectOk(
  res: HttpResponse,
  what: string,
  notFound?: () => ConvergeError,
): Promise<void> {
  if (res.status >= 200 && res.status < 300) return;
  const detail = (await readHead(res.body, 4096)).toString('utf8');
  const code = detail.match(/<Code>([^<]+)<\/Code>/)?.[1];
  const said = code ? ` (${code})` : '';
  if (res.status === 401 || res.status === 403)
    throw new ConvergeError(
      'AuthenticationFailed',
      `${what}: ${redact(res.url)} answered ${res.status}${said}: check the credentials in the Secret`,
    );
  if (res.status === 404)
    throw (
      notFound?.() ?? new ConvergeError('FetchFailed', `${what}: ${redact(res.url)} not found (404)${said}`)
    );
  throw new ConvergeError('FetchFailed', `${what}: ${redact(res.url)} answered ${res.status}${said}`);
}

/** Reads a body into memory, refusing more than `maxBytes` (FetchFailed naming the bound). */
export async function readBody(body: Readable, maxBytes: number, what = 'response'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      body.destroy();
      throw new ConvergeError('FetchFailed', `${what} is larger than ${Math.round(maxBytes / 1024)} KiB`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** The first `maxBytes` of a body (an error document), the rest discarded. */
async function readHead(body: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= maxBytes) break;
    }
  } catch {
    // An error page cut short says what it could.
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

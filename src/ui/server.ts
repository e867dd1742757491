// The status page's HTTP server: read-only routes over the controller's cache, a server-sent
// events stream of row updates, security headers, and the optional token.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Logger } from 'pino';
import type { GitSource } from '../api/index.ts';
import { listen } from '../server/index.ts';
import { ASSET_VERSION, FAVICON_SVG, UI_CSS, UI_JS } from './assets.ts';
import { isLoopbackHost, presentedToken, TokenFile } from './auth.ts';
import { countStates, detailOf, namespacesOf, overviewRows, parseFilters, rowOf } from './model.ts';
import type { RecentEvents } from './recent-events.ts';
import { renderNotFound, renderOverview, renderRow, renderSource, renderUnauthorized } from './render.ts';

const gzip = promisify(gzipCb);

/** What the page reads: the controller's GitSource cache and its change feed, nothing else. */
export interface StatusPageSource {
  /** Every cached GitSource; treated as read-only. */
  gitSources(): Iterable<GitSource>;
  gitSource(key: string): GitSource | undefined;
  /** `listener(namespace/name)` after each change of the cache; returns an unsubscribe. */
  onChange(listener: (key: string) => void): () => void;
}

export interface StatusPageOptions {
  /** `host:port`; `127.0.0.1:9090` keeps it to the pod (kubectl port-forward). */
  addr: string;
  /** File holding the bearer token (a mounted Secret); none means loopback-only access. */
  tokenFile?: string | undefined;
  source: StatusPageSource;
  events: RecentEvents;
  logger: Logger;
  now?: () => Date;
  /** Changes within this window go out as one batch (default 150 ms; updates arrive well within a second). */
  flushMs?: number;
  /** Open live streams at most (default 100); more get 503. */
  maxStreams?: number;
  /** Batches remembered for streams that open late or reconnect (default 500); older ones get a reload. */
  replayBatches?: number;
  /** Heartbeat comment on idle streams, so proxies keep them open (default 20 s). */
  heartbeatMs?: number;
}

export interface StatusPage {
  port: number;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const ASSETS: Record<string, { type: string; body: string }> = {
  '/assets/ui.css': { type: 'text/css; charset=utf-8', body: UI_CSS },
  '/assets/ui.js': { type: 'text/javascript; charset=utf-8', body: UI_JS },
  '/assets/favicon.svg': { type: 'image/svg+xml', body: FAVICON_SVG },
};

/** A stream whose client stopped reading is dropped once this much is buffered for it. */
const MAX_BUFFERED = 4 << 20;

export async function startStatusPage(opts: StatusPageOptions): Promise<StatusPage> {
  const now = opts.now ?? (() => new Date());
  const flushMs = opts.flushMs ?? 150;
  const maxStreams = opts.maxStreams ?? 100;
  const token = opts.tokenFile ? new TokenFile(opts.tokenFile) : undefined;
  const streams = new Set<ServerResponse>();
  const pending = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  // Every batch gets a sequence number; its SSE event id is `<epoch>.<seq>`. Pages carry the id
  // they were rendered at, so a stream that opens late, or reconnects, replays the keys changed
  // since. The epoch is this process's: numbers of another one (a restarted operator on the same
  // address, a rollout, another replica) say nothing here, so such a page gets a reload, and shows
  // what a reload shows (GitSources deleted or created meanwhile included).
  const epoch = randomBytes(6).toString('hex');
  let seq = 0;
  const batches: Array<{ seq: number; keys: string[] }> = [];
  const position = () => `${epoch}.${seq}`;

  const ctx = () => ({ now: now(), assetVersion: ASSET_VERSION, since: position() });

  async function send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    type: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<void> {
    let payload: Buffer = Buffer.from(body);
    const extra: Record<string, string> = { ...headers };
    if (payload.length > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      payload = await gzip(payload, { level: 6 });
      extra['Content-Encoding'] = 'gzip';
    }
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Content-Length': String(payload.length),
      'Cache-Control': 'no-store',
      Vary: 'Accept-Encoding, Authorization, Cookie',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : payload);
  }

  function authorized(req: IncomingMessage): 'ok' | 'token' | 'host' {
    if (token) return token.accepts(presentedToken(req.headers)) ? 'ok' : 'token';
    return isLoopbackHost(req.headers.host) ? 'ok' : 'host';
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    if (streams.size >= maxStreams) {
      void send(req, res, 503, 'text/plain; charset=utf-8', 'too many live streams open\n', {
        'Retry-After': '10',
      });
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write('retry: 2000\n\n');
    const asked = String(
      req.headers['last-event-id'] ?? new URL(req.url ?? '/', 'http://x').searchParams.get('since') ?? '',
    );
    if (asked) {
      const [askedEpoch, number] = asked.split('.');
      const since = Number(number);
      const oldest = batches[0]?.seq ?? seq + 1;
      if (askedEpoch !== epoch || !Number.isInteger(since) || (since < seq && since + 1 < oldest))
        res.write(`id: ${position()}\nevent: reload\ndata: {}\n\n`);
      else if (since < seq)
        res.write(events(new Set(batches.filter((b) => b.seq > since).flatMap((b) => b.keys)), now()));
    }
    streams.add(res);
    req.socket.setNoDelay(true);
    res.on('close', () => streams.delete(res));
  }

  function broadcast(chunk: string): void {
    for (const res of streams) {
      if (res.writableLength > MAX_BUFFERED) {
        streams.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  /** The SSE text for `keys`: a row (or remove) each, then the counts and the time `at`, carrying the stream position. */
  function events(keys: Iterable<string>, at: Date): string {
    let out = '';
    for (const key of keys) {
      const gs = opts.source.gitSource(key);
      if (!gs) {
        out += `event: remove\ndata: ${JSON.stringify({ key })}\n\n`;
        continue;
      }
      const row = rowOf(gs);
      // JSON keeps the data on one line, as an SSE data field must be.
      out += `event: row\ndata: ${JSON.stringify({
        key,
        namespace: row.namespace,
        state: row.state,
        reason: row.ready.reason,
        sort: row.sort,
        html: renderRow(row, at).value,
      })}\n\n`;
    }
    // `at` is when these rows were rendered: the page's "Rendered" time follows the live updates.
    const counts = { ...countStates(opts.source.gitSources()), at: at.toISOString() };
    return `${out}id: ${position()}\nevent: counts\ndata: ${JSON.stringify(counts)}\n\n`;
  }

  function flush(): void {
    flushTimer = undefined;
    const keys = [...pending];
    pending.clear();
    seq++;
    batches.push({ seq, keys });
    if (batches.length > (opts.replayBatches ?? 500)) batches.shift();
    if (streams.size > 0) broadcast(events(keys, now()));
  }

  const changed = (key: string) => {
    if (!opts.source.gitSource(key)) opts.events.forget(key);
    pending.add(key);
    flushTimer ??= setTimeout(flush, flushMs).unref();
  };
  const unsubscribe = [opts.source.onChange(changed), opts.events.onAdd(changed)];
  const heartbeat = setInterval(() => broadcast(': ping\n\n'), opts.heartbeatMs ?? 20_000).unref();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      await send(req, res, 405, 'text/plain; charset=utf-8', 'read-only: GET and HEAD only\n', {
        Allow: 'GET, HEAD',
      });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://status.invalid');
    const asset = ASSETS[url.pathname];
    if (asset) {
      // Static and free of cluster data, so served before the auth check (the sign-in page needs them).
      await send(req, res, 200, asset.type, asset.body, {
        'Cache-Control': url.searchParams.get('v') === ASSET_VERSION ? 'public, max-age=86400' : 'no-cache',
      });
      return;
    }
    const access = authorized(req);
    if (access === 'host') {
      await send(
        req,
        res,
        403,
        'text/plain; charset=utf-8',
        'This status page answers only requests to localhost (kubectl port-forward) unless --ui-token-file is set.\n',
      );
      return;
    }
    if (access === 'token') {
      const headers = { 'WWW-Authenticate': 'Bearer realm="converge"' };
      if (url.pathname === '/events') {
        await send(req, res, 401, 'text/plain; charset=utf-8', 'token required\n', headers);
      } else {
        await send(req, res, 401, 'text/html; charset=utf-8', renderUnauthorized(ctx()), headers);
      }
      return;
    }
    if (url.pathname === '/') {
      const filters = parseFilters(url.searchParams);
      const sources = [...opts.source.gitSources()];
      const page = renderOverview(
        {
          rows: overviewRows(sources, filters),
          filters,
          namespaces: namespacesOf(sources),
          counts: countStates(sources),
        },
        ctx(),
      );
      await send(req, res, 200, 'text/html; charset=utf-8', page);
      return;
    }
    if (url.pathname === '/events') {
      openStream(req, res);
      return;
    }
    const m = /^\/gitsources\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (m) {
      let key: string | undefined;
      try {
        key = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      } catch {
        key = undefined;
      }
      const gs = key ? opts.source.gitSource(key) : undefined;
      if (gs && key) {
        await send(
          req,
          res,
          200,
          'text/html; charset=utf-8',
          renderSource(detailOf(gs, opts.events.list(key)), ctx()),
        );
        return;
      }
      await send(
        req,
        res,
        404,
        'text/html; charset=utf-8',
        renderNotFound(`No GitSource ${key ?? url.pathname} in the operator's cache.`, ctx()),
      );
      return;
    }
    await send(
      req,
      res,
      404,
      'text/html; charset=utf-8',
      renderNotFound(`Nothing at ${url.pathname}.`, ctx()),
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.logger.error({ err: String(err), path: req.url }, 'status page request failed');
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS);
      res.end();
    });
  });

  const port = await listen(server, opts.addr);
  return {
    port,
    close: async () => {
      for (const u of unsubscribe) u();
      clearInterval(heartbeat);
      if (flushTimer) clearTimeout(flushTimer);
      for (const res of streams) res.destroy();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

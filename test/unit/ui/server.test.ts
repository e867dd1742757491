// The status page server over an in-memory cache: read-only methods, security headers, the token
// and Host checks, gzip, the GitSource page, and live rows over server-sent events.
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitSource } from '../../../src/api/index.ts';
import { RecentEvents, startStatusPage, type StatusPage } from '../../../src/ui/index.ts';
import { failingSource, readySource } from './fixtures.ts';

/** The controller's side of the contract: a Map and a change feed. */
function memorySource(initial: GitSource[]) {
  const cache = new Map(initial.map((gs) => [`${gs.metadata.namespace}/${gs.metadata.name}`, gs]));
  const listeners = new Set<(key: string) => void>();
  return {
    cache,
    set(gs: GitSource) {
      const key = `${gs.metadata.namespace}/${gs.metadata.name}`;
      cache.set(key, gs);
      for (const l of listeners) l(key);
    },
    view: {
      gitSources: () => cache.values(),
      gitSource: (key: string) => cache.get(key),
      onChange: (l: (key: string) => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Reads /events until `marker` arrives; returns the text so far. */
function streamUntil(
  port: number,
  path: string,
  marker: string,
  headers: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes(marker)) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out');
}

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'ui-server-'));
const mem = memorySource([
  readySource('apps', 'web'),
  failingSource('apps', 'broken', 'could not resolve host'),
]);
let open: StatusPage;
let withToken: StatusPage;
const TOKEN = 'a-long-enough-test-token';

beforeAll(async () => {
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  open = await startStatusPage({ addr: '127.0.0.1:0', source: mem.view, events: new RecentEvents(), logger });
  withToken = await startStatusPage({
    addr: '127.0.0.1:0',
    tokenFile: join(dir, 'token'),
    source: mem.view,
    events: new RecentEvents(),
    logger,
  });
});

afterAll(async () => {
  await open?.close();
  await withToken?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('status page server', () => {
  it('serves the overview with security headers and no caching', async () => {
    const r = await get(open.port, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(r.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body.toString()).toContain('data-key="apps/broken"');
  });

  it('is read-only: every other method is 405', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const r = await get(open.port, '/', { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
  });

  it('answers HEAD without a body', async () => {
    const r = await get(open.port, '/', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
  });

  it('without a token, answers only requests addressed to localhost', async () => {
    expect((await get(open.port, '/', { headers: { host: 'localhost:9090' } })).status).toBe(200);
    const r = await get(open.port, '/', { headers: { host: 'rebound.evil.example:9090' } });
    expect(r.status).toBe(403);
    expect(r.body.toString()).not.toContain('apps/web');
  });

  it('with a token, wants it as a bearer header or cookie', async () => {
    const none = await get(withToken.port, '/');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="converge"');
    expect(none.body.toString()).not.toContain('apps/web');
    expect((await get(withToken.port, '/events')).status).toBe(401);
    expect((await get(withToken.port, '/', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await get(withToken.port, '/?token=' + TOKEN)).status, 'never from the URL').toBe(401);
    const bearer = await get(withToken.port, '/', {
      headers: { authorization: `Bearer ${TOKEN}`, host: 'status.example.com' },
    });
    expect(bearer.status).toBe(200);
    const cookie = await get(withToken.port, '/gitsources/apps/web', {
      headers: { cookie: `converge-ui-token=${encodeURIComponent(TOKEN)}` },
    });
    expect(cookie.status).toBe(200);
    // Assets carry no data and the sign-in page needs them.
    expect((await get(withToken.port, '/assets/ui.js')).status).toBe(200);
  });

  it('serves the GitSource page, and 404 for unknown ones', async () => {
    const r = await get(open.port, '/gitsources/apps/broken');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('could not resolve host');
    const missing = await get(open.port, '/gitsources/apps/%3Cnope%3E');
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toContain('No GitSource apps/&lt;nope&gt;');
    expect((await get(open.port, '/gitsources/%E0%A4%A/x')).status).toBe(404);
  });

  it('compresses pages for clients that accept gzip', async () => {
    const r = await get(open.port, '/', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(r.body).toString()).toContain('data-key="apps/web"');
  });

  it('streams a changed row over /events', async () => {
    const received = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: open.port, path: '/events' }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.includes('event: counts')) {
            req.destroy();
            resolve(text);
          }
        });
        // Change the cache once the stream is open.
        setTimeout(() => mem.set(failingSource('apps', 'web', 'now <broken>')), 50);
      });
      req.on('error', reject);
      req.end();
    });
    const row = /event: row\ndata: (.*)\n/.exec(received);
    expect(row).not.toBeNull();
    const data = JSON.parse(row![1]!) as { key: string; state: string; html: string };
    expect(data).toMatchObject({ key: 'apps/web', state: 'failing' });
    expect(data.html).toContain('now &lt;broken&gt;');
    expect(received).toMatch(/event: counts\ndata: \{"total":2,"failing":2/);
  });

  it('asks a page of another operator process (a restart on the same address) to reload', async () => {
    const [before, after] = await Promise.all(
      [0, 1].map(() =>
        startStatusPage({ addr: '127.0.0.1:0', source: mem.view, events: new RecentEvents(), logger }),
      ),
    );
    try {
      const since = /data-since="([^"]+)"/.exec((await get(before!.port, '/')).body.toString())![1]!;
      expect(await streamUntil(before!.port, `/events?since=${since}`, 'retry')).not.toContain('reload');
      // Same numbers, another process: nothing it could replay means anything here.
      const reconnect = await streamUntil(after!.port, '/events', 'event: reload', {
        'last-event-id': since,
      });
      expect(reconnect).toMatch(/id: [0-9a-f]+\.\d+\nevent: reload/);
      expect(await streamUntil(after!.port, `/events?since=${since}`, 'event: reload')).toContain('reload');
      expect(await streamUntil(after!.port, '/events?since=7', 'event: reload')).toContain('reload');
    } finally {
      await Promise.all([before!.close(), after!.close()]);
    }
  });

  it('replays changes made after the page was rendered to a stream that opens later, or asks for a reload', async () => {
    const replay = await startStatusPage({
      addr: '127.0.0.1:0',
      source: mem.view,
      events: new RecentEvents(),
      logger,
      flushMs: 1,
      replayBatches: 2,
    });
    try {
      const sinceOf = async () =>
        /data-since="([0-9a-f]+\.\d+)"/.exec((await get(replay.port, '/')).body.toString())![1]!;
      const seqOf = async () => Number((await sinceOf()).split('.')[1]);
      const rendered = await sinceOf();
      mem.set(failingSource('apps', 'late', 'changed before the stream opened'));
      await eventually(async () => (await seqOf()) > Number(rendered.split('.')[1]));
      const first = await streamUntil(replay.port, `/events?since=${rendered}`, 'event: counts');
      expect(first).toContain('"key":"apps/late"');
      expect(first).toMatch(/id: [0-9a-f]+\.\d+\nevent: counts/);
      // The browser's Last-Event-ID wins over ?since on reconnect: nothing newer, nothing replayed.
      const id = /id: ([0-9a-f]+\.\d+)/.exec(first)![1]!;
      const again = await streamUntil(replay.port, `/events?since=${rendered}`, 'retry', {
        'last-event-id': id,
      });
      expect(again).not.toContain('event: row');
      expect(again).not.toContain('event: reload');
      for (let i = 0; i < 3; i++) {
        const before = await seqOf();
        mem.set(readySource('apps', `more-${i}`));
        await eventually(async () => (await seqOf()) > before);
      }
      expect(await streamUntil(replay.port, `/events?since=${rendered}`, 'event: reload')).toContain(
        'event: reload',
      );
    } finally {
      await replay.close();
    }
  });
});

// The Notifier transport against real loopback servers: the operator's address policy decides what is
// dialled (literal addresses, names, DNS answers that change between lookups), and of an answer only
// the status code and a short sanitised reason phrase reach a message.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_NOTIFY_DENY_CIDRS,
  createAddressPolicy,
  createTransport,
  sendRequest,
  type HttpRequest,
  type Resolver,
} from '../../../src/notify/index.ts';

const defaults = createAddressPolicy({ deny: DEFAULT_NOTIFY_DENY_CIDRS });
const noSleep = { sleep: async () => {}, now: () => Date.now(), attempts: 5 };

/** An HTTP server on one loopback address that counts what reaches it. */
async function receiver(host: string): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createHttpServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

const post = (url: string): HttpRequest => ({
  method: 'POST',
  url,
  headers: { 'Content-Type': 'application/json' },
  body: '{}',
});

let one: Awaited<ReturnType<typeof receiver>>;
let two: Awaited<ReturnType<typeof receiver>>;
beforeAll(async () => {
  one = await receiver('127.0.0.1');
  two = await receiver('127.0.0.2');
});
afterAll(() => {
  one.server.close();
  two.server.close();
});

describe('the default policy', () => {
  it.each([
    ['loopback', () => `http://127.0.0.1:${one.port}/hook`, '127.0.0.0/8'],
    ['IPv4-mapped loopback', () => `http://[::ffff:127.0.0.1]:${one.port}/hook`, '127.0.0.0/8'],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/', '169.254.0.0/16'],
    ['a name that resolves to loopback', () => `http://localhost:${one.port}/hook`, '127.0.0.0/8|::1/128'],
  ])('refuses %s at once, as a configuration error, without connecting', async (_what, url, range) => {
    const r = await sendRequest(post(url()), { transport: createTransport(defaults), ...noSleep });
    expect(r).toMatchObject({ ok: false, attempts: 1, retryable: false, configuration: true });
    if (!r.ok) {
      expect(r.message).toMatch(
        new RegExp(`is in (${range}), which the operator does not let Notifiers reach`),
      );
      expect(r.message).toContain('--notify-allow-cidrs');
    }
    expect(one.hits).toEqual([]);
  });

  it('an allow range lets an administrator reach a loopback receiver on purpose', async () => {
    const allowed = createAddressPolicy({ deny: DEFAULT_NOTIFY_DENY_CIDRS, allow: ['127.0.0.1/32'] });
    const r = await sendRequest(post(`http://127.0.0.1:${one.port}/ok`), {
      transport: createTransport(allowed),
      ...noSleep,
    });
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(one.hits).toEqual(['POST /ok']);
    one.hits.length = 0;
  });
});

describe('DNS rebinding', () => {
  it('the address checked is the address dialled: a name that moves to a denied address is refused', async () => {
    // A DNS server that answers an allowed address first and loopback after (TTL 0 rebinding).
    const answers = ['127.0.0.2', '127.0.0.1'];
    const lookups: string[] = [];
    const rebinding: Resolver = (hostname, _family, cb) => {
      const address = answers.shift() ?? '127.0.0.1';
      lookups.push(`${hostname} ${address}`);
      cb(null, [{ address, family: 4 }]);
    };
    const policy = createAddressPolicy({ deny: DEFAULT_NOTIFY_DENY_CIDRS, allow: ['127.0.0.2/32'] });
    const transport = createTransport(policy, rebinding);
    const first = await sendRequest(post(`http://hooks.example.test:${two.port}/a`), {
      transport,
      ...noSleep,
    });
    expect(first).toMatchObject({ ok: true });
    // Same port on 127.0.0.1 would be `one` only if the ports matched: point the name at one's port.
    const second = await sendRequest(post(`http://hooks.example.test:${one.port}/b`), {
      transport,
      ...noSleep,
    });
    expect(second).toMatchObject({ ok: false, attempts: 1, configuration: true });
    if (!second.ok) expect(second.message).toContain('hooks.example.test resolves to 127.0.0.1');
    expect(lookups).toEqual(['hooks.example.test 127.0.0.2', 'hooks.example.test 127.0.0.1']);
    expect(two.hits).toEqual(['POST /a']);
    expect(one.hits).toEqual([]);
  });

  it('of several addresses only allowed ones are dialled', async () => {
    const mixed: Resolver = (_h, _f, cb) =>
      cb(null, [
        { address: '127.0.0.1', family: 4 },
        { address: '127.0.0.2', family: 4 },
      ]);
    const policy = createAddressPolicy({ deny: DEFAULT_NOTIFY_DENY_CIDRS, allow: ['127.0.0.2/32'] });
    two.hits.length = 0;
    // Port of `two`: had 127.0.0.1 been dialled, nothing listens there on that port (or `one` would count it).
    const r = await sendRequest(post(`http://mixed.example.test:${two.port}/m`), {
      transport: createTransport(policy, mixed),
      ...noSleep,
    });
    expect(r).toMatchObject({ ok: true });
    expect(two.hits).toEqual(['POST /m']);
  });
});

describe('what an answer may put into a message', () => {
  it('the status code and a short reason phrase, sanitised (bidi and escape sequences gone whole)', async () => {
    // A raw server: Node's own would refuse these bytes in a status line.
    const raw = createServer((s) =>
      s.once('data', () =>
        s.end(
          Buffer.concat([
            Buffer.from('HTTP/1.1 500 '),
            Buffer.from('\u202eOops\u202c \x1b[31mred\x1b[0m \x07bell', 'utf8'),
            Buffer.from('\r\nContent-Length: 27\r\nConnection: close\r\n\r\nsecret internal answer here'),
          ]),
        ),
      ),
    );
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    try {
      const port = (raw.address() as AddressInfo).port;
      const allowed = createAddressPolicy({ deny: [], allow: [] });
      const r = await sendRequest(post(`http://127.0.0.1:${port}/x`), {
        transport: createTransport(allowed),
        ...noSleep,
        attempts: 1,
      });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.message).toBe(
          `POST 127.0.0.1:${port} answered HTTP 500 Oops red bell (gave up after 1 attempts)`,
        );
        expect(r.message).not.toContain('internal');
        expect(r.answer).toBe('secret internal answer here');
      }
    } finally {
      raw.close();
    }
  });
});

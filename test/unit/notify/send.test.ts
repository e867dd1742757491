// The sender: which answers are retried, how long it waits (Retry-After, backoff), what it reports.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ALLOW_ALL,
  createTransport,
  retryAfterMs,
  sanitize,
  sendRequest,
  type HttpRequest,
} from '../../../src/notify/index.ts';
import { startFakeServices, type FakeServices } from '../../support/fake-services.ts';
import { freePort } from '../../support/git-server.ts';

const TOKEN = 'tok-send-1234';
// The fakes listen on loopback, which the operator's default policy denies: these tests allow everything.
const transport = createTransport(ALLOW_ALL);
let fake: FakeServices;
beforeAll(async () => {
  fake = await startFakeServices({ token: TOKEN, username: 'u', password: 'p' });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.script.length = 0;
});

const SHA = 'a'.repeat(40);
const req = (): HttpRequest => ({
  method: 'POST',
  url: `${fake.url}/api/v1/repos/org/fleet/statuses/${SHA}`,
  headers: { Authorization: `token ${TOKEN}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ state: 'success', context: 'converge/apps/web' }),
});

/** An injected clock: sleeps return at once and are recorded. */
function clock(start = Date.parse('2026-11-26T20:00:00Z')) {
  const slept: number[] = [];
  return {
    slept,
    now: () => start,
    sleep: async (ms: number) => {
      slept.push(ms);
    },
  };
}

describe('sendRequest', () => {
  it('429 with Retry-After in seconds waits that long, then succeeds', async () => {
    const c = clock();
    fake.script.push({ status: 429, headers: { 'retry-after': '7' }, body: '{"message":"slow down"}' });
    const r = await sendRequest(req(), { transport, ...c, attempts: 3 });
    expect(r).toMatchObject({ ok: true, status: 201, attempts: 2 });
    expect(c.slept).toEqual([7000]);
  });

  it('429 with Retry-After as an HTTP date waits until then', async () => {
    const c = clock();
    const at = new Date(c.now() + 42_000).toUTCString();
    fake.script.push({ status: 429, headers: { 'retry-after': at } });
    const r = await sendRequest(req(), { transport, ...c, attempts: 3 });
    expect(r.ok).toBe(true);
    expect(c.slept).toEqual([42_000]);
  });

  it('500s back off exponentially and give up after the bound, saying what the service answered', async () => {
    const c = clock();
    for (let i = 0; i < 4; i++) fake.script.push({ status: 500, body: 'upstream exploded\n\u0007' });
    const r = await sendRequest(req(), { transport, ...c, attempts: 4, baseDelayMs: 100, maxDelayMs: 300 });
    expect(r).toMatchObject({ ok: false, status: 500, retryable: true, attempts: 4 });
    expect(c.slept).toEqual([100, 200, 300]);
    if (!r.ok) {
      // The status line only; the body is for the operator's log.
      expect(r.message).toMatch(/answered HTTP 500 Internal Server Error \(gave up after 4 attempts\)$/);
      expect(r.message).not.toContain('/api/v1');
      expect(r.answer).toBe('upstream exploded');
    }
  });

  it('401 and 404 are not retried', async () => {
    const c = clock();
    const bad = {
      ...req(),
      headers: { Authorization: 'token wrong-one', 'Content-Type': 'application/json' },
    };
    expect(await sendRequest(bad, { transport, ...c })).toMatchObject({
      ok: false,
      status: 401,
      attempts: 1,
    });
    const missing = { ...req(), url: `${fake.url}/api/v1/repos/org/missing/statuses/${SHA}` };
    const r = await sendRequest(missing, { transport, ...c });
    expect(r).toMatchObject({ ok: false, status: 404, attempts: 1, retryable: false });
    if (!r.ok) {
      expect(r.message).toMatch(/answered HTTP 404 Not Found$/);
      expect(r.answer).toContain("The target couldn't be found");
    }
    expect(c.slept).toEqual([]);
  });

  it('a service that never answers times out per attempt and is retried', async () => {
    const c = clock();
    fake.script.push('hang', 'hang');
    const r = await sendRequest(req(), { transport, ...c, attempts: 2, timeoutMs: 200 });
    expect(r).toMatchObject({ ok: false, status: undefined, attempts: 2, retryable: true });
    if (!r.ok) expect(r.message).toContain('timed out after 200ms');
    expect(c.slept).toHaveLength(1);
  });

  it('a refused connection is a network error, retried', async () => {
    const c = clock();
    const port = await freePort();
    const r = await sendRequest(
      { ...req(), url: `http://127.0.0.1:${port}/x` },
      { transport, ...c, attempts: 2 },
    );
    expect(r).toMatchObject({ ok: false, retryable: true, attempts: 2 });
    if (!r.ok) expect(r.message).toContain('ECONNREFUSED');
  });

  it('an answer echoing the secret is masked and bounded', async () => {
    const c = clock();
    fake.script.push({ status: 400, body: `bad token ${TOKEN} ${'x'.repeat(1000)}` });
    const r = await sendRequest(req(), { transport, ...c, redact: [TOKEN] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).not.toContain(TOKEN);
      expect(r.answer).not.toContain(TOKEN);
      expect(r.answer).toContain('bad token ***');
      expect(Buffer.byteLength(r.answer ?? '')).toBeLessThanOrEqual(300);
    }
  });
});

describe('configuration errors are reported at once, never retried', () => {
  it('a redirect is not followed, not retried, and says to set the final address', async () => {
    const c = clock();
    const before = fake.requests.length;
    fake.script.push({ status: 301, headers: { location: 'http://169.254.169.254/' } });
    const r = await sendRequest(req(), { transport, ...c, attempts: 5 });
    expect(r).toMatchObject({ ok: false, status: 301, attempts: 1, retryable: false, configuration: true });
    if (!r.ok)
      expect(r.message).toMatch(/answered HTTP 301 Moved Permanently: a redirect, which is not followed/);
    expect(c.slept).toEqual([]);
    expect(fake.requests.length - before).toBe(1);
  });

  it('an unsupported scheme is refused before any connection', async () => {
    const c = clock();
    for (const url of ['ftp://example.com/hook', 'file:///etc/passwd', 'gopher://example.com/']) {
      const r = await sendRequest({ ...req(), url }, { transport, ...c, attempts: 5 });
      expect(r).toMatchObject({ ok: false, attempts: 1, retryable: false, configuration: true });
      if (!r.ok) expect(r.message).toMatch(/only https:\/\/ and http:\/\/ are supported/);
    }
    expect(c.slept).toEqual([]);
  });
});

describe('helpers', () => {
  it('reads Retry-After as seconds or a date', () => {
    const now = Date.parse('2026-11-26T20:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 26 Nov 2026 20:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Thu, 26 Nov 2026 19:00:30 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('sanitize drops control characters and masks secrets', () => {
    expect(sanitize('a\r\nb\tc  secret-value', ['secret-value'])).toBe('a b c ***');
  });

  it('sanitize is the API sanitiser: escape sequences go as a whole, bidi overrides go', () => {
    expect(sanitize('\u202eevil\u202c \x1b[31mred\x1b[0m \u2066x\u2069 \x9b1mC1')).toBe('evil red x C1');
  });
});

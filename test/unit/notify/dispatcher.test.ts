// The dispatcher with real providers against the loopback fake services, an injected clock and
// timers, and a stand-in for the two API calls it makes (read a Secret, apply Notifier status).
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Notifier, NotifierSpec, NotifierStatus } from '../../../src/api/index.ts';
import { ApiError, type KubeClient } from '../../../src/kube/index.ts';
import { ALLOW_ALL, NotificationDispatcher, createTransport } from '../../../src/notify/index.ts';
import type { EventRecorder, EventSpec } from '../../../src/report/index.ts';
import { createMetrics } from '../../../src/server/index.ts';
import { startFakeServices, type FakeServices } from '../../support/fake-services.ts';
import { captureLog } from '../../support/git-log.ts';
import { gitSource, rev, type Step } from './history.ts';

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const TOKEN = 'tok-dispatch-5150';
/** Text as a hostile service or server would send it: bidi overrides, an SGR sequence, an OSC, a C1 CSI. */
const HOSTILE = 'evil \u202egnp.exe\u202c \u2066x\u2069 \x1b[31mred\x1b[0m \x1b]0;title\x07 \x9b2J done';
// eslint-disable-next-line no-control-regex -- control characters are what is checked
const CLEAN = /^[^\u202a-\u202e\u2066-\u2069\x00-\x09\x0b-\x1f\x7f-\x9f]*$/;

/** Every string in a status, event or log line: none may hold a control, bidi override or `[31m`. */
function expectClean(...texts: string[]): void {
  for (const t of texts) {
    expect(t).toMatch(CLEAN);
    expect(t).not.toMatch(/\[\d*(;\d+)*m|\]0;|\[2J/);
  }
}
let fake: FakeServices;
beforeAll(async () => {
  fake = await startFakeServices({ token: TOKEN, username: 'u', password: 'p' });
});
afterAll(() => fake.close());

interface Harness {
  d: NotificationDispatcher;
  statuses: NotifierStatus[];
  events: EventSpec[];
  log: ReturnType<typeof captureLog>;
  metrics: ReturnType<typeof createMetrics>;
  timers: Array<{ fn: () => void; ms: number }>;
  tick: (ms: number) => void;
  feed: (s: Step) => void;
}

function harness(spec: Partial<NotifierSpec>, opts: { capacity?: number; leading?: boolean } = {}): Harness {
  const statuses: NotifierStatus[] = [];
  const events: EventSpec[] = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  let now = Date.parse('2026-11-26T20:00:00Z');
  const client = {
    request: async (method: string, path: string, o: { body?: { status?: NotifierStatus } } = {}) => {
      if (method === 'GET' && path === '/api/v1/namespaces/apps/secrets/creds')
        return { data: { token: Buffer.from(`${TOKEN}\n`).toString('base64') } };
      // The API server's message quotes what it was given: here, hostile text.
      if (method === 'GET' && path === '/api/v1/namespaces/apps/secrets/hostile')
        throw new ApiError(500, 'InternalError', HOSTILE, [], method, path);
      if (method === 'GET') throw new ApiError(404, 'NotFound', 'not found', [], method, path);
      if (method === 'PATCH' && path.endsWith('/status')) {
        statuses.push(structuredClone(o.body!.status!));
        return {};
      }
      throw new Error(`unexpected ${method} ${path}`);
    },
  } as unknown as KubeClient;
  const recorder = { record: async (_t: unknown, e: readonly EventSpec[]) => void events.push(...e) };
  const log = captureLog();
  const metrics = createMetrics({ defaultMetrics: false });
  const d = new NotificationDispatcher({
    client,
    logger: log.logger,
    metrics,
    events: recorder as unknown as EventRecorder,
    // The fakes are on loopback, which the operator's default policy denies: allow all here.
    transport: createTransport(ALLOW_ALL),
    now: () => new Date(now),
    sleep: async (ms) => {
      now += ms;
    },
    setTimer: (fn, ms) => {
      const t = { fn, ms: now + ms };
      timers.push(t);
      return () => timers.splice(timers.indexOf(t), 1);
    },
    queueCapacity: opts.capacity,
    send: { attempts: 3, baseDelayMs: 1000, timeoutMs: 2000 },
  });
  d.setLeading(opts.leading ?? true);
  d.upsertNotifier({
    apiVersion: 'gitops.converge.dev/v1alpha1',
    kind: 'Notifier',
    metadata: { name: 'nf', namespace: 'apps', uid: 'uid-nf', generation: 1 },
    spec: {
      type: 'webhook',
      secretRef: { name: 'creds' },
      address: `${fake.url}/hook`,
      ...spec,
    } as NotifierSpec,
  } as Notifier);
  return {
    d,
    statuses,
    events,
    log,
    metrics,
    timers,
    tick: (ms) => {
      now += ms;
      for (const t of timers.filter((x) => x.ms <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
    },
    feed: (s) => d.onTransition(s.gs, s.before, s.after, s.events),
  };
}

async function count(h: Harness, type: string, result: string): Promise<number> {
  const m = await h.metrics.notifications.get();
  return m.values.find((v) => v.labels.type === type && v.labels.result === result)?.value ?? 0;
}

beforeEach(() => {
  fake.requests.length = 0;
  fake.script.length = 0;
  fake.alerts.clear();
  fake.statuses.length = 0;
  fake.webhookEvents.length = 0;
});

describe('NotificationDispatcher', () => {
  it('opsgenie: a failure opens one alert per source and reason, the fix closes it; status and metrics say so', async () => {
    const h = harness({ type: 'opsgenie', address: fake.url });
    const gs = gitSource();
    h.feed(gs.step.progressing(rev('a')));
    h.feed(gs.step.applied(rev('a')));
    h.feed(gs.step.failed(rev('b')));
    await h.d.idle();
    expect([...fake.alerts.entries()]).toEqual([
      ['converge/apps/web/RenderFailed', expect.objectContaining({ status: 'open', count: 1 })],
    ]);
    expect(h.statuses.at(-1)?.openIncidents).toEqual([
      { source: 'apps/web', key: 'converge/apps/web/RenderFailed' },
    ]);
    h.feed(gs.step.progressing(rev('c')));
    h.feed(gs.step.applied(rev('c')));
    await h.d.idle();
    expect(fake.alerts.get('converge/apps/web/RenderFailed')?.status).toBe('closed');
    expect(h.statuses.at(-1)).toMatchObject({
      openIncidents: [],
      failedDeliveries: 0,
      lastDelivery: { result: 'Delivered', event: 'Recovered' },
      conditions: [expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Delivered' })],
    });
    expect(fake.requests.map((r) => r.url)).toEqual([
      '/v2/alerts',
      `/v2/alerts/${encodeURIComponent('converge/apps/web/RenderFailed')}/close?identifierType=alias`,
    ]);
    expect(await count(h, 'opsgenie', 'success')).toBe(2);
  });

  it('an open that never got through is still followed by its close, in order', async () => {
    const h = harness({ type: 'opsgenie', address: fake.url });
    const gs = gitSource();
    h.feed(gs.step.progressing(rev('a')));
    h.feed(gs.step.applied(rev('a')));
    fake.script.push({ status: 503 }, { status: 503 }, { status: 503 });
    h.feed(gs.step.failed(rev('b')));
    h.feed(gs.step.progressing(rev('c')));
    h.feed(gs.step.applied(rev('c')));
    await h.d.idle();
    expect(fake.requests.map((r) => `${r.status} ${r.url.split('?')[0]}`)).toEqual([
      '503 /v2/alerts',
      '503 /v2/alerts',
      '503 /v2/alerts',
      `202 /v2/alerts/${encodeURIComponent('converge/apps/web/RenderFailed')}/close`,
    ]);
    expect(await count(h, 'opsgenie', 'failure')).toBe(1);
    expect(h.events).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'DeliveryFailed',
        note: expect.stringContaining('HTTP 503'),
      }),
    ]);
    expect(h.statuses.at(-1)).toMatchObject({ failedDeliveries: 1, openIncidents: [] });
  });

  it('a full queue drops the oldest messages, never a close', async () => {
    const h = harness({ type: 'opsgenie', address: fake.url }, { capacity: 2 });
    // Five sources fail at once, then all recover, faster than anything is delivered.
    const sources = ['a', 'b', 'c', 'd', 'e'].map((x) => gitSource(`s${x}`));
    for (const gs of sources) {
      gs.step.progressing(rev('1'));
      gs.step.applied(rev('1'));
    }
    for (const gs of sources) h.feed(gs.step.failed(rev('2')));
    for (const gs of sources) {
      h.feed(gs.step.progressing(rev('3')));
      h.feed(gs.step.applied(rev('3')));
    }
    await h.d.idle();
    const closes = fake.requests.filter((r) => r.url.includes('/close'));
    expect(closes).toHaveLength(5);
    expect(await count(h, 'opsgenie', 'dropped')).toBeGreaterThan(0);
    expect([...fake.alerts.values()].every((a) => a.status === 'closed')).toBe(true);
  });

  it('gitea commit statuses: pending, then success; a broken commit fails; no duplicate on a repeat', async () => {
    const h = harness({ type: 'gitea', address: fake.url });
    const gs = gitSource();
    h.feed(gs.step.progressing(rev('a')));
    h.feed(gs.step.applied(rev('a')));
    h.feed(gs.step.failed(rev('b')));
    h.feed(gs.step.failed(rev('b'), 'RenderFailed', 'another message, same revision'));
    await h.d.idle();
    expect(fake.statuses.map((s) => `${s.sha.slice(0, 1)} ${s.state}`)).toEqual([
      'a pending',
      'a success',
      'b pending',
      'b failure',
    ]);
    expect(fake.statuses.every((s) => s.context === 'converge/apps/web' && s.repo === 'org/fleet')).toBe(
      true,
    );
  });

  it('a flapping source sends one summary at the end of the window', async () => {
    const h = harness({ type: 'webhook', events: ['Failed', 'Recovered'], flapWindow: '2m' });
    const gs = gitSource();
    h.feed(gs.step.progressing(rev('a')));
    h.feed(gs.step.applied(rev('a')));
    for (let i = 0; i < 4; i++) {
      h.feed(gs.step.failed(undefined, 'FetchFailed', 'connection refused'));
      h.tick(5_000);
      h.feed(gs.step.applied(rev('a')));
      h.tick(5_000);
    }
    await h.d.idle();
    expect(fake.webhookEvents.map((e) => (e.data as { event: string }).event)).toEqual([
      'Failed',
      'Recovered',
    ]);
    expect(h.timers).toHaveLength(1);
    h.tick(120_000);
    await h.d.idle();
    const last = fake.webhookEvents.at(-1)!.data as { event: string; flapping?: { count: number } };
    expect(last).toMatchObject({ event: 'Recovered', flapping: { count: 6 } });
    expect(fake.webhookEvents).toHaveLength(3);
  });

  it('the secret value reaches the service only: not logs, status or events', async () => {
    const h = harness({ type: 'gitea', address: fake.url });
    const gs = gitSource('web', {}, 'https://gitea.example.com/org/missing.git');
    h.feed(gs.step.progressing(rev('a')));
    await h.d.idle();
    expect(h.events[0]?.note).toContain('answered HTTP 404 Not Found');
    // What the service said goes to the operator's debug log, not to status or Events.
    expect(h.events[0]?.note).not.toContain("The target couldn't be found");
    expect(h.log.text()).toContain("The target couldn't be found");
    const everything = JSON.stringify([h.statuses, h.events]) + h.log.text();
    expect(everything).not.toContain(TOKEN);
    expect(fake.requests[0]!.headers.authorization).toBe(`token ${TOKEN}`);
  });

  it('selects by labels, and sends nothing while suspended or not leading', async () => {
    const picky = harness({ type: 'webhook', sources: { matchLabels: { team: 'web' } } });
    const other = gitSource('api', { team: 'api' });
    picky.feed(other.step.progressing(rev('a')));
    const mine = gitSource('web', { team: 'web' });
    picky.feed(mine.step.progressing(rev('a')));
    await picky.d.idle();
    expect(fake.webhookEvents.map((e) => e.subject)).toEqual(['apps/web', 'apps/web']);
    fake.webhookEvents.length = 0;
    const suspended = harness({ type: 'webhook', suspend: true });
    suspended.feed(gitSource().step.progressing(rev('a')));
    const follower = harness({ type: 'webhook' }, { leading: false });
    follower.feed(gitSource().step.progressing(rev('a')));
    await Promise.all([suspended.d.idle(), follower.d.idle()]);
    expect(fake.webhookEvents).toHaveLength(0);
    expect(suspended.statuses.at(-1)?.conditions?.[0]).toMatchObject({
      status: 'False',
      reason: 'Suspended',
    });
  });

  it('a service that never answers holds up only its own Notifier, and never the caller', async () => {
    // Accepts connections and never answers.
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const h = harness({ type: 'webhook' });
      h.d.upsertNotifier({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'Notifier',
        metadata: { name: 'silent', namespace: 'apps', uid: 'uid-silent', generation: 1 },
        spec: { type: 'webhook', address: `http://127.0.0.1:${port}/hook`, suspend: false },
      } as Notifier);
      const gs = gitSource();
      const step = gs.step.progressing(rev('a'));
      // onTransition returns before any delivery starts: nothing is awaited.
      expect(h.d.onTransition(step.gs, step.before, step.after, step.events)).toBeUndefined();
      await eventually(() => fake.webhookEvents.length === 2);
      expect(sockets.length).toBeGreaterThan(0);
      await h.d.stop();
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
  it('a hostile answer reaches Ready, lastDelivery, the Warning Event and the log sanitised', async () => {
    // A raw server: Node's own refuses these bytes in a status line.
    const raw = createServer((sock) =>
      sock.once('data', () =>
        sock.end(
          Buffer.concat([
            Buffer.from('HTTP/1.1 400 ', 'latin1'),
            // eslint-disable-next-line no-control-regex -- control characters are what is checked
            Buffer.from(HOSTILE.replace(/\x07|\x1b\]0;title/g, ''), 'utf8'),
            Buffer.from(`\r\nConnection: close\r\n\r\n${HOSTILE}`, 'utf8'),
          ]),
        ),
      ),
    );
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    try {
      const h = harness({
        type: 'webhook',
        address: `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`,
      });
      h.feed(gitSource().step.progressing(rev('a')));
      await h.d.idle();
      const status = h.statuses.at(-1)!;
      const ready = status.conditions!.find((c) => c.type === 'Ready')!;
      expect(ready).toMatchObject({ status: 'False', reason: 'DeliveryFailed' });
      expect(ready.message).toContain('answered HTTP 400 evil gnp.exe x red');
      const logged = h.log.lines.flatMap((l) =>
        Object.values(JSON.parse(l) as Record<string, unknown>).map(String),
      );
      expectClean(ready.message, status.lastDelivery!.message, h.events[0]!.note, ...logged);
      expect(h.log.text()).toContain('what the service answered');
    } finally {
      raw.close();
    }
  });

  it("the API server's own message (reading the Secret) is sanitised on its way to status", async () => {
    const h = harness({ type: 'webhook', secretRef: { name: 'hostile' } });
    h.feed(gitSource().step.progressing(rev('a')));
    await h.d.idle();
    const status = h.statuses.at(-1)!;
    expect(status.lastDelivery?.message).toContain('reading secret apps/hostile failed: evil gnp.exe x red');
    const logged = h.log.lines.flatMap((l) =>
      Object.values(JSON.parse(l) as Record<string, unknown>).map(String),
    );
    expectClean(status.conditions![0]!.message, status.lastDelivery!.message, h.events[0]!.note, ...logged);
  });

  it('a missing key names its Secret, and is a configuration error at once', async () => {
    const h = harness({ type: 'slack', address: undefined });
    h.feed(gitSource().step.progressing(rev('a')));
    await h.d.idle();
    expect(h.statuses.at(-1)?.conditions?.[0]).toMatchObject({
      status: 'False',
      reason: 'InvalidConfiguration',
      message: expect.stringContaining('slack needs the webhook URL: set `address` in Secret apps/creds'),
    });
    expect(h.events[0]).toMatchObject({ type: 'Warning', reason: 'InvalidConfiguration' });
    const unset = harness({ type: 'github', secretRef: undefined });
    unset.feed(gitSource().step.progressing(rev('a')));
    await unset.d.idle();
    expect(unset.statuses.at(-1)?.conditions?.[0]?.message).toContain(
      'github needs `token` in a Secret (spec.secretRef is not set)',
    );
  });

  it('a redirect is a configuration error after one attempt, not a delivery retried', async () => {
    const h = harness({ type: 'webhook', events: ['Changed'] });
    fake.script.push({ status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    h.feed(gitSource().step.progressing(rev('a')));
    await h.d.idle();
    expect(fake.requests).toHaveLength(1);
    expect(h.statuses.at(-1)).toMatchObject({
      failedDeliveries: 1,
      conditions: [
        expect.objectContaining({
          reason: 'InvalidConfiguration',
          message: expect.stringMatching(/answered HTTP 302 Found: a redirect, which is not followed/),
        }),
      ],
    });
    expect(JSON.stringify(h.statuses)).not.toContain('169.254');
  });
});

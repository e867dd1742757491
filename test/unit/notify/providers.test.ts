// Each provider against a loopback server that checks the request the way the service documents it.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotifierType } from '../../../src/api/index.ts';
import {
  ALLOW_ALL,
  PROVIDERS,
  bitbucketKey,
  createTransport,
  parseRepository,
  sendRequest,
  type Notification,
  type SecretValues,
} from '../../../src/notify/index.ts';
import { startFakeServices, type FakeServices } from '../../support/fake-services.ts';

const TOKEN = 'tok-7f3a9c2e51';
const creds = { token: TOKEN, username: 'deployer', password: 'app-pass-9x', hmacKey: 'hmac-key-42' };
const SHA = '4f2c1a0e9b8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b';

let fake: FakeServices;
beforeAll(async () => {
  fake = await startFakeServices(creds);
});
afterAll(() => fake.close());

function note(event: Notification['event'], over: Partial<Notification> = {}): Notification {
  return {
    source: { namespace: 'apps', name: 'web', url: 'https://git.example.com/org/fleet.git' },
    event,
    reason: event === 'Failed' ? 'RenderFailed' : event === 'Changed' ? 'NewRevision' : 'Succeeded',
    revision: `main@sha1:${SHA}`,
    commit: SHA,
    message:
      event === 'Failed' ? 'apps/web.yaml: line 3: bad indentation' : 'Applied revision main@sha1:4f2c1a0',
    changes: ['Deployment/apps/web configured: /spec/replicas 2→3'],
    time: '2026-11-26T20:00:00.000Z',
    ...over,
  };
}

// The fake services listen on loopback, which the operator's default policy denies: allow all here.
const opts = {
  transport: createTransport(ALLOW_ALL),
  sleep: async () => {},
  now: () => Date.now(),
  attempts: 1,
};

async function deliver(
  type: NotifierType,
  n: Notification,
  secret: SecretValues,
  address: string | undefined,
  incidentKey?: string,
) {
  const built = PROVIDERS[type].build({
    notification: n,
    secret,
    address,
    repository: parseRepository(n.source.url),
    incidentKey,
  });
  if (built.kind !== 'request') throw new Error(`${type}: ${JSON.stringify(built)}`);
  const before = fake.requests.length;
  const result = await sendRequest(built.request, { ...opts, redact: Object.values(secret) });
  return { result, recorded: fake.requests.slice(before), request: built.request };
}

describe('chat and webhook types', () => {
  it('slack posts {text, blocks} as JSON to the webhook URL', async () => {
    const { result, recorded } = await deliver(
      'slack',
      note('Converged'),
      {},
      `${fake.url}/slack/services/T0/B0/xyz`,
    );
    expect(result).toMatchObject({ ok: true, status: 200 });
    const body = recorded[0]!.json as { text: string; blocks: unknown[] };
    expect(body.text).toContain('apps/web converged at main@sha1:4f2c1a0');
    expect(body.blocks).toHaveLength(2);
    expect(JSON.stringify(body.blocks)).toContain('/spec/replicas 2→3');
  });

  it('msteams posts one Adaptive Card in a message envelope', async () => {
    const { result, recorded } = await deliver(
      'msteams',
      note('Failed'),
      {},
      `${fake.url}/teams/workflows/abc`,
    );
    expect(result).toMatchObject({ ok: true, status: 202 });
    expect(JSON.stringify(recorded[0]!.json)).toContain('bad indentation');
  });

  it('webhook posts a CloudEvents 1.0 envelope signed with HMAC-SHA256 over the exact body', async () => {
    const { result, recorded } = await deliver(
      'webhook',
      note('Changed'),
      { key: creds.hmacKey },
      `${fake.url}/hook`,
    );
    expect(result).toMatchObject({ ok: true, status: 204 });
    expect(recorded[0]!.headers['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const event = fake.webhookEvents.at(-1)!;
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'dev.converge.gitsource.changed',
      subject: 'apps/web',
      datacontenttype: 'application/json',
      data: { revision: `main@sha1:${SHA}`, commit: SHA },
    });
  });

  it('webhook with a wrong key is refused (401) and not retried', async () => {
    const { result, recorded } = await deliver(
      'webhook',
      note('Changed'),
      { key: 'other-key' },
      `${fake.url}/hook`,
    );
    expect(result).toMatchObject({ ok: false, status: 401, retryable: false, attempts: 1 });
    expect(recorded).toHaveLength(1);
    // What the service said is for the operator's log; status gets the status line.
    if (!result.ok) {
      expect(result.message).toMatch(/answered HTTP 401 Unauthorized$/);
      expect(result.answer).toContain('bad signature');
    }
  });

  it('slack and msteams without an address say which Secret key is missing', () => {
    for (const type of ['slack', 'msteams'] as const) {
      const built = PROVIDERS[type].build({
        notification: note('Converged'),
        secret: {},
        address: undefined,
      });
      expect(built).toMatchObject({ kind: 'invalid', message: expect.stringContaining('`address`') });
    }
  });
});

describe('incident types', () => {
  const key = 'converge/apps/web/RenderFailed';

  it('opsgenie opens an alert with GenieKey auth and the alias, then closes it by alias', async () => {
    const open = await deliver('opsgenie', note('Failed'), { token: TOKEN }, fake.url, key);
    expect(open.result).toMatchObject({ ok: true, status: 202 });
    expect(open.recorded[0]).toMatchObject({ method: 'POST', url: '/v2/alerts' });
    expect(fake.alerts.get(key)).toMatchObject({ status: 'open', count: 1 });
    const again = await deliver('opsgenie', note('Failed'), { token: TOKEN }, fake.url, key);
    expect(again.result.ok).toBe(true);
    expect(fake.alerts.get(key)).toMatchObject({ status: 'open', count: 2 });
    const close = await deliver('opsgenie', note('Recovered'), { token: TOKEN }, fake.url, key);
    expect(close.result.ok).toBe(true);
    expect(close.recorded[0]!.url).toBe(`/v2/alerts/${encodeURIComponent(key)}/close?identifierType=alias`);
    expect(fake.alerts.get(key)?.status).toBe('closed');
  });

  it('opsgenie with a wrong key: 401 with what Opsgenie said, not retried, key not echoed', async () => {
    const { result, recorded } = await deliver(
      'opsgenie',
      note('Failed'),
      { token: 'wrong-key-123' },
      fake.url,
      key,
    );
    expect(result).toMatchObject({ ok: false, status: 401, retryable: false });
    expect(recorded).toHaveLength(1);
    if (!result.ok) {
      expect(result.answer).toContain('Could not authenticate');
      expect(result.message + result.answer).not.toContain('wrong-key-123');
    }
  });

  it('pagerduty triggers and resolves with one dedup_key', async () => {
    const trigger = await deliver('pagerduty', note('Failed'), { token: TOKEN }, fake.url, key);
    expect(trigger.result).toMatchObject({ ok: true, status: 202 });
    expect(trigger.recorded[0]!.json).toMatchObject({
      routing_key: TOKEN,
      event_action: 'trigger',
      dedup_key: key,
      payload: { source: 'apps/web', severity: 'error' },
    });
    expect(fake.incidents.get(key)?.status).toBe('triggered');
    const resolve = await deliver('pagerduty', note('Recovered'), { token: TOKEN }, fake.url, key);
    expect(resolve.result.ok).toBe(true);
    expect(fake.incidents.get(key)?.status).toBe('resolved');
  });

  it('pagerduty with a bad routing key: 400 with the service error', async () => {
    const { result } = await deliver('pagerduty', note('Failed'), { token: 'nope-nope' }, fake.url, key);
    expect(result).toMatchObject({ ok: false, status: 400, retryable: false });
    if (!result.ok) expect(result.answer).toContain('Invalid routing key');
  });

  it('the public APIs are the defaults', () => {
    const og = PROVIDERS.opsgenie.build({
      notification: note('Failed'),
      secret: { token: TOKEN },
      incidentKey: key,
    });
    const pd = PROVIDERS.pagerduty.build({
      notification: note('Failed'),
      secret: { token: TOKEN },
      incidentKey: key,
    });
    expect(og.kind === 'request' && og.request.url).toBe('https://api.opsgenie.com/v2/alerts');
    expect(pd.kind === 'request' && pd.request.url).toBe('https://events.pagerduty.com/v2/enqueue');
  });
});

describe('commit status types', () => {
  const cases: Array<{
    type: NotifierType;
    secret: SecretValues;
    url: string;
    states: [string, string, string];
    path: string;
  }> = [
    {
      type: 'github',
      secret: { token: TOKEN },
      url: 'git@github.com:org/fleet.git',
      states: ['pending', 'success', 'failure'],
      path: `/repos/org/fleet/statuses/${SHA}`,
    },
    {
      type: 'gitlab',
      secret: { token: TOKEN },
      url: 'https://gitlab.example.com/group/sub/fleet.git',
      states: ['running', 'success', 'failed'],
      path: `/api/v4/projects/group%2Fsub%2Ffleet/statuses/${SHA}`,
    },
    {
      type: 'bitbucket',
      secret: { username: creds.username, password: creds.password },
      url: 'https://deployer@bitbucket.org/team/fleet.git',
      states: ['INPROGRESS', 'SUCCESSFUL', 'FAILED'],
      path: `/2.0/repositories/team/fleet/commit/${SHA}/statuses/build`,
    },
    {
      type: 'bitbucketserver',
      secret: { token: TOKEN },
      url: 'ssh://git@bitbucket.example.com:7999/proj/fleet.git',
      states: ['INPROGRESS', 'SUCCESSFUL', 'FAILED'],
      path: `/rest/build-status/1.0/commits/${SHA}`,
    },
    {
      type: 'gitea',
      secret: { token: TOKEN },
      url: 'https://gitea.example.com/org/fleet.git',
      states: ['pending', 'success', 'failure'],
      path: `/api/v1/repos/org/fleet/statuses/${SHA}`,
    },
  ];

  it.each(cases)('$type: pending, success, failure on the commit, context per GitSource', async (c) => {
    const events = ['Changed', 'Converged', 'Failed'] as const;
    for (const [i, event] of events.entries()) {
      const n = note(event, { source: { namespace: 'apps', name: 'web', url: c.url } });
      const { result, recorded } = await deliver(c.type, n, c.secret, fake.url);
      expect(result, `${c.type} ${event}`).toMatchObject({ ok: true });
      expect(recorded[0]).toMatchObject({ method: 'POST', url: c.path });
      expect(recorded[0]!.headers['content-type']).toBe('application/json');
      const status = fake.statuses.at(-1)!;
      expect(status).toMatchObject({ sha: SHA, state: c.states[i], context: 'converge/apps/web' });
    }
  });

  it.each(cases)('$type: a wrong token is a 401 that is not retried', async (c) => {
    const bad: SecretValues = c.secret.token
      ? { token: 'bad-token-1' }
      : { username: 'x', password: 'bad-pass-1' };
    const { result } = await deliver(
      c.type,
      note('Converged', { source: { namespace: 'apps', name: 'web', url: c.url } }),
      bad,
      fake.url,
    );
    expect(result).toMatchObject({ ok: false, status: 401, retryable: false, attempts: 1 });
  });

  it('github: an unknown repository is a 404 saying so; the description stays within 140 characters', async () => {
    const n = note('Failed', {
      source: { namespace: 'apps', name: 'web', url: 'https://github.com/org/missing.git' },
      message: 'x'.repeat(500),
    });
    const built = PROVIDERS.github.build({
      notification: n,
      secret: { token: TOKEN },
      repository: parseRepository(n.source.url),
    });
    expect(built.kind === 'request' && built.request.url).toBe(
      `https://api.github.com/repos/org/missing/statuses/${SHA}`,
    );
    expect(built.kind === 'request' && built.request.headers.Accept).toBe('application/vnd.github+json');
    const body =
      built.kind === 'request' ? (JSON.parse(built.request.body) as { description: string }) : undefined;
    expect(body!.description.length).toBeLessThanOrEqual(140);
    const { result } = await deliver('github', n, { token: TOKEN }, fake.url);
    expect(result).toMatchObject({ ok: false, status: 404, retryable: false });
    if (!result.ok) expect(result.message).toContain('Not Found');
  });

  it('gitea defaults to the GitSource host; github enterprise to /api/v3', () => {
    const n = note('Converged', {
      source: { namespace: 'apps', name: 'web', url: 'https://gitea.example.com:3000/org/fleet.git' },
    });
    const g = PROVIDERS.gitea.build({
      notification: n,
      secret: { token: TOKEN },
      repository: parseRepository(n.source.url),
    });
    expect(g.kind === 'request' && g.request.url).toBe(
      `https://gitea.example.com:3000/api/v1/repos/org/fleet/statuses/${SHA}`,
    );
    const ghe = { ...n, source: { ...n.source, url: 'git@ghe.corp.example:org/fleet.git' } };
    const h = PROVIDERS.github.build({
      notification: ghe,
      secret: { token: TOKEN },
      repository: parseRepository(ghe.source.url),
    });
    expect(h.kind === 'request' && h.request.url).toBe(
      `https://ghe.corp.example/api/v3/repos/org/fleet/statuses/${SHA}`,
    );
  });

  it('bitbucket keys stay within 40 characters: a long context becomes a stable hash', () => {
    const long = note('Converged', {
      source: { namespace: 'a-rather-long-namespace', name: 'and-a-long-name', url: 'x' },
    });
    expect(bitbucketKey(note('Converged'))).toBe('converge/apps/web');
    expect(bitbucketKey(long)).toHaveLength(40);
    expect(bitbucketKey(long)).toBe(bitbucketKey({ ...long, event: 'Failed' }));
  });

  it('bitbucketserver sends the readable context as its key (Server keys hold 255 characters), as documented', async () => {
    const long = note('Converged', {
      source: {
        namespace: 'a-rather-long-namespace',
        name: 'and-a-long-name',
        url: 'ssh://git@bitbucket.example.com:7999/proj/fleet.git',
      },
    });
    const { recorded } = await deliver('bitbucketserver', long, { token: TOKEN }, fake.url);
    const body = recorded[0]!.json as { key: string; name: string };
    expect(body.key).toBe('converge/a-rather-long-namespace/and-a-long-name');
    expect(body.name).toBe(body.key);
    const huge = { ...long, source: { ...long.source, name: 'n'.repeat(253) } };
    expect(bitbucketKey(huge, 255)).toMatch(/^[0-9a-f]{40}$/);
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toMatch(
      /bitbucketserver[\s\S]{0,400}the key is the readable `converge\/<namespace>\/<name>`/,
    );
  });

  it('a missing key names the Secret it should be in', () => {
    const built = PROVIDERS.github.build({
      notification: note('Converged'),
      secret: {},
      repository: parseRepository('https://github.com/org/fleet.git'),
      secretName: 'Secret apps/gh-token',
    });
    expect(built).toEqual({ kind: 'invalid', message: 'github needs `token` in Secret apps/gh-token' });
  });

  it('events without a commit state, or without a commit, send nothing', () => {
    for (const type of ['github', 'gitlab', 'bitbucket', 'bitbucketserver', 'gitea'] as const) {
      expect(PROVIDERS[type].build({ notification: note('Diverged'), secret: { token: TOKEN } }).kind).toBe(
        'skip',
      );
      expect(
        PROVIDERS[type].build({
          notification: note('Failed', { commit: undefined }),
          secret: { token: TOKEN },
        }).kind,
      ).toBe('skip');
    }
  });
});

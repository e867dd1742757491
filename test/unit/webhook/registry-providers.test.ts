// Registry push events: distribution's notification envelope and Harbor's PUSH_ARTIFACT, each checked
// by its Authorization header; a manifest push wakes GitSources of that oci:// repository (not a
// pinned digest), blob pushes and pulls wake nothing.
import { describe, expect, it } from 'vitest';
import type { GitSource } from '../../../src/api/index.ts';
import { affectedSources, decideWebhook, providerForPath, ReplayGuard } from '../../../src/webhook/index.ts';

const SECRET = 'registry-notify-secret';
const secrets = [{ secret: Buffer.from(SECRET), scope: '*' as const }];
const D = `sha256:${'c'.repeat(64)}`;

// As distribution 2.8 posts it (docs/notifications.md), trimmed to the fields read plus neighbours.
const envelope = (events: object[]) => JSON.stringify({ events });
const manifestPush = (repository: string, tag?: string) => ({
  id: 'asdf-asdf-asdf-asdf-0',
  timestamp: '2026-12-07T13:00:00Z',
  action: 'push',
  target: {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: 708,
    digest: D,
    length: 708,
    repository,
    url: `http://registry.example.com:5000/v2/${repository}/manifests/${D}`,
    ...(tag ? { tag } : {}),
  },
  request: {
    id: 'r-1',
    addr: '10.0.0.1:5000',
    host: 'registry.example.com:5000',
    method: 'PUT',
    useragent: 'oras',
  },
  actor: {},
  source: { addr: 'reg:5000', instanceID: 'i-1' },
});
const blobPush = (repository: string) => ({
  ...manifestPush(repository),
  target: { mediaType: 'application/octet-stream', digest: D, repository, size: 10 },
});

const gs = (name: string, url: string, ref?: object): GitSource =>
  ({ metadata: { name, namespace: 'apps' }, spec: { url, ...(ref ? { ref } : {}) } }) as unknown as GitSource;

const decide = (path: string, headers: Record<string, string>, body: string) =>
  decideWebhook({ method: 'POST', path, headers, body: Buffer.from(body) }, secrets, new ReplayGuard());

describe('distribution notifications', () => {
  it('accepts the envelope with the configured bearer header, refuses others alike', () => {
    const body = envelope([blobPush('fleet/app'), manifestPush('fleet/app', 'v1.2.0')]);
    const ok = decide(
      '/distribution',
      {
        authorization: `Bearer ${SECRET}`,
        'content-type': 'application/vnd.docker.distribution.events.v1+json',
      },
      body,
    );
    expect(ok.status).toBe(202);
    expect(ok.push).toEqual({
      repoUrls: ['oci://registry.example.com:5000/fleet/app'],
      refs: [{ kind: 'tag', name: 'v1.2.0', commit: D }],
    });
    expect(decide('/distribution', { authorization: 'Bearer wrong' }, body).status).toBe(401);
    expect(decide('/distribution', {}, body).status).toBe(401);
  });

  it('ignores envelopes with only blob pushes or pulls', () => {
    const pull = { ...manifestPush('fleet/app', 'v1'), action: 'pull' };
    const r = decide(
      '/distribution',
      { authorization: `Bearer ${SECRET}` },
      envelope([blobPush('fleet/app'), pull]),
    );
    expect(r.result).toBe('ignored');
  });

  it('wakes GitSources of that oci:// repository, whatever their tag or range, never a pinned digest or another repository', () => {
    const push = providerForPath('/distribution')!.parsePush(
      JSON.parse(envelope([manifestPush('fleet/app', 'v2')])),
    )!;
    const sources = [
      gs('range', 'oci://registry.example.com:5000/fleet/app', { semver: '>=1.0.0' }),
      gs('latest', 'oci://Registry.Example.com:5000/fleet/app'),
      gs('pinned', 'oci://registry.example.com:5000/fleet/app', { digest: D }),
      gs('other', 'oci://registry.example.com:5000/fleet/other'),
      gs('git', 'https://registry.example.com:5000/fleet/app.git'),
    ];
    expect(affectedSources(push, sources).map((s) => s.metadata.name)).toEqual(['range', 'latest']);
  });
});

describe('harbor', () => {
  const body = JSON.stringify({
    type: 'PUSH_ARTIFACT',
    occur_at: 1765112400,
    operator: 'ci',
    event_data: {
      resources: [{ digest: D, tag: 'v3', resource_url: `harbor.example.com/fleet/app:v3` }],
      repository: {
        date_created: 1,
        name: 'app',
        namespace: 'fleet',
        repo_full_name: 'fleet/app',
        repo_type: 'private',
      },
    },
  });
  it('accepts PUSH_ARTIFACT with the auth header (with or without Bearer), ignores other events', () => {
    for (const authorization of [SECRET, `Bearer ${SECRET}`]) {
      const r = decide('/harbor', { authorization }, body);
      expect(r.push).toEqual({
        repoUrls: ['oci://harbor.example.com/fleet/app'],
        refs: [{ kind: 'tag', name: 'v3', commit: D }],
      });
    }
    expect(decide('/harbor', { authorization: 'nope' }, body).status).toBe(401);
    const pull = body.replace('PUSH_ARTIFACT', 'PULL_ARTIFACT');
    expect(decide('/harbor', { authorization: SECRET }, pull).result).toBe('ignored');
  });
});

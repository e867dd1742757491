// Each provider's documented request: signature (correct, wrong, missing), event kinds, delivery id,
// and the push facts its payload yields; then the receiver's answers built on them.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_BODY,
  decideWebhook,
  normaliseRepoUrl,
  repoKeys,
  providers,
  providerForPath,
  ReplayGuard,
  UNAUTHORIZED_BODY,
  type SecretCandidate,
} from '../../../src/webhook/index.ts';
import {
  pingRequest,
  pushRequest,
  repoNames,
  type HookProvider,
  type HookRequest,
} from '../../support/webhooks.ts';

const SECRET = 'It5-a-s3cret';
const secrets: SecretCandidate[] = [{ secret: Buffer.from(SECRET), scope: '*' }];
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const repo = {
  http: 'https://git.example.com/org/fleet.git',
  ssh: 'git@git.example.com:org/fleet.git',
  web: 'https://git.example.com/org/fleet',
  fullName: 'org/fleet',
};
const ALL: HookProvider[] = [
  'github',
  'gitlab',
  'bitbucket',
  'bitbucket-server',
  'gitea',
  'forgejo',
  'generic',
];

const decide = (
  req: HookRequest,
  replay = new ReplayGuard(),
  s: readonly SecretCandidate[] = secrets,
  method = 'POST',
) => decideWebhook({ method, path: req.path, headers: req.headers, body: Buffer.from(req.body) }, s, replay);

describe.each(ALL)('%s', (name) => {
  const provider = providerForPath(`/${name}`)!;
  const push = pushRequest(name, repo, { ref: 'refs/heads/main', before: A, after: B }, SECRET, {
    delivery: 'd-1',
  });
  const body = Buffer.from(push.body);

  it('verifies the signature of the raw body, and refuses a wrong or missing one', () => {
    expect(provider.verify(push.headers, body, Buffer.from(SECRET))).toBe(true);
    expect(provider.verify(push.headers, body, Buffer.from('wrong'))).toBe(false);
    const unsigned = pushRequest(name, repo, { ref: 'refs/heads/main', after: B }, undefined);
    expect(provider.verify(unsigned.headers, Buffer.from(unsigned.body), Buffer.from(SECRET))).toBe(false);
    if (name !== 'gitlab') {
      // The same signature over a changed body fails (GitLab's token does not cover the body).
      const tampered = Buffer.from(push.body.replace('main', 'prod'));
      expect(provider.verify(push.headers, tampered, Buffer.from(SECRET))).toBe(false);
    }
  });

  it('reads the delivery id and classifies the push', () => {
    expect(provider.deliveryId(push.headers)).toBe('d-1');
    expect(provider.eventKind(push.headers)).toBe('push');
  });

  it('turns a branch push into repository URLs and the branch', () => {
    const facts = provider.parsePush(JSON.parse(push.body))!;
    expect(facts.refs).toEqual([
      expect.objectContaining({ kind: 'branch', name: 'main', ...(name === 'generic' ? {} : { commit: B }) }),
    ]);
    // Every provider names the repository in a form that normalises to the clone URLs' key.
    expect(repoKeys(facts.repoUrls)).toContain(normaliseRepoUrl(repo.http));
    expect(normaliseRepoUrl(repo.ssh)).toBe(normaliseRepoUrl(repo.http));
    const decision = decide(push);
    expect(decision).toMatchObject({ status: 202, body: ACCEPTED_BODY, result: 'unmatched' });
  });

  it('turns a tag push into a tag', () => {
    const tag = pushRequest(name, repo, { ref: 'refs/tags/v1.2.0', after: B }, SECRET);
    expect(provider.eventKind(tag.headers)).toBe('push');
    expect(provider.parsePush(JSON.parse(tag.body))!.refs).toEqual([
      expect.objectContaining({ kind: 'tag', name: 'v1.2.0' }),
    ]);
  });

  it('answers 401 with one body for a wrong secret, a missing signature and no secret at all', () => {
    const wrong = pushRequest(name, repo, { ref: 'refs/heads/main', after: B }, 'not-the-secret');
    const missing = pushRequest(name, repo, { ref: 'refs/heads/main', after: B }, undefined);
    for (const [req, s] of [
      [wrong, secrets],
      [missing, secrets],
      [push, []],
    ] as const) {
      expect(decide(req, new ReplayGuard(), s)).toMatchObject({
        status: 401,
        body: UNAUTHORIZED_BODY,
        result: 'unauthorized',
      });
    }
  });

  it('ignores a replayed delivery id, but only after the signature holds', () => {
    const replay = new ReplayGuard();
    const forged = { ...push, headers: { ...push.headers } };
    for (const h of [
      'x-hub-signature-256',
      'x-hub-signature',
      'x-gitea-signature',
      'x-forgejo-signature',
      'x-converge-signature',
      'x-gitlab-token',
    ])
      if (forged.headers[h]) forged.headers[h] = h === 'x-gitlab-token' ? 'nope' : `sha256=${'0'.repeat(64)}`;
    if (name === 'gitea' || name === 'forgejo')
      for (const h of ['x-gitea-signature', 'x-forgejo-signature'])
        if (forged.headers[h]) forged.headers[h] = '0'.repeat(64);
    expect(decide(forged, replay).status).toBe(401);
    expect(decide(push, replay).status).toBe(202);
    expect(decide(push, replay)).toMatchObject({ status: 200, result: 'replayed' });
  });
});

describe('events other than pushes', () => {
  const r = repoNames('https://git.example.com/org/fleet.git');

  it.each(['github', 'bitbucket-server', 'generic'] as const)('%s ping answers 200', (name) => {
    expect(decide(pingRequest(name, r, SECRET))).toMatchObject({ status: 200, result: 'ping' });
  });

  it.each<[HookProvider, Record<string, string>]>([
    ['github', { 'x-github-event': 'issues' }],
    ['github', { 'x-github-event': 'create' }],
    ['gitlab', { 'x-gitlab-event': 'Note Hook' }],
    ['bitbucket', { 'x-event-key': 'pullrequest:created' }],
    ['bitbucket-server', { 'x-event-key': 'pr:opened' }],
    ['gitea', { 'x-gitea-event': 'issues' }],
    ['generic', { 'x-converge-event': 'build' }],
  ])('%s %j answers 202 ignored', (name, headers) => {
    const push = pushRequest(name, r, { ref: 'refs/heads/main', after: B }, SECRET);
    expect(decide({ ...push, headers: { ...push.headers, ...headers } })).toMatchObject({
      status: 202,
      result: 'ignored',
    });
  });

  it('an unsigned ping is still 401', () => {
    const ping = pingRequest('github', r, 'other');
    expect(decide(ping)).toMatchObject({ status: 401, body: UNAUTHORIZED_BODY });
  });

  it('a GitLab system hook that is not a push is ignored', () => {
    const push = pushRequest('gitlab', r, { ref: 'refs/heads/main', after: B }, SECRET);
    const body = JSON.stringify({ ...JSON.parse(push.body), object_kind: 'repository_update' });
    expect(
      decide({ path: '/gitlab', body, headers: { ...push.headers, 'x-gitlab-event': 'System Hook' } }),
    ).toMatchObject({
      status: 202,
      result: 'ignored',
    });
  });
});

describe('request handling', () => {
  const r = repoNames('https://git.example.com/org/fleet.git');
  const push = pushRequest('github', r, { ref: 'refs/heads/main', after: B }, SECRET);

  it('404 for an unknown path, 405 for GET', () => {
    expect(decide({ ...push, path: '/svn' })).toMatchObject({ status: 404, provider: 'unknown' });
    expect(decide({ ...push, path: '/github/a/b' })).toMatchObject({ status: 404 });
    expect(decide({ ...push, path: '/hooks/github' })).toMatchObject({ status: 202 });
    expect(decide({ ...push, path: '/hooks/converge/gitlab/team-a' })).toMatchObject({ status: 401 });
    expect(decide({ ...push, path: '/github/Not_A_Namespace' })).toMatchObject({ status: 404 });
    expect(decide(push, new ReplayGuard(), secrets, 'GET')).toMatchObject({ status: 405 });
    expect(decide({ ...push, path: '/github?x=1' })).toMatchObject({ status: 202 });
    expect(decide({ ...push, path: '/github/team-a' })).toMatchObject({ status: 202 });
  });

  it('400 for a signed body that is not the documented shape', () => {
    const sign = (body: string) => ({
      path: '/generic',
      body,
      headers: { 'x-converge-signature': `sha256=${createHmacHex(body)}` },
    });
    expect(decide(sign('not json'))).toMatchObject({ status: 400, result: 'bad_request' });
    expect(decide(sign('{"ref":"refs/heads/main"}'))).toMatchObject({ status: 400 });
    expect(decide(sign('{"repository":"https://x/y.git","ref":"main"}')).body).toMatch(/neither refs\/heads/);
    expect(decide(sign('{"repository":"https://x/y.git"}'))).toMatchObject({
      status: 202,
      push: { refs: [] },
    });
  });

  it("accepts GitHub's form encoding (payload=<json>)", () => {
    const body = `payload=${encodeURIComponent(push.body)}`;
    const req = {
      path: '/github',
      body,
      headers: {
        ...push.headers,
        'content-type': 'application/x-www-form-urlencoded',
        'x-hub-signature-256': `sha256=${createHmacHex(body)}`,
      },
    };
    expect(decide(req)).toMatchObject({ status: 202, push: { refs: [{ kind: 'branch', name: 'main' }] } });
  });

  it('a namespace secret scopes the push to its namespace; the operator-wide one to all', () => {
    const ns: SecretCandidate[] = [{ secret: Buffer.from(SECRET), scope: 'team-a' }];
    expect(decide(push, new ReplayGuard(), ns).namespaces).toEqual(new Set(['team-a']));
    expect(decide(push).namespaces).toBeUndefined();
  });

  it('Bitbucket names every ref of a multi-ref push, deletions included', () => {
    const payload = JSON.parse(
      pushRequest('bitbucket', r, { ref: 'refs/heads/main', before: A, after: B }, SECRET).body,
    );
    const del = { new: null, old: { type: 'branch', name: 'old', target: { hash: A } }, closed: true };
    const tag = { new: { type: 'tag', name: 'v3.0.0', target: { hash: B } }, old: null };
    payload.push.changes.push(del, tag);
    expect(providers.bitbucket.parsePush(payload)!.refs).toEqual([
      { kind: 'branch', name: 'main', commit: B, deleted: false },
      { kind: 'branch', name: 'old', commit: undefined, deleted: true },
      { kind: 'tag', name: 'v3.0.0', commit: B, deleted: false },
    ]);
  });
});

function createHmacHex(body: string): string {
  return createHmac('sha256', SECRET).update(body).digest('hex');
}

describe('pull-request events', () => {
  const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  it('GitHub pull_request wakes the previews of the base branch', () => {
    const body = JSON.stringify({
      action: 'synchronize',
      number: 4,
      pull_request: { base: { ref: 'main' } },
      repository: { clone_url: repo.http, html_url: repo.web },
    });
    const d = decide({
      path: '/github',
      headers: {
        'x-github-event': 'pull_request',
        'x-hub-signature-256': sign(body),
        'x-github-delivery': 'pr-1',
      },
      body,
    });
    expect(d.status).toBe(202);
    expect(d.push).toEqual({
      repoUrls: [repo.http, repo.web],
      refs: [{ kind: 'branch', name: 'main' }],
      pullRequest: { number: 4, action: 'synchronize' },
    });
  });
  it('Gitea pull_request_label and GitLab Merge Request Hook are pull-request events; comments are not', () => {
    const body = JSON.stringify({
      action: 'label_updated',
      number: 2,
      pull_request: { base: { ref: 'main' } },
      repository: { clone_url: repo.http },
    });
    const sig = createHmac('sha256', SECRET).update(body).digest('hex');
    const gitea = decide({
      path: '/gitea',
      headers: { 'x-gitea-event': 'pull_request_label', 'x-gitea-signature': sig },
      body,
    });
    expect(gitea.push?.pullRequest).toEqual({ number: 2, action: 'label_updated' });
    const comment = decide({
      path: '/gitea',
      headers: { 'x-gitea-event': 'pull_request_comment', 'x-gitea-signature': sig },
      body,
    });
    expect(comment.result).toBe('ignored');
    const mr = JSON.stringify({
      object_kind: 'merge_request',
      object_attributes: { iid: 9, target_branch: 'main', action: 'open' },
      project: { git_http_url: repo.http },
    });
    const gl = decide({
      path: '/gitlab',
      headers: { 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': SECRET },
      body: mr,
    });
    expect(gl.push).toEqual({
      repoUrls: [repo.http],
      refs: [{ kind: 'branch', name: 'main' }],
      pullRequest: { number: 9, action: 'open' },
    });
  });
});

// Each host's documented API as request builders and answer parsers: pull requests into the base
// branch (forks and labels read), pagination, comment create/edit, and commit statuses.
import { describe, expect, it } from 'vitest';
import { HOSTS, type HostTarget } from '../../../src/preview/index.ts';

const t = (api: string): HostTarget => ({
  api,
  owner: 'org',
  name: 'fleet',
  credentials: { token: 'tok-123' },
});
const answer = (json: unknown, link?: string) => ({
  status: 200,
  headers: new Headers(link ? { link } : {}),
  json,
});
const SHA = 'a'.repeat(40);

describe('github', () => {
  const h = HOSTS.github;
  const target = t('https://api.github.com');
  it('lists open pulls into the base with a bearer token and reads forks, labels and the next page', () => {
    const req = h.listPulls(target, 'main');
    expect(req.url).toBe('https://api.github.com/repos/org/fleet/pulls?state=open&base=main&per_page=100');
    expect(req.headers.Authorization).toBe('Bearer tok-123');
    const page = h.parsePulls(
      answer(
        [
          {
            number: 5,
            title: 'x',
            html_url: 'https://github.com/org/fleet/pull/5',
            head: { sha: SHA, repo: { full_name: 'someone/fleet' } },
            base: { ref: 'main', repo: { full_name: 'org/fleet' } },
            labels: [{ name: 'preview' }],
          },
          {
            number: 6,
            head: { sha: SHA, repo: { full_name: 'org/fleet' } },
            base: { ref: 'dev', repo: { full_name: 'org/fleet' } },
          },
        ],
        '<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=9>; rel="last"',
      ),
    );
    expect(page.items.filter((p) => p.base === 'main')).toEqual([
      {
        number: 5,
        title: 'x',
        head: SHA,
        base: 'main',
        labels: ['preview'],
        fork: true,
        url: 'https://github.com/org/fleet/pull/5',
        headRef: 'refs/pull/5/head',
      },
    ]);
    expect(page.next).toBe('https://api.github.com/repositories/1/pulls?page=2');
  });
  it('edits a comment by id and posts a status bounded to 140 characters', () => {
    expect(h.updateComment(target, 5, '99', 'b')).toMatchObject({
      method: 'PATCH',
      url: 'https://api.github.com/repos/org/fleet/issues/comments/99',
      body: '{"body":"b"}',
    });
    const s = h.setStatus(target, SHA, {
      state: 'success',
      context: 'converge/preview/a/b',
      description: 'd'.repeat(300),
    });
    expect(s.url).toBe(`https://api.github.com/repos/org/fleet/statuses/${SHA}`);
    expect(JSON.parse(s.body!).description).toHaveLength(140);
    expect(h.apiBase('https://github.example.com')).toBe('https://github.example.com/api/v3');
  });
});

describe('gitea', () => {
  const h = HOSTS.gitea;
  const target = t('http://127.0.0.1:3000/api/v1');
  it('uses the token scheme and tells forks by repository id', () => {
    expect(h.listPulls(target, 'main').headers.Authorization).toBe('token tok-123');
    const page = h.parsePulls(
      answer([
        { number: 1, head: { sha: SHA, repo_id: 2 }, base: { ref: 'main', repo_id: 1 }, labels: [] },
        {
          number: 2,
          head: { sha: SHA, repo_id: 1 },
          base: { ref: 'main', repo_id: 1 },
          labels: [{ name: 'p' }],
        },
      ]),
    );
    expect(page.items.map((p) => [p.number, p.fork, p.labels])).toEqual([
      [1, true, []],
      [2, false, ['p']],
    ]);
  });
});

describe('gitlab', () => {
  const h = HOSTS.gitlab;
  const target = t('https://gitlab.example.com/api/v4');
  it('addresses the project by its encoded path and maps merge requests', () => {
    const req = h.listPulls(target, 'main');
    expect(req.url).toBe(
      'https://gitlab.example.com/api/v4/projects/org%2Ffleet/merge_requests?state=opened&target_branch=main&per_page=100',
    );
    expect(req.headers['PRIVATE-TOKEN']).toBe('tok-123');
    const page = h.parsePulls(
      answer([
        {
          iid: 7,
          sha: SHA,
          target_branch: 'main',
          source_project_id: 3,
          target_project_id: 3,
          labels: ['preview'],
        },
      ]),
    );
    expect(page.items[0]).toMatchObject({
      number: 7,
      fork: false,
      labels: ['preview'],
      headRef: 'refs/merge-requests/7/head',
    });
    const s = h.setStatus(target, SHA, { state: 'failure', context: 'c', description: 'x' });
    expect(JSON.parse(s.body!)).toMatchObject({ state: 'failed', name: 'c' });
    expect(h.updateComment(target, 7, '12', 'b').method).toBe('PUT');
  });
});

describe('bitbucket', () => {
  const h = HOSTS.bitbucket;
  const target: HostTarget = {
    ...t('https://api.bitbucket.org/2.0'),
    credentials: { username: 'u', password: 'p' },
  };
  it('uses basic auth with an app password and follows the `next` field', () => {
    expect(h.listPulls(target, 'main').headers.Authorization).toBe(
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    );
    const page = h.parsePulls(
      answer({
        values: [
          {
            id: 3,
            source: {
              commit: { hash: SHA },
              branch: { name: 'feat' },
              repository: { full_name: 'org/fleet' },
            },
            destination: { branch: { name: 'main' }, repository: { full_name: 'org/fleet' } },
          },
        ],
        next: 'https://api.bitbucket.org/2.0/next',
      }),
    );
    expect(page.items[0]).toMatchObject({ number: 3, fork: false, head: SHA });
    expect(page.next).toBe('https://api.bitbucket.org/2.0/next');
    const s = JSON.parse(
      h.setStatus(target, SHA, { state: 'pending', context: 'converge/preview/a/b', description: '' }).body!,
    );
    expect(s.state).toBe('INPROGRESS');
  });
});

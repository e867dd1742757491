// GitHub (and GitHub Enterprise): pulls, issue comments and commit statuses of the REST API v3.
import { asArray, enc, field, jsonBody, nextLink, str, type HostTarget, type PreviewHost } from './types.ts';

const headers = (t: HostTarget, json = false): Record<string, string> => ({
  Accept: 'application/vnd.github+json',
  'X-GitHub-Api-Version': '2022-11-28',
  ...(t.credentials.token ? { Authorization: `Bearer ${t.credentials.token}` } : {}),
  ...(json ? { 'Content-Type': 'application/json' } : {}),
});
const repo = (t: HostTarget) => `${t.api}/repos/${enc(t.owner)}/${enc(t.name)}`;

export const github: PreviewHost = {
  name: 'github',
  maxCommentLength: 65_536,
  apiBase: (web) => (/^https:\/\/github\.com$/i.test(web) ? 'https://api.github.com' : `${web}/api/v3`),
  listPulls: (t, base) => ({
    method: 'GET',
    url: `${repo(t)}/pulls?state=open&base=${enc(base)}&per_page=100`,
    headers: headers(t),
  }),
  parsePulls(answer) {
    const items = asArray(answer.json, 'GitHub pulls').map((p) => ({
      number: Number(field(p, 'number')),
      title: str(field(p, 'title')),
      head: str(field(p, 'head', 'sha')),
      base: str(field(p, 'base', 'ref')),
      labels: (Array.isArray(field(p, 'labels')) ? (field(p, 'labels') as unknown[]) : []).map((l) =>
        str(field(l, 'name')),
      ),
      fork: str(field(p, 'head', 'repo', 'full_name')) !== str(field(p, 'base', 'repo', 'full_name')),
      url: str(field(p, 'html_url')),
      headRef: `refs/pull/${str(field(p, 'number'))}/head`,
    }));
    return { items, next: nextLink(answer.headers) };
  },
  listComments: (t, pr) => ({
    method: 'GET',
    url: `${repo(t)}/issues/${pr}/comments?per_page=100`,
    headers: headers(t),
  }),
  parseComments: (answer) => ({
    items: asArray(answer.json, 'GitHub comments').map((c) => ({
      id: str(field(c, 'id')),
      body: str(field(c, 'body')),
    })),
    next: nextLink(answer.headers),
  }),
  createComment: (t, pr, body) => ({
    method: 'POST',
    url: `${repo(t)}/issues/${pr}/comments`,
    headers: headers(t, true),
    body: jsonBody({ body }),
  }),
  updateComment: (t, _pr, id, body) => ({
    method: 'PATCH',
    url: `${repo(t)}/issues/comments/${enc(id)}`,
    headers: headers(t, true),
    body: jsonBody({ body }),
  }),
  setStatus: (t, sha, s) => ({
    method: 'POST',
    url: `${repo(t)}/statuses/${enc(sha)}`,
    headers: headers(t, true),
    body: jsonBody({
      state: s.state,
      context: s.context,
      description: s.description.slice(0, 140),
      ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
    }),
  }),
  page: (t, url) => ({ method: 'GET', url, headers: headers(t) }),
};

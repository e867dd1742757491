// Gitea and Forgejo: pulls, issue comments and commit statuses of the API v1 (`Authorization: token …`).
import { asArray, enc, field, jsonBody, nextLink, str, type HostTarget, type PreviewHost } from './types.ts';

const headers = (t: HostTarget, json = false): Record<string, string> => ({
  Accept: 'application/json',
  ...(t.credentials.token ? { Authorization: `token ${t.credentials.token}` } : {}),
  ...(json ? { 'Content-Type': 'application/json' } : {}),
});
const repo = (t: HostTarget) => `${t.api}/repos/${enc(t.owner)}/${enc(t.name)}`;

export const gitea: PreviewHost = {
  name: 'gitea',
  // Gitea stores comments as TEXT with no documented bound; keep them GitHub-sized, readable.
  maxCommentLength: 65_536,
  apiBase: (web) => `${web}/api/v1`,
  listPulls: (t) => ({
    method: 'GET',
    url: `${repo(t)}/pulls?state=open&limit=50&page=1`,
    headers: headers(t),
  }),
  parsePulls(answer) {
    const items = asArray(answer.json, 'Gitea pulls').map((p) => ({
      number: Number(field(p, 'number')),
      title: str(field(p, 'title')),
      head: str(field(p, 'head', 'sha')),
      base: str(field(p, 'base', 'ref')),
      labels: (Array.isArray(field(p, 'labels')) ? (field(p, 'labels') as unknown[]) : []).map((l) =>
        str(field(l, 'name')),
      ),
      fork: str(field(p, 'head', 'repo_id')) !== str(field(p, 'base', 'repo_id')),
      url: str(field(p, 'html_url')),
      headRef: `refs/pull/${str(field(p, 'number'))}/head`,
    }));
    return { items, next: nextLink(answer.headers) };
  },
  listComments: (t, pr) => ({
    method: 'GET',
    url: `${repo(t)}/issues/${pr}/comments?limit=50&page=1`,
    headers: headers(t),
  }),
  parseComments: (answer) => ({
    items: asArray(answer.json, 'Gitea comments').map((c) => ({
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
      description: s.description.slice(0, 255),
      ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
    }),
  }),
  page: (t, url) => ({ method: 'GET', url, headers: headers(t) }),
};

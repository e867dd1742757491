// GitLab: merge requests, their notes and commit statuses of the REST API v4 (`PRIVATE-TOKEN`).
import { asArray, enc, field, jsonBody, nextLink, str, type HostTarget, type PreviewHost } from './types.ts';

const headers = (t: HostTarget, json = false): Record<string, string> => ({
  Accept: 'application/json',
  ...(t.credentials.token ? { 'PRIVATE-TOKEN': t.credentials.token } : {}),
  ...(json ? { 'Content-Type': 'application/json' } : {}),
});
const project = (t: HostTarget) => `${t.api}/projects/${enc(`${t.owner}/${t.name}`)}`;

export const gitlab: PreviewHost = {
  name: 'gitlab',
  maxCommentLength: 1_000_000,
  apiBase: (web) => `${web}/api/v4`,
  listPulls: (t, base) => ({
    method: 'GET',
    url: `${project(t)}/merge_requests?state=opened&target_branch=${enc(base)}&per_page=100`,
    headers: headers(t),
  }),
  parsePulls(answer) {
    const items = asArray(answer.json, 'GitLab merge requests').map((m) => ({
      number: Number(field(m, 'iid')),
      title: str(field(m, 'title')),
      head: str(field(m, 'sha')),
      base: str(field(m, 'target_branch')),
      labels: (Array.isArray(field(m, 'labels')) ? (field(m, 'labels') as unknown[]) : []).map((l) =>
        typeof l === 'string' ? l : str(field(l, 'name')),
      ),
      fork: str(field(m, 'source_project_id')) !== str(field(m, 'target_project_id')),
      url: str(field(m, 'web_url')),
      headRef: `refs/merge-requests/${str(field(m, 'iid'))}/head`,
    }));
    const next = nextLink(answer.headers);
    return { items, next };
  },
  listComments: (t, pr) => ({
    method: 'GET',
    url: `${project(t)}/merge_requests/${pr}/notes?per_page=100&sort=asc`,
    headers: headers(t),
  }),
  parseComments: (answer) => ({
    items: asArray(answer.json, 'GitLab notes').map((c) => ({
      id: str(field(c, 'id')),
      body: str(field(c, 'body')),
    })),
    next: nextLink(answer.headers),
  }),
  createComment: (t, pr, body) => ({
    method: 'POST',
    url: `${project(t)}/merge_requests/${pr}/notes`,
    headers: headers(t, true),
    body: jsonBody({ body }),
  }),
  updateComment: (t, pr, id, body) => ({
    method: 'PUT',
    url: `${project(t)}/merge_requests/${pr}/notes/${enc(id)}`,
    headers: headers(t, true),
    body: jsonBody({ body }),
  }),
  setStatus: (t, sha, s) => ({
    method: 'POST',
    url: `${project(t)}/statuses/${enc(sha)}`,
    headers: headers(t, true),
    body: jsonBody({
      state: s.state === 'failure' ? 'failed' : s.state,
      name: s.context,
      description: s.description.slice(0, 255),
      ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
    }),
  }),
  page: (t, url) => ({ method: 'GET', url, headers: headers(t) }),
};

// Bitbucket Cloud: pull requests, their comments and commit build statuses of the API 2.0 (app password).
import { asArray, enc, field, jsonBody, str, type HostTarget, type PreviewHost } from './types.ts';

const headers = (t: HostTarget, json = false): Record<string, string> => {
  const { username, password, token } = t.credentials;
  const auth =
    username && password
      ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
      : token
        ? `Bearer ${token}`
        : undefined;
  return {
    Accept: 'application/json',
    ...(auth ? { Authorization: auth } : {}),
    ...(json ? { 'Content-Type': 'application/json' } : {}),
  };
};
const repo = (t: HostTarget) => `${t.api}/repositories/${enc(t.owner)}/${enc(t.name)}`;
const STATES = { pending: 'INPROGRESS', success: 'SUCCESSFUL', failure: 'FAILED' } as const;

export const bitbucket: PreviewHost = {
  name: 'bitbucket',
  maxCommentLength: 32_000,
  apiBase: (web) =>
    /^https:\/\/bitbucket\.org$/i.test(web) ? 'https://api.bitbucket.org/2.0' : `${web}/2.0`,
  listPulls: (t, base) => ({
    method: 'GET',
    url: `${repo(t)}/pullrequests?state=OPEN&pagelen=50&q=${enc(`destination.branch.name="${base}"`)}`,
    headers: headers(t),
  }),
  parsePulls(answer) {
    const values = asArray(field(answer.json, 'values'), 'Bitbucket pull requests');
    const items = values.map((p) => ({
      number: Number(field(p, 'id')),
      title: str(field(p, 'title')),
      // Bitbucket gives the head as a short hash; the fetch resolves it through the pull request ref.
      head: str(field(p, 'source', 'commit', 'hash')),
      base: str(field(p, 'destination', 'branch', 'name')),
      // Bitbucket Cloud has no pull request labels.
      labels: [],
      fork:
        str(field(p, 'source', 'repository', 'full_name')) !==
        str(field(p, 'destination', 'repository', 'full_name')),
      url: str(field(p, 'links', 'html', 'href')),
      headRef: `refs/heads/${str(field(p, 'source', 'branch', 'name'))}`,
    }));
    const next = field(answer.json, 'next');
    return { items, next: typeof next === 'string' ? next : undefined };
  },
  listComments: (t, pr) => ({
    method: 'GET',
    url: `${repo(t)}/pullrequests/${pr}/comments?pagelen=100`,
    headers: headers(t),
  }),
  parseComments: (answer) => {
    const next = field(answer.json, 'next');
    return {
      items: asArray(field(answer.json, 'values'), 'Bitbucket comments').map((c) => ({
        id: str(field(c, 'id')),
        body: str(field(c, 'content', 'raw')),
      })),
      next: typeof next === 'string' ? next : undefined,
    };
  },
  createComment: (t, pr, body) => ({
    method: 'POST',
    url: `${repo(t)}/pullrequests/${pr}/comments`,
    headers: headers(t, true),
    body: jsonBody({ content: { raw: body } }),
  }),
  updateComment: (t, pr, id, body) => ({
    method: 'PUT',
    url: `${repo(t)}/pullrequests/${pr}/comments/${enc(id)}`,
    headers: headers(t, true),
    body: jsonBody({ content: { raw: body } }),
  }),
  setStatus: (t, sha, s) => ({
    method: 'POST',
    url: `${repo(t)}/commit/${enc(sha)}/statuses/build`,
    headers: headers(t, true),
    body: jsonBody({
      key: s.context.slice(0, 40),
      name: s.context,
      state: STATES[s.state],
      description: s.description.slice(0, 255),
      url: s.targetUrl ?? 'https://converge.dev',
    }),
  }),
  page: (t, url) => ({ method: 'GET', url, headers: headers(t) }),
};

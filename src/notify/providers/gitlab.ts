// GitLab commit statuses: POST /api/v4/projects/{url-encoded path}/statuses/{sha} with PRIVATE-TOKEN.
import type { Provider } from '../types.ts';
import { invalid, request, skip } from '../types.ts';
import { commitDescription, commitState, hostBase, joinUrl, json, statusContext } from './common.ts';

const STATES = { pending: 'running', success: 'success', failure: 'failed' } as const;

export const gitlab: Provider = {
  type: 'gitlab',
  defaultEvents: ['Changed', 'Converged', 'Failed'],
  secretKeys: '`token` (a project, group or personal access token with the `api` scope)',
  build(input) {
    const { secretName } = input;
    const { notification: n, secret, repository } = input;
    const state = commitState(n.event);
    if (!state || !n.commit) return skip;
    if (!secret.token) return invalid(`gitlab needs \`token\` in ${secretName ?? 'the Secret'}`);
    if (!repository) return invalid(`cannot tell the project path from the GitSource URL ${n.source.url}`);
    const base = hostBase(input)!;
    const project = encodeURIComponent(`${repository.owner}/${repository.name}`);
    return request({
      method: 'POST',
      url: joinUrl(base, `/api/v4/projects/${project}/statuses/${n.commit}`),
      headers: { 'PRIVATE-TOKEN': secret.token, 'Content-Type': 'application/json' },
      body: json({
        state: STATES[state],
        name: statusContext(n),
        description: commitDescription(n, 255),
      }),
    });
  },
};

// Gitea (and Forgejo) commit statuses: POST /api/v1/repos/{owner}/{repo}/statuses/{sha} with `Authorization: token …`.
import type { Provider } from '../types.ts';
import { invalid, request, skip } from '../types.ts';
import { commitDescription, commitState, hostBase, joinUrl, json, statusContext } from './common.ts';
import { webUrl } from '../repo.ts';

export const gitea: Provider = {
  type: 'gitea',
  defaultEvents: ['Changed', 'Converged', 'Failed'],
  secretKeys: '`token` (an access token with write:repository)',
  build(input) {
    const { secretName } = input;
    const { notification: n, secret, repository } = input;
    const state = commitState(n.event);
    if (!state || !n.commit) return skip;
    if (!secret.token) return invalid(`gitea needs \`token\` in ${secretName ?? 'the Secret'}`);
    if (!repository) return invalid(`cannot tell owner/repository from the GitSource URL ${n.source.url}`);
    const base = hostBase(input)!;
    return request({
      method: 'POST',
      url: joinUrl(
        base,
        `/api/v1/repos/${encodeURIComponent(repository.owner)}/${encodeURIComponent(repository.name)}/statuses/${n.commit}`,
      ),
      headers: { Authorization: `token ${secret.token}`, 'Content-Type': 'application/json' },
      body: json({
        state,
        context: statusContext(n),
        description: commitDescription(n, 255),
        target_url: webUrl(repository),
      }),
    });
  },
};

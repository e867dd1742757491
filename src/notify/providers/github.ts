// GitHub commit statuses: POST /repos/{owner}/{repo}/statuses/{sha} with a Bearer token.
import type { Provider } from '../types.ts';
import { invalid, request, skip } from '../types.ts';
import { bearer, commitDescription, commitState, joinUrl, json, statusContext } from './common.ts';
import { webUrl } from '../repo.ts';

export const github: Provider = {
  type: 'github',
  defaultEvents: ['Changed', 'Converged', 'Failed'],
  secretKeys: '`token` (a fine-grained or classic token allowed to write commit statuses)',
  build({ notification: n, address, secret, repository, secretName }) {
    const state = commitState(n.event);
    if (!state || !n.commit) return skip;
    if (!secret.token) return invalid(`github needs \`token\` in ${secretName ?? 'the Secret'}`);
    if (!repository) return invalid(`cannot tell owner/repository from the GitSource URL ${n.source.url}`);
    // github.com has its API on api.github.com; GitHub Enterprise Server serves it under /api/v3.
    const base =
      address ??
      (repository.host === 'github.com'
        ? 'https://api.github.com'
        : `${repository.scheme}://${repository.host}/api/v3`);
    return request({
      method: 'POST',
      url: joinUrl(
        base,
        `/repos/${encodeURIComponent(repository.owner)}/${encodeURIComponent(repository.name)}/statuses/${n.commit}`,
      ),
      headers: {
        ...bearer(secret.token),
        Accept: 'application/vnd.github+json',
        'X-GitHub-Api-Version': '2022-11-28',
        'Content-Type': 'application/json',
      },
      body: json({
        state,
        context: statusContext(n),
        description: commitDescription(n, 140),
        target_url: webUrl(repository),
      }),
    });
  },
};

// Bitbucket Server / Data Center build statuses: POST /rest/build-status/1.0/commits/{sha}.
import type { Provider } from '../types.ts';
import { invalid, request, skip } from '../types.ts';
import { BITBUCKET_STATES, bitbucketAuth, bitbucketKey } from './bitbucket.ts';
import {
  commitDescription,
  commitState,
  hostBase,
  joinUrl,
  json,
  statusContext,
  truncate,
} from './common.ts';
import { webUrl } from '../repo.ts';

export const bitbucketserver: Provider = {
  type: 'bitbucketserver',
  defaultEvents: ['Changed', 'Converged', 'Failed'],
  secretKeys: '`token` (an HTTP access token) or `username`+`password`',
  build(input) {
    const { secretName } = input;
    const { notification: n, secret, repository } = input;
    const state = commitState(n.event);
    if (!state || !n.commit) return skip;
    const auth = bitbucketAuth(secret);
    if (!auth)
      return invalid(
        `bitbucketserver needs \`token\` or \`username\`+\`password\` in ${secretName ?? 'the Secret'}`,
      );
    const base = hostBase(input);
    if (!base)
      return invalid(`cannot tell the server from the GitSource URL ${n.source.url}: set spec.address`);
    return request({
      method: 'POST',
      url: joinUrl(base, `/rest/build-status/1.0/commits/${n.commit}`),
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: json({
        state: BITBUCKET_STATES[state],
        // Server keys hold 255 characters: the readable `converge/<ns>/<name>` (a hash only past that).
        key: bitbucketKey(n, 255),
        name: truncate(statusContext(n), 255),
        description: commitDescription(n, 255),
        url: repository ? webUrl(repository) : base,
      }),
    });
  },
};

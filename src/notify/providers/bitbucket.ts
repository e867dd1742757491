// Bitbucket Cloud build statuses: POST /2.0/repositories/{workspace}/{repo}/commit/{sha}/statuses/build.
import { createHash } from 'node:crypto';
import type { Notification, Provider } from '../types.ts';
import { invalid, request, skip } from '../types.ts';
import {
  basic,
  bearer,
  commitDescription,
  commitState,
  joinUrl,
  json,
  statusContext,
  truncate,
} from './common.ts';
import { webUrl } from '../repo.ts';

export const BITBUCKET_STATES = { pending: 'INPROGRESS', success: 'SUCCESSFUL', failure: 'FAILED' } as const;

/**
 * Bitbucket Cloud keys are at most 40 characters, Bitbucket Server's 255: the readable context when it
 * fits, else its SHA-1 (stable, so later states still replace earlier ones).
 */
export function bitbucketKey(n: Notification, max = 40): string {
  const context = statusContext(n);
  return context.length <= max ? context : createHash('sha1').update(context).digest('hex');
}

export function bitbucketAuth(secret: Record<string, string>): Record<string, string> | undefined {
  if (secret.username && secret.password) return basic(secret.username, secret.password);
  if (secret.token) return bearer(secret.token);
  return undefined;
}

export const bitbucket: Provider = {
  type: 'bitbucket',
  defaultEvents: ['Changed', 'Converged', 'Failed'],
  secretKeys: '`username`+`password` (an app password) or `token` (a repository/workspace access token)',
  build({ notification: n, address, secret, repository, secretName }) {
    const state = commitState(n.event);
    if (!state || !n.commit) return skip;
    const auth = bitbucketAuth(secret);
    if (!auth)
      return invalid(
        `bitbucket needs \`username\`+\`password\` or \`token\` in ${secretName ?? 'the Secret'}`,
      );
    if (!repository)
      return invalid(`cannot tell workspace/repository from the GitSource URL ${n.source.url}`);
    return request({
      method: 'POST',
      url: joinUrl(
        address ?? 'https://api.bitbucket.org',
        `/2.0/repositories/${encodeURIComponent(repository.owner)}/${encodeURIComponent(repository.name)}/commit/${n.commit}/statuses/build`,
      ),
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: json({
        key: bitbucketKey(n),
        state: BITBUCKET_STATES[state],
        name: truncate(statusContext(n), 255),
        description: commitDescription(n, 255),
        url: webUrl(repository),
      }),
    });
  },
};

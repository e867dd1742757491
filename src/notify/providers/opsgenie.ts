// Opsgenie Alert API v2: an alert per failing GitSource and reason (alias), closed by alias on recovery.
import type { Provider } from '../types.ts';
import { invalid, request, skip } from '../types.ts';
import { joinUrl, json, shortRevision, sourceKey, title, truncate } from './common.ts';

export const opsgenie: Provider = {
  type: 'opsgenie',
  defaultEvents: ['Failed', 'Recovered'],
  secretKeys: '`token` (an API integration key, sent as `Authorization: GenieKey …`)',
  build({ notification: n, address, secret, incidentKey, secretName }) {
    if (!secret.token)
      return invalid(`opsgenie needs an API key: set \`token\` in ${secretName ?? 'the Secret'}`);
    if (!incidentKey) return skip;
    const base = address ?? 'https://api.opsgenie.com';
    const headers = { 'Content-Type': 'application/json', Authorization: `GenieKey ${secret.token}` };
    if (n.event === 'Failed') {
      return request({
        method: 'POST',
        url: joinUrl(base, '/v2/alerts'),
        headers,
        body: json({
          message: truncate(title(n), 130),
          alias: incidentKey,
          description: truncate([n.message, ...n.changes].join('\n'), 15000),
          source: 'converge',
          entity: sourceKey(n),
          tags: ['converge', n.source.namespace, n.reason],
          details: {
            gitsource: sourceKey(n),
            reason: n.reason,
            revision: n.revision ?? '',
            url: n.source.url,
          },
          priority: 'P3',
        }),
      });
    }
    if (n.event === 'Recovered') {
      return request({
        method: 'POST',
        url: joinUrl(base, `/v2/alerts/${encodeURIComponent(incidentKey)}/close?identifierType=alias`),
        headers,
        body: json({
          source: 'converge',
          note: truncate(
            `${sourceKey(n)} is Ready again at ${shortRevision(n.revision)}: ${n.message}`,
            25000,
          ),
        }),
      });
    }
    return skip;
  },
};

// PagerDuty Events API v2: trigger on failure and resolve on recovery with a dedup_key per GitSource and reason.
import type { Provider } from '../types.ts';
import { invalid, request, skip } from '../types.ts';
import { joinUrl, json, sourceKey, title, truncate } from './common.ts';

export const pagerduty: Provider = {
  type: 'pagerduty',
  defaultEvents: ['Failed', 'Recovered'],
  secretKeys: '`token` (the integration routing key)',
  build({ notification: n, address, secret, incidentKey, secretName }) {
    if (!secret.token)
      return invalid(
        `pagerduty needs the integration routing key: set \`token\` in ${secretName ?? 'the Secret'}`,
      );
    if (!incidentKey) return skip;
    const url = joinUrl(address ?? 'https://events.pagerduty.com', '/v2/enqueue');
    const headers = { 'Content-Type': 'application/json' };
    if (n.event === 'Failed') {
      return request({
        method: 'POST',
        url,
        headers,
        body: json({
          routing_key: secret.token,
          event_action: 'trigger',
          dedup_key: incidentKey,
          payload: {
            summary: truncate(`${title(n)}: ${n.message}`, 1024),
            source: sourceKey(n),
            severity: 'error',
            timestamp: n.time,
            component: n.source.name,
            group: n.source.namespace,
            class: n.reason,
            custom_details: {
              message: n.message,
              revision: n.revision ?? '',
              changes: n.changes,
              url: n.source.url,
            },
          },
        }),
      });
    }
    if (n.event === 'Recovered') {
      return request({
        method: 'POST',
        url,
        headers,
        body: json({ routing_key: secret.token, event_action: 'resolve', dedup_key: incidentKey }),
      });
    }
    return skip;
  },
};

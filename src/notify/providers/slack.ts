// Slack incoming webhook: POST {text, blocks} to the webhook URL (the Secret's `address`).
import type { Provider } from '../types.ts';
import { invalid, request } from '../types.ts';
import { details, json, title, truncate } from './common.ts';

export const slack: Provider = {
  type: 'slack',
  defaultEvents: ['Changed', 'Converged', 'Failed', 'Recovered', 'DriftCorrected'],
  secretKeys: '`address` (the incoming webhook URL; spec.address also works but the URL is a secret)',
  build({ notification: n, address, secretName }) {
    if (!address)
      return invalid(`slack needs the webhook URL: set \`address\` in ${secretName ?? 'the Secret'}`);
    const icon =
      n.event === 'Failed'
        ? ':x:'
        : n.event === 'Converged' || n.event === 'Recovered'
          ? ':white_check_mark:'
          : ':arrows_counterclockwise:';
    const head = `${icon} ${title(n)}`;
    const body = details(n);
    // Slack shows `text` in notifications and as the fallback; blocks render the message.
    return request({
      method: 'POST',
      url: address,
      headers: { 'Content-Type': 'application/json' },
      body: json({
        text: truncate(`${head}: ${body[0]}`, 3000),
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: truncate(`*${head}*`, 3000) } },
          { type: 'section', text: { type: 'mrkdwn', text: truncate(body.join('\n'), 3000) } },
        ],
      }),
    });
  },
};

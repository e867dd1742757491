// Microsoft Teams via a Workflows (Power Automate) incoming webhook: a message with one Adaptive Card.
import type { Provider } from '../types.ts';
import { invalid, request } from '../types.ts';
import { details, json, title, truncate } from './common.ts';

export const msteams: Provider = {
  type: 'msteams',
  defaultEvents: ['Changed', 'Converged', 'Failed', 'Recovered', 'DriftCorrected'],
  secretKeys: '`address` (the workflow webhook URL)',
  build({ notification: n, address, secretName }) {
    if (!address)
      return invalid(
        `msteams needs the workflow webhook URL: set \`address\` in ${secretName ?? 'the Secret'}`,
      );
    const color =
      n.event === 'Failed'
        ? 'Attention'
        : n.event === 'Converged' || n.event === 'Recovered'
          ? 'Good'
          : 'Default';
    const card = {
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
      body: [
        {
          type: 'TextBlock',
          text: truncate(title(n), 500),
          weight: 'Bolder',
          size: 'Medium',
          color,
          wrap: true,
        },
        ...details(n).map((line) => ({ type: 'TextBlock', text: line, wrap: true })),
        {
          type: 'FactSet',
          facts: [
            { title: 'GitSource', value: `${n.source.namespace}/${n.source.name}` },
            { title: 'Event', value: `${n.event} (${n.reason})` },
            ...(n.revision ? [{ title: 'Revision', value: n.revision }] : []),
          ],
        },
      ],
    };
    return request({
      method: 'POST',
      url: address,
      headers: { 'Content-Type': 'application/json' },
      body: json({
        type: 'message',
        attachments: [
          { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
        ],
      }),
    });
  },
};

// A generic webhook: a CloudEvents 1.0 structured JSON envelope, signed with HMAC-SHA256 when the Secret has `key`.
import { createHmac, createHash } from 'node:crypto';
import type { Provider } from '../types.ts';
import { invalid, request } from '../types.ts';
import { bearer, json, sourceKey } from './common.ts';

export const SIGNATURE_HEADER = 'X-Signature';

/** `sha256=<hex>` of the exact body bytes, as GitHub-style receivers verify it. */
export function signBody(key: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

export const webhook: Provider = {
  type: 'webhook',
  defaultEvents: ['Changed', 'Diverged', 'Converged', 'Failed', 'Recovered', 'DriftCorrected'],
  secretKeys:
    '`address` (optional, wins over spec.address), `key` (optional: HMAC-SHA256 key for the `X-Signature: sha256=…` header), `token` (optional: sent as `Authorization: Bearer …`)',
  build({ notification: n, address, secret, secretName }) {
    if (!address)
      return invalid(`webhook needs spec.address or \`address\` in ${secretName ?? 'the Secret'}`);
    // A stable id: a receiver can drop redeliveries of the same transition.
    const id = createHash('sha256')
      .update(`${sourceKey(n)}|${n.event}|${n.revision ?? ''}|${n.time}`)
      .digest('hex')
      .slice(0, 32);
    const body = json({
      specversion: '1.0',
      id,
      source: `/apis/gitops.converge.dev/v1alpha1/namespaces/${n.source.namespace}/gitsources/${n.source.name}`,
      type: `dev.converge.gitsource.${n.event.toLowerCase()}`,
      subject: sourceKey(n),
      time: n.time,
      datacontenttype: 'application/json',
      data: {
        gitsource: {
          namespace: n.source.namespace,
          name: n.source.name,
          url: n.source.url,
          ...(n.source.cluster ? { cluster: n.source.cluster } : {}),
        },
        event: n.event,
        reason: n.reason,
        revision: n.revision,
        commit: n.commit,
        message: n.message,
        changes: n.changes,
        ...(n.flapping ? { flapping: n.flapping } : {}),
      },
    });
    const headers: Record<string, string> = { 'Content-Type': 'application/cloudevents+json' };
    if (secret.key) headers[SIGNATURE_HEADER] = signBody(secret.key, body);
    if (secret.token) Object.assign(headers, bearer(secret.token));
    return request({ method: 'POST', url: address, headers, body });
  },
};

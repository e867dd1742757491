// Harbor: a project webhook of type PUSH_ARTIFACT POSTed to /harbor with the "Auth Header" set to the
// secret (Harbor sends it as the Authorization header as written, with or without "Bearer ").
import { z } from 'zod';
import { verifyToken } from '../signature.ts';
import { header, type Provider } from '../types.ts';
import { parsePayload } from './payload.ts';

const HarborEvent = z.object({
  type: z.string(),
  event_data: z.object({
    resources: z
      .array(
        z.object({
          digest: z.string().optional(),
          tag: z.string().optional(),
          resource_url: z.string().optional(),
        }),
      )
      .default([]),
    repository: z.object({ repo_full_name: z.string() }),
  }),
});

export const harbor: Provider = {
  name: 'harbor',
  verify(h, _body, secret) {
    const given = header(h, 'authorization')
      ?.trim()
      .replace(/^Bearer\s+/i, '');
    return verifyToken(secret, given);
  },
  deliveryId: () => undefined,
  eventKind: () => 'push',
  parsePush(payload) {
    const p = parsePayload(HarborEvent, payload, 'Harbor webhook');
    if (p.type !== 'PUSH_ARTIFACT') return undefined;
    const repoUrls = new Set<string>();
    const refs = [];
    for (const r of p.event_data.resources) {
      // resource_url: harbor.example.com/library/app:v1 (or @sha256:…): the host is its first segment.
      const host = r.resource_url?.split('/')[0];
      if (!host) continue;
      repoUrls.add(`oci://${host}/${p.event_data.repository.repo_full_name}`);
      refs.push({ kind: 'tag' as const, name: r.tag ?? '', ...(r.digest ? { commit: r.digest } : {}) });
    }
    return repoUrls.size === 0 ? undefined : { repoUrls: [...repoUrls], refs };
  },
};

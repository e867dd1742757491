// OCI registries running distribution (Docker Registry 2, Harbor's core, GitLab's, …): its notification
// envelope (application/vnd.docker.distribution.events.v1+json, {events: [...]}) POSTed to
// /distribution with the header the registry config sets: `Authorization: Bearer <secret>`.
// A manifest push wakes GitSources whose oci:// URL names that registry and repository.
import { z } from 'zod';
import { verifyToken } from '../signature.ts';
import { header, type Provider, type PushedRef } from '../types.ts';
import { parsePayload } from './payload.ts';

const MANIFEST_TYPES = /manifest|image\.index/;

const Event = z.object({
  id: z.string().optional(),
  action: z.string(),
  target: z.object({
    mediaType: z.string().optional(),
    digest: z.string().optional(),
    repository: z.string(),
    url: z.string().optional(),
    tag: z.string().optional(),
  }),
  request: z.object({ host: z.string().optional() }).optional(),
});

const Envelope = z.object({ events: z.array(Event) });

export function bearerSecret(h: Parameters<Provider['verify']>[0]): string | undefined {
  const auth = header(h, 'authorization');
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  return m ? m[1] : undefined;
}

export const distribution: Provider = {
  name: 'distribution',
  verify: (h, _body, secret) => verifyToken(secret, bearerSecret(h)),
  // An envelope may hold several events; the first event's id names the delivery (retries resend it).
  deliveryId: () => undefined,
  eventKind: () => 'push',
  parsePush(payload) {
    const p = parsePayload(Envelope, payload, 'distribution notification');
    const repoUrls = new Set<string>();
    const refs: PushedRef[] = [];
    for (const e of p.events) {
      // Blob pushes and pulls come too: only a pushed manifest is a new artifact or chart.
      if (e.action !== 'push' || !MANIFEST_TYPES.test(e.target.mediaType ?? '')) continue;
      const host = e.request?.host ?? (e.target.url ? hostOf(e.target.url) : undefined);
      if (!host) continue;
      repoUrls.add(`oci://${host}/${e.target.repository}`);
      refs.push({
        kind: 'tag',
        name: e.target.tag ?? '',
        ...(e.target.digest ? { commit: e.target.digest } : {}),
      });
    }
    return repoUrls.size === 0 ? undefined : { repoUrls: [...repoUrls], refs };
  },
};

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

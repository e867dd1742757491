// Bitbucket Server / Data Center: X-Hub-Signature (sha256=<hex HMAC>), X-Event-Key
// repo:refs_changed (or mirror:repo_synchronized) | diagnostics:ping, X-Request-Id.
import { z } from 'zod';
import { verifyHmacSha256 } from '../signature.ts';
import { header, type Provider, type PushedRef } from '../types.ts';
import { parsePayload } from './payload.ts';

const RefsChanged = z.object({
  repository: z.object({
    links: z.object({
      clone: z.array(z.object({ href: z.string(), name: z.string().optional() })).optional(),
      self: z.array(z.object({ href: z.string() })).optional(),
    }),
  }),
  changes: z.array(
    z.object({
      ref: z.object({ id: z.string(), displayId: z.string().optional(), type: z.string() }),
      toHash: z.string().optional(),
      type: z.string().optional(),
    }),
  ),
});

export const bitbucketServer: Provider = {
  name: 'bitbucket-server',
  verify: (h, body, secret) => verifyHmacSha256(body, secret, header(h, 'x-hub-signature'), 'sha256='),
  deliveryId: (h) => header(h, 'x-request-id'),
  eventKind(h) {
    const event = header(h, 'x-event-key');
    if (event === 'diagnostics:ping') return 'ping';
    return event === 'repo:refs_changed' || event === 'mirror:repo_synchronized' ? 'push' : 'other';
  },
  parsePush(payload) {
    const p = parsePayload(RefsChanged, payload, 'Bitbucket Server repo:refs_changed');
    const refs: PushedRef[] = [];
    for (const c of p.changes) {
      const kind = c.ref.type === 'BRANCH' ? 'branch' : c.ref.type === 'TAG' ? 'tag' : undefined;
      if (!kind) continue;
      const prefix = kind === 'branch' ? 'refs/heads/' : 'refs/tags/';
      const name =
        c.ref.displayId ?? (c.ref.id.startsWith(prefix) ? c.ref.id.slice(prefix.length) : c.ref.id);
      refs.push({ kind, name, commit: c.toHash, deleted: c.type === 'DELETE' });
    }
    const links = p.repository.links;
    return { repoUrls: [...(links.clone ?? []), ...(links.self ?? [])].map((l) => l.href), refs };
  },
};

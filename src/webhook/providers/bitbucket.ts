// Bitbucket Cloud: X-Hub-Signature (sha256=<hex HMAC>), X-Event-Key repo:push, X-Request-UUID.
// Its payload names the repository by its web URL only; the https and scp-like clone URLs share
// that URL's host and path, so they normalise to the same key.
import { z } from 'zod';
import { verifyHmacSha256 } from '../signature.ts';
import { header, type Provider, type PushedRef } from '../types.ts';
import { parsePayload } from './payload.ts';

const RefState = z
  .object({
    type: z.string(),
    name: z.string(),
    target: z.object({ hash: z.string().optional() }).optional(),
  })
  .nullish();

const BitbucketPush = z.object({
  repository: z.object({
    full_name: z.string().optional(),
    links: z.object({ html: z.object({ href: z.string() }) }),
  }),
  push: z.object({
    changes: z.array(z.object({ new: RefState, old: RefState, closed: z.boolean().optional() })),
  }),
});

export const bitbucket: Provider = {
  name: 'bitbucket',
  verify: (h, body, secret) => verifyHmacSha256(body, secret, header(h, 'x-hub-signature'), 'sha256='),
  deliveryId: (h) => header(h, 'x-request-uuid'),
  eventKind: (h) => (header(h, 'x-event-key') === 'repo:push' ? 'push' : 'other'),
  parsePush(payload) {
    const p = parsePayload(BitbucketPush, payload, 'Bitbucket repo:push');
    const refs: PushedRef[] = [];
    for (const change of p.push.changes) {
      // A deleted ref has only `old`; its name still says which sources may care.
      const state = change.new ?? change.old;
      if (!state || (state.type !== 'branch' && state.type !== 'tag')) continue;
      refs.push({
        kind: state.type,
        name: state.name,
        commit: change.new?.target?.hash,
        deleted: !change.new,
      });
    }
    return { repoUrls: [p.repository.links.html.href], refs };
  },
};

// Any CI: X-Converge-Signature: sha256=<hex HMAC-SHA256 of the body>, body
// { "repository": "<url>", "ref": "refs/heads/main" } (ref optional: then every ref kind but a
// pinned commit), X-Converge-Event push (default) | ping, X-Converge-Delivery optional.
import { z } from 'zod';
import { verifyHmacSha256 } from '../signature.ts';
import { header, parseFullRef, PayloadError, type Provider } from '../types.ts';
import { parsePayload } from './payload.ts';

const GenericPush = z.object({
  repository: z.string().min(1),
  ref: z.string().optional(),
  commit: z.string().optional(),
});

export const generic: Provider = {
  name: 'generic',
  verify: (h, body, secret) => verifyHmacSha256(body, secret, header(h, 'x-converge-signature'), 'sha256='),
  deliveryId: (h) => header(h, 'x-converge-delivery'),
  eventKind(h) {
    const event = header(h, 'x-converge-event') ?? 'push';
    return event === 'push' ? 'push' : event === 'ping' ? 'ping' : 'other';
  },
  parsePush(payload) {
    const p = parsePayload(GenericPush, payload, 'generic push');
    if (p.ref === undefined) return { repoUrls: [p.repository], refs: [] };
    const ref = parseFullRef(p.ref);
    if (!ref) throw new PayloadError(`ref "${p.ref}" is neither refs/heads/<branch> nor refs/tags/<tag>`);
    return { repoUrls: [p.repository], refs: [{ ...ref, commit: p.commit }] };
  },
};

// Gitea and Forgejo: X-Gitea-Signature / X-Forgejo-Signature (hex HMAC, no prefix), X-Gitea-Event /
// X-Forgejo-Event push, X-Gitea-Delivery / X-Forgejo-Delivery. The "Test delivery" button sends a push.
import { z } from 'zod';
import { verifyHmacSha256 } from '../signature.ts';
import { header, parseFullRef, type Provider, ZERO_SHA } from '../types.ts';
import { parsePayload } from './payload.ts';

const GiteaPush = z.object({
  ref: z.string(),
  after: z.string().optional(),
  repository: z.object({
    clone_url: z.string().optional(),
    ssh_url: z.string().optional(),
    html_url: z.string().optional(),
  }),
});

const GiteaPullRequest = z.object({
  action: z.string(),
  number: z.number(),
  pull_request: z.object({ base: z.object({ ref: z.string() }) }),
  repository: GiteaPush.shape.repository,
});

export const gitea: Provider = {
  name: 'gitea',
  verify: (h, body, secret) =>
    verifyHmacSha256(body, secret, header(h, 'x-forgejo-signature') ?? header(h, 'x-gitea-signature')),
  deliveryId: (h) => header(h, 'x-forgejo-delivery') ?? header(h, 'x-gitea-delivery'),
  eventKind(h) {
    const event = header(h, 'x-forgejo-event') ?? header(h, 'x-gitea-event');
    // pull_request, pull_request_sync, pull_request_label, …: every change of a pull request.
    if (event?.startsWith('pull_request') && !event.includes('comment') && !event.includes('review'))
      return 'pull_request';
    return event === 'push' ? 'push' : 'other';
  },
  parsePush(payload) {
    const p = parsePayload(GiteaPush, payload, 'Gitea push');
    const ref = parseFullRef(p.ref);
    const r = p.repository;
    return {
      repoUrls: [r.clone_url, r.ssh_url, r.html_url].filter((u): u is string => !!u),
      refs: ref ? [{ ...ref, commit: p.after, deleted: ZERO_SHA.test(p.after ?? '') }] : [],
    };
  },
  parsePullRequest(payload) {
    const p = parsePayload(GiteaPullRequest, payload, 'Gitea pull_request');
    const r = p.repository;
    return {
      repoUrls: [r.clone_url, r.ssh_url, r.html_url].filter((u): u is string => !!u),
      refs: [{ kind: 'branch', name: p.pull_request.base.ref }],
      pullRequest: { number: p.number, action: p.action },
    };
  },
};

// GitHub: X-Hub-Signature-256 (sha256=<hex HMAC>), X-GitHub-Event push | ping, X-GitHub-Delivery.
import { z } from 'zod';
import { verifyHmacSha256 } from '../signature.ts';
import { header, parseFullRef, type Provider, ZERO_SHA } from '../types.ts';
import { parsePayload } from './payload.ts';

const GitHubPush = z.object({
  ref: z.string(),
  after: z.string().optional(),
  deleted: z.boolean().optional(),
  repository: z.object({
    clone_url: z.string().optional(),
    ssh_url: z.string().optional(),
    git_url: z.string().optional(),
    html_url: z.string().optional(),
  }),
});

const GitHubPullRequest = z.object({
  action: z.string(),
  number: z.number(),
  pull_request: z.object({ base: z.object({ ref: z.string() }) }),
  repository: GitHubPush.shape.repository,
});

export const github: Provider = {
  name: 'github',
  verify: (h, body, secret) => verifyHmacSha256(body, secret, header(h, 'x-hub-signature-256'), 'sha256='),
  deliveryId: (h) => header(h, 'x-github-delivery'),
  eventKind(h) {
    const event = header(h, 'x-github-event');
    if (event === 'pull_request') return 'pull_request';
    return event === 'push' ? 'push' : event === 'ping' ? 'ping' : 'other';
  },
  parsePush(payload) {
    const p = parsePayload(GitHubPush, payload, 'GitHub push');
    const ref = parseFullRef(p.ref);
    const r = p.repository;
    return {
      repoUrls: [r.clone_url, r.ssh_url, r.git_url, r.html_url].filter((u): u is string => !!u),
      refs: ref
        ? [{ ...ref, commit: p.after, deleted: p.deleted === true || ZERO_SHA.test(p.after ?? '') }]
        : [],
    };
  },
  parsePullRequest(payload) {
    const p = parsePayload(GitHubPullRequest, payload, 'GitHub pull_request');
    const r = p.repository;
    return {
      repoUrls: [r.clone_url, r.ssh_url, r.git_url, r.html_url].filter((u): u is string => !!u),
      refs: [{ kind: 'branch', name: p.pull_request.base.ref }],
      pullRequest: { number: p.number, action: p.action },
    };
  },
};

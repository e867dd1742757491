// GitLab: X-Gitlab-Token (the secret itself), X-Gitlab-Event Push Hook | Tag Push Hook | System Hook,
// X-Gitlab-Event-UUID. GitLab has no ping: its "Test" button sends a push payload.
import { z } from 'zod';
import { verifyToken } from '../signature.ts';
import { header, parseFullRef, type Provider, ZERO_SHA } from '../types.ts';
import { parsePayload } from './payload.ts';

const Urls = z.object({
  git_http_url: z.string().optional(),
  git_ssh_url: z.string().optional(),
  web_url: z.string().optional(),
  homepage: z.string().optional(),
  url: z.string().optional(),
});

const GitLabPush = z.object({
  object_kind: z.string(),
  ref: z.string(),
  after: z.string().optional(),
  checkout_sha: z.string().nullish(),
  project: Urls.optional(),
  repository: Urls.optional(),
});

const GitLabMergeRequest = z.object({
  object_kind: z.literal('merge_request'),
  object_attributes: z.object({ iid: z.number(), target_branch: z.string(), action: z.string().optional() }),
  project: Urls.optional(),
  repository: Urls.optional(),
});

export const gitlab: Provider = {
  name: 'gitlab',
  verify: (h, _body, secret) => verifyToken(secret, header(h, 'x-gitlab-token')),
  deliveryId: (h) => header(h, 'x-gitlab-event-uuid'),
  eventKind(h) {
    const event = header(h, 'x-gitlab-event');
    if (event === 'Merge Request Hook') return 'pull_request';
    return event === 'Push Hook' || event === 'Tag Push Hook' || event === 'System Hook' ? 'push' : 'other';
  },
  parsePush(payload) {
    const p = parsePayload(GitLabPush, payload, 'GitLab push');
    // System hooks carry every kind of event; only pushes concern us.
    if (p.object_kind !== 'push' && p.object_kind !== 'tag_push') return undefined;
    const ref = parseFullRef(p.ref);
    const urls = [p.project, p.repository].flatMap((u) =>
      u ? [u.git_http_url, u.git_ssh_url, u.web_url, u.homepage, u.url] : [],
    );
    return {
      repoUrls: urls.filter((u): u is string => !!u),
      refs: ref ? [{ ...ref, commit: p.after, deleted: ZERO_SHA.test(p.after ?? '') }] : [],
    };
  },
  parsePullRequest(payload) {
    const p = parsePayload(GitLabMergeRequest, payload, 'GitLab merge request');
    const urls = [p.project, p.repository].flatMap((u) =>
      u ? [u.git_http_url, u.git_ssh_url, u.web_url, u.homepage, u.url] : [],
    );
    return {
      repoUrls: urls.filter((u): u is string => !!u),
      refs: [{ kind: 'branch', name: p.object_attributes.target_branch }],
      pullRequest: { number: p.object_attributes.iid, action: p.object_attributes.action ?? 'update' },
    };
  },
};

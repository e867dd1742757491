// The receiver's decision for one request, as a pure function of method, path, headers, raw body,
// the secrets that may sign it and the replay memory: status and body to answer, and the push to act on.
import { providerForPath } from './providers/index.ts';
import type { ReplayGuard } from './replay.ts';
import { header, PayloadError, PROVIDERS, type Headers, type ProviderName, type PushEvent } from './types.ts';

/** A secret that may sign requests, and the namespaces its pushes may wake ('*' = every namespace). */
export interface SecretCandidate {
  secret: Buffer;
  scope: '*' | string;
}

export type WebhookResult =
  | 'matched'
  | 'unmatched'
  | 'ping'
  | 'ignored'
  | 'replayed'
  | 'unauthorized'
  | 'bad_request'
  | 'too_large'
  | 'not_found'
  | 'method_not_allowed';

export interface WebhookDecision {
  status: number;
  body: string;
  provider: ProviderName | 'unknown';
  /** 'matched'/'unmatched' is decided by the caller after matching; the answer is the same. */
  result: WebhookResult;
  deliveryId?: string;
  push?: PushEvent;
  /** Namespaces the verified secret may wake: undefined means all. */
  namespaces?: ReadonlySet<string>;
}

const json = (o: object) => JSON.stringify(o);
// One body for every refused signature: nothing tells a wrong secret from a missing one, an
// unknown namespace or a repository nobody follows.
export const UNAUTHORIZED_BODY = json({ error: 'unauthorized' });
export const ACCEPTED_BODY = json({ status: 'accepted' });

/**
 * `/github` → github; `/github/team-a` → github with namespace team-a. Any prefix before the
 * provider is ignored (`/hooks/github`), so an Ingress may route a sub-path without rewriting.
 */
export function parseHookPath(path: string): { provider: string; namespace?: string } | undefined {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  const at = parts.findIndex((p) => PATH_NAMES.has(p));
  if (at < 0 || parts.length - at > 2) return undefined;
  const namespace = parts[at + 1];
  if (namespace === undefined) return { provider: parts[at]! };
  return DNS_LABEL.test(namespace) ? { provider: parts[at]!, namespace } : undefined;
}

/** Every path the receiver answers (`--help` and the README list each one). */
export const HOOK_PATH_NAMES: readonly string[] = [...PROVIDERS, 'forgejo'];
const PATH_NAMES: ReadonlySet<string> = new Set(HOOK_PATH_NAMES);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NOT_FOUND = json({ error: 'not found' });

export function decideWebhook(
  req: { method: string; path: string; headers: Headers; body: Buffer },
  secrets: readonly SecretCandidate[],
  replay: ReplayGuard,
): WebhookDecision {
  const hook = parseHookPath(req.path);
  const provider = hook ? providerForPath(hook.provider) : undefined;
  if (!provider) return { status: 404, body: NOT_FOUND, provider: 'unknown', result: 'not_found' };
  const base = { provider: provider.name };
  if (req.method !== 'POST')
    return {
      ...base,
      status: 405,
      body: json({ error: 'method not allowed' }),
      result: 'method_not_allowed',
    };

  // Every candidate is checked (no early exit), before anything of the body is parsed.
  let verified = false;
  let everywhere = false;
  const namespaces = new Set<string>();
  for (const c of secrets) {
    if (!provider.verify(req.headers, req.body, c.secret)) continue;
    verified = true;
    if (c.scope === '*') everywhere = true;
    else namespaces.add(c.scope);
  }
  if (!verified) return { ...base, status: 401, body: UNAUTHORIZED_BODY, result: 'unauthorized' };

  const deliveryId = provider.deliveryId(req.headers);
  const withId = deliveryId ? { ...base, deliveryId } : base;
  // Only signed requests are remembered, so nobody can block a delivery id in advance.
  if (deliveryId && !replay.firstSeen(`${provider.name}:${deliveryId}`))
    return {
      ...withId,
      status: 200,
      body: json({ status: 'duplicate delivery ignored' }),
      result: 'replayed',
    };

  const kind = provider.eventKind(req.headers);
  if (kind === 'ping') return { ...withId, status: 200, body: json({ status: 'pong' }), result: 'ping' };
  if (kind === 'other')
    return { ...withId, status: 202, body: json({ status: 'ignored' }), result: 'ignored' };

  let push: PushEvent | undefined;
  try {
    const payload = parseBody(req.body, header(req.headers, 'content-type'));
    push = kind === 'pull_request' ? provider.parsePullRequest?.(payload) : provider.parsePush(payload);
  } catch (err) {
    const message = err instanceof PayloadError ? err.message : 'body is not JSON';
    return { ...withId, status: 400, body: json({ error: message }), result: 'bad_request' };
  }
  if (!push) return { ...withId, status: 202, body: json({ status: 'ignored' }), result: 'ignored' };
  return {
    ...withId,
    status: 202,
    body: ACCEPTED_BODY,
    result: 'unmatched',
    push,
    ...(everywhere ? {} : { namespaces }),
  };
}

/** JSON, or GitHub's form encoding (`payload=<json>`). */
function parseBody(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString('utf8');
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new PayloadError('form body without a payload field');
    return JSON.parse(payload);
  }
  return JSON.parse(text);
}

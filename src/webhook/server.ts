// The thin HTTP edge of the receiver: read the raw body (bounded), let decideWebhook judge it, answer,
// then wake the matched GitSources, count the request and record a PushReceived Event on each.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { GitSource } from '../api/index.ts';
import type { EventSpec, EventTarget } from '../report/index.ts';
import { listen, type Metrics } from '../server/index.ts';
import { affectedSources, pushedImages } from './match.ts';
import { decideWebhook, parseHookPath, type WebhookDecision } from './receive.ts';
import { ReplayGuard } from './replay.ts';
import type { WebhookSecrets } from './secrets.ts';
import type { PushEvent } from './types.ts';

export const MAX_BODY_BYTES = 1 << 20;

export interface WebhookReceiverOptions {
  addr: string;
  secrets: WebhookSecrets;
  /** The GitSources this process watches (the controller's cache). */
  sources: () => Iterable<GitSource>;
  /** Reconcile one GitSource at once. */
  wake: (gs: GitSource) => Promise<void> | void;
  /** A registry push named these images: ImagePolicies of them scan now; returns how many. */
  wakeImages?: (images: string[], inScope: (namespace: string) => boolean) => number;
  /** A pull request into a GitSource's branch changed: refresh its previews at once. */
  wakePreviews?: (gs: GitSource) => void;
  events: { record(target: EventTarget, events: readonly EventSpec[]): Promise<void> };
  metrics: Pick<Metrics, 'webhookRequests'>;
  logger: Logger;
  maxBodyBytes?: number;
  replay?: ReplayGuard;
}

export interface WebhookReceiver {
  port: number;
  close(): Promise<void>;
}

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function describePush(push: PushEvent): string {
  if (push.refs.length === 0) return 'Push';
  const refs = push.refs.map(
    (r) => `${r.kind} ${r.name}${r.deleted ? ' (deleted)' : r.commit ? ` (${r.commit.slice(0, 7)})` : ''}`,
  );
  return `Push to ${refs.slice(0, 3).join(', ')}${refs.length > 3 ? ` and ${refs.length - 3} more` : ''}`;
}

export async function startWebhookReceiver(opts: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const replay = opts.replay ?? new ReplayGuard();
  const log = opts.logger.child({ component: 'webhook' });

  const act = (d: WebhookDecision): number => {
    const push = d.push!;
    const inScope = d.namespaces ? (ns: string) => d.namespaces!.has(ns) : undefined;
    if (push.pullRequest) return actOnPullRequest(d, push, inScope);
    const woken = affectedSources(push, opts.sources(), inScope);
    // Image updates (issue 28): a registry push refreshes the ImagePolicies of that image at once.
    const images = pushedImages(push);
    const policies = images.length ? (opts.wakeImages?.(images, inScope ?? (() => true)) ?? 0) : 0;
    const note = `${describePush(push)} received from ${d.provider}${d.deliveryId ? ` (delivery ${d.deliveryId})` : ''}`;
    for (const gs of woken) {
      Promise.resolve(opts.wake(gs)).catch((err: unknown) =>
        log.warn(
          { gitsource: `${gs.metadata.namespace}/${gs.metadata.name}`, err: String(err) },
          'could not wake GitSource',
        ),
      );
      void opts.events.record(
        { name: gs.metadata.name, namespace: gs.metadata.namespace, uid: gs.metadata.uid },
        [{ type: 'Normal', reason: 'PushReceived', note }],
      );
    }
    log.info(
      {
        provider: d.provider,
        delivery: d.deliveryId,
        refs: push.refs.map((r) => `${r.kind}:${r.name}`),
        woken: woken.map((gs) => `${gs.metadata.namespace}/${gs.metadata.name}`),
        ...(images.length ? { imagePolicies: policies } : {}),
      },
      'push received',
    );
    return woken.length + policies;
  };

  // Pull-request events touch no branch: they only refresh the previews of the GitSources following the base.
  const actOnPullRequest = (
    d: WebhookDecision,
    push: PushEvent,
    inScope: ((ns: string) => boolean) | undefined,
  ): number => {
    const woken = affectedSources(push, opts.sources(), inScope).filter((gs) => gs.spec?.previews);
    for (const gs of woken) opts.wakePreviews?.(gs);
    log.info(
      {
        provider: d.provider,
        delivery: d.deliveryId,
        pullRequest: push.pullRequest,
        woken: woken.map((gs) => `${gs.metadata.namespace}/${gs.metadata.name}`),
      },
      'pull request event received',
    );
    return woken.length;
  };

  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...extra });
      res.end(body);
    };
    const path = req.url ?? '/';
    void (async () => {
      let body: Buffer;
      try {
        body = await readBody(req, limit);
      } catch (err) {
        const hook = parseHookPath(path);
        const provider = hook?.provider ?? 'unknown';
        if (err instanceof TooLarge) {
          opts.metrics.webhookRequests.inc({ provider: knownProvider(provider), result: 'too_large' });
          // Answer first, then drop the connection rather than read the rest of the body.
          res.once('finish', () => req.destroy());
          answer(413, JSON.stringify({ error: `body larger than ${limit} bytes` }), { Connection: 'close' });
        } else {
          res.destroy();
        }
        return;
      }
      const hook = parseHookPath(path);
      const secrets = hook ? await opts.secrets.candidates(hook.namespace) : [];
      const decision = decideWebhook(
        { method: req.method ?? 'GET', path, headers: req.headers, body },
        secrets,
        replay,
      );
      // Matching runs after the answer is fixed: a matched and an unmatched repository look the same.
      answer(decision.status, decision.body);
      let result = decision.result;
      if (decision.push) result = act(decision) > 0 ? 'matched' : 'unmatched';
      else if (result === 'unauthorized' || result === 'bad_request')
        log.debug({ provider: decision.provider, result, path: path.split('?')[0] }, 'webhook refused');
      opts.metrics.webhookRequests.inc({ provider: decision.provider, result });
    })().catch((err: unknown) => {
      log.error({ err: String(err) }, 'webhook handler failed');
      if (!res.headersSent) answer(500, JSON.stringify({ error: 'internal error' }));
    });
  });
  // Slow senders cannot hold connections open for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  const port = await listen(server, opts.addr);
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const KNOWN = new Set(['github', 'gitlab', 'bitbucket', 'bitbucket-server', 'gitea', 'generic']);
function knownProvider(name: string): string {
  if (name === 'forgejo') return 'gitea';
  return KNOWN.has(name) ? name : 'unknown';
}

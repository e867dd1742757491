// One loopback HTTP server that answers like the public APIs Notifiers talk to (Slack and Teams
// webhooks, Opsgenie, PagerDuty, a CloudEvents receiver, GitHub, GitLab, Bitbucket Cloud and Server,
// Gitea): it checks each request the way the service documents it and remembers alerts and statuses.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Raw path with query, as sent (percent-encoding kept). */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: unknown;
  status: number;
  service: string;
}

/** A scripted answer for the next request, whatever it is: a status, or never answering. */
export type Scripted = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface CommitStatus {
  service: string;
  repo: string;
  sha: string;
  state: string;
  context: string;
  description?: string;
}

export interface FakeServices {
  url: string;
  requests: RecordedRequest[];
  /** Answers for the next requests, first in first out. */
  script: Scripted[];
  statuses: CommitStatus[];
  /** Opsgenie alerts by alias. */
  alerts: Map<string, { status: 'open' | 'closed'; count: number; message: string }>;
  /** PagerDuty incidents by dedup_key. */
  incidents: Map<string, { status: 'triggered' | 'resolved'; count: number; summary: string }>;
  webhookEvents: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface FakeCredentials {
  token: string;
  username: string;
  password: string;
  /** HMAC key the CloudEvents receiver verifies X-Signature with (none: no check). */
  hmacKey?: string;
}

type Handler = (req: IncomingMessage, body: string, json: unknown) => { status: number; body?: unknown };

const fail = (status: number, body: unknown) => ({ status, body });

function isJson(req: IncomingMessage, type = 'application/json'): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim() === type;
}

/** `host`: the address to listen on (default 127.0.0.1), e.g. a real node's link for its pods. */
export async function startFakeServices(creds: FakeCredentials, host = '127.0.0.1'): Promise<FakeServices> {
  const api: FakeServices = {
    url: '',
    requests: [],
    script: [],
    statuses: [],
    alerts: new Map(),
    incidents: new Map(),
    webhookEvents: [],
    close: async () => {},
  };
  const basicOk = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;

  const commitStatus = (
    service: string,
    repo: string,
    sha: string,
    states: readonly string[],
    body: Record<string, unknown>,
    contextField: string,
  ) => {
    if (!/^[0-9a-f]{40}$/.test(sha)) return fail(422, { message: 'sha must be a full commit id' });
    if (typeof body.state !== 'string' || !states.includes(body.state))
      return fail(422, { message: `state must be one of ${states.join(', ')}` });
    if (typeof body[contextField] !== 'string' || !body[contextField])
      return fail(422, { message: `${contextField} is required` });
    api.statuses.push({
      service,
      repo,
      sha,
      state: body.state,
      context: body[contextField] as string,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
    });
    return undefined;
  };

  const routes: Array<{ service: string; method: string; path: RegExp; handle: Handler }> = [
    {
      // https://api.slack.com/messaging/webhooks: JSON with text (blocks optional); answers "ok".
      service: 'slack',
      method: 'POST',
      path: /^\/slack\/services\/[^/]+\/[^/]+\/[^/]+$/,
      handle: (req, _b, json) => {
        const j = json as { text?: unknown; blocks?: unknown } | undefined;
        if (!isJson(req) || typeof j?.text !== 'string' || !j.text) return fail(400, 'invalid_payload');
        if (j.blocks !== undefined && !Array.isArray(j.blocks)) return fail(400, 'invalid_blocks');
        return { status: 200, body: 'ok' };
      },
    },
    {
      // Teams Workflows webhook: {type: message, attachments: [{contentType: adaptive card, content}]}.
      service: 'msteams',
      method: 'POST',
      path: /^\/teams\/workflows\/[^/]+$/,
      handle: (req, _b, json) => {
        const j = json as
          | {
              type?: string;
              attachments?: Array<{ contentType?: string; content?: { type?: string; body?: unknown } }>;
            }
          | undefined;
        const a = j?.attachments?.[0];
        if (
          !isJson(req) ||
          j?.type !== 'message' ||
          a?.contentType !== 'application/vnd.microsoft.card.adaptive' ||
          a.content?.type !== 'AdaptiveCard' ||
          !Array.isArray(a.content.body)
        )
          return fail(400, {
            error: { code: 'InvalidRequestContent', message: 'not an adaptive card message' },
          });
        return { status: 202 };
      },
    },
    {
      // Opsgenie Alert API v2: create.
      service: 'opsgenie',
      method: 'POST',
      path: /^\/v2\/alerts$/,
      handle: (req, _b, json) => {
        if (req.headers.authorization !== `GenieKey ${creds.token}`)
          return fail(401, { message: 'Could not authenticate', took: 0, requestId: randomUUID() });
        const j = json as { message?: string; alias?: string } | undefined;
        if (!isJson(req) || typeof j?.message !== 'string' || !j.message || j.message.length > 130)
          return fail(422, {
            message: 'Request body is not processable',
            errors: { message: 'Message can not be empty' },
          });
        if (j.alias !== undefined && j.alias.length > 512) return fail(422, { message: 'alias too long' });
        const alias = j.alias ?? randomUUID();
        const old = api.alerts.get(alias);
        api.alerts.set(alias, {
          status: 'open',
          count: old?.status === 'open' ? old.count + 1 : 1,
          message: j.message,
        });
        return {
          status: 202,
          body: { result: 'Request will be processed', took: 0.01, requestId: randomUUID() },
        };
      },
    },
    {
      // Opsgenie Alert API v2: close by alias.
      service: 'opsgenie',
      method: 'POST',
      path: /^\/v2\/alerts\/[^/]+\/close\?identifierType=alias$/,
      handle: (req) => {
        if (req.headers.authorization !== `GenieKey ${creds.token}`)
          return fail(401, { message: 'Could not authenticate', took: 0, requestId: randomUUID() });
        const alias = decodeURIComponent(req.url!.split('/')[3]!);
        const alert = api.alerts.get(alias);
        // Opsgenie accepts the request and processes it later, even for an alias it does not know.
        if (alert) alert.status = 'closed';
        return {
          status: 202,
          body: { result: 'Request will be processed', took: 0.01, requestId: randomUUID() },
        };
      },
    },
    {
      // PagerDuty Events API v2.
      service: 'pagerduty',
      method: 'POST',
      path: /^\/v2\/enqueue$/,
      handle: (req, _b, json) => {
        const j = json as
          | {
              routing_key?: string;
              event_action?: string;
              dedup_key?: string;
              payload?: { summary?: string; source?: string; severity?: string };
            }
          | undefined;
        const invalid = (error: string) =>
          fail(400, { status: 'invalid event', message: 'Event object is invalid', errors: [error] });
        if (!isJson(req) || !j) return invalid('body must be JSON');
        if (j.routing_key !== creds.token) return invalid('Invalid routing key');
        if (!['trigger', 'acknowledge', 'resolve'].includes(j.event_action ?? ''))
          return invalid("'event_action' is invalid");
        if (j.event_action !== 'trigger' && !j.dedup_key) return invalid("'dedup_key' is required");
        if (j.event_action === 'trigger') {
          const p = j.payload;
          if (!p?.summary || p.summary.length > 1024)
            return invalid("'payload.summary' is missing or too long");
          if (!p.source) return invalid("'payload.source' is missing");
          if (!['critical', 'error', 'warning', 'info'].includes(p.severity ?? ''))
            return invalid("'payload.severity' is invalid");
        }
        const key = j.dedup_key ?? randomUUID();
        const old = api.incidents.get(key);
        if (j.event_action === 'trigger')
          api.incidents.set(key, {
            status: 'triggered',
            count: old?.status === 'triggered' ? old.count + 1 : 1,
            summary: j.payload!.summary!,
          });
        else if (j.event_action === 'resolve' && old) old.status = 'resolved';
        return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: key } };
      },
    },
    {
      // A CloudEvents 1.0 structured-mode receiver that verifies the HMAC signature.
      service: 'webhook',
      method: 'POST',
      path: /^\/hook$/,
      handle: (req, body, json) => {
        if (!isJson(req, 'application/cloudevents+json'))
          return fail(415, 'want application/cloudevents+json');
        const e = json as Record<string, unknown> | undefined;
        for (const attr of ['specversion', 'id', 'source', 'type'])
          if (typeof e?.[attr] !== 'string' || !e[attr])
            return fail(400, `missing CloudEvents attribute ${attr}`);
        if (e!.specversion !== '1.0') return fail(400, 'specversion must be 1.0');
        if (creds.hmacKey !== undefined) {
          const want = `sha256=${createHmac('sha256', creds.hmacKey).update(body).digest('hex')}`;
          if (req.headers['x-signature'] !== want) return fail(401, 'bad signature');
        }
        api.webhookEvents.push(e!);
        return { status: 204 };
      },
    },
    {
      // GitHub: POST /repos/{owner}/{repo}/statuses/{sha}.
      service: 'github',
      method: 'POST',
      path: /^\/repos\/[^/]+\/[^/]+\/statuses\/[^/]+$/,
      handle: (req, _b, json) => {
        if (req.headers.authorization !== `Bearer ${creds.token}`)
          return fail(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
        const [, , owner, repo, , sha] = req.url!.split('/');
        if (repo === 'missing') return fail(404, { message: 'Not Found' });
        if (req.headers.accept !== 'application/vnd.github+json')
          return fail(415, { message: 'Unsupported Accept' });
        const j = (json ?? {}) as Record<string, unknown>;
        if (typeof j.description === 'string' && j.description.length > 140)
          return fail(422, { message: 'description is too long (maximum is 140 characters)' });
        const bad = commitStatus(
          'github',
          `${owner}/${repo}`,
          sha!,
          ['error', 'failure', 'pending', 'success'],
          j,
          'context',
        );
        return bad ?? { status: 201, body: { id: api.statuses.length, state: j.state, context: j.context } };
      },
    },
    {
      // GitLab: POST /api/v4/projects/{id or url-encoded path}/statuses/{sha}.
      service: 'gitlab',
      method: 'POST',
      path: /^\/api\/v4\/projects\/[^/]+\/statuses\/[^/]+$/,
      handle: (req, _b, json) => {
        if (req.headers['private-token'] !== creds.token) return fail(401, { message: '401 Unauthorized' });
        const [, , , , project, , sha] = req.url!.split('/');
        if (!project!.includes('%2F')) return fail(404, { message: '404 Project Not Found' });
        const j = (json ?? {}) as Record<string, unknown>;
        const bad = commitStatus(
          'gitlab',
          decodeURIComponent(project!),
          sha!,
          ['pending', 'running', 'success', 'failed', 'canceled'],
          j,
          'name',
        );
        return bad ?? { status: 201, body: { id: api.statuses.length, status: j.state, name: j.name } };
      },
    },
    {
      // Bitbucket Cloud: POST /2.0/repositories/{workspace}/{repo}/commit/{sha}/statuses/build.
      service: 'bitbucket',
      method: 'POST',
      path: /^\/2\.0\/repositories\/[^/]+\/[^/]+\/commit\/[^/]+\/statuses\/build$/,
      handle: (req, _b, json) => {
        const auth = req.headers.authorization;
        if (auth !== basicOk && auth !== `Bearer ${creds.token}`)
          return fail(401, { type: 'error', error: { message: 'Unauthorized' } });
        const [, , , ws, repo, , sha] = req.url!.split('/');
        const j = (json ?? {}) as Record<string, unknown>;
        if (typeof j.key !== 'string' || j.key.length > 40)
          return fail(400, {
            type: 'error',
            error: { message: 'key: Ensure this value has at most 40 characters' },
          });
        if (typeof j.url !== 'string' || !j.url)
          return fail(400, { type: 'error', error: { message: 'url: required' } });
        const bad = commitStatus(
          'bitbucket',
          `${ws}/${repo}`,
          sha!,
          ['INPROGRESS', 'SUCCESSFUL', 'FAILED', 'STOPPED'],
          j,
          'key',
        );
        return bad ?? { status: 201, body: { type: 'build', key: j.key, state: j.state } };
      },
    },
    {
      // Bitbucket Server / Data Center: POST /rest/build-status/1.0/commits/{sha}; answers 204.
      service: 'bitbucketserver',
      method: 'POST',
      path: /^\/rest\/build-status\/1\.0\/commits\/[^/]+$/,
      handle: (req, _b, json) => {
        const auth = req.headers.authorization;
        if (auth !== basicOk && auth !== `Bearer ${creds.token}`)
          return fail(401, { errors: [{ message: 'Authentication failed' }] });
        const sha = req.url!.split('/')[5]!;
        const j = (json ?? {}) as Record<string, unknown>;
        if (typeof j.url !== 'string' || !j.url)
          return fail(400, { errors: [{ message: 'url is required' }] });
        const bad = commitStatus(
          'bitbucketserver',
          '',
          sha,
          ['INPROGRESS', 'SUCCESSFUL', 'FAILED'],
          j,
          'key',
        );
        return bad ?? { status: 204 };
      },
    },
    {
      // Gitea / Forgejo: POST /api/v1/repos/{owner}/{repo}/statuses/{sha}.
      service: 'gitea',
      method: 'POST',
      path: /^\/api\/v1\/repos\/[^/]+\/[^/]+\/statuses\/[^/]+$/,
      handle: (req, _b, json) => {
        if (req.headers.authorization !== `token ${creds.token}`)
          return fail(401, { message: 'user does not exist', url: 'https://gitea.example/api/swagger' });
        const [, , , , owner, repo, , sha] = req.url!.split('/');
        if (repo === 'missing') return fail(404, { message: "The target couldn't be found.", errors: [] });
        const j = (json ?? {}) as Record<string, unknown>;
        const bad = commitStatus(
          'gitea',
          `${owner}/${repo}`,
          sha!,
          ['pending', 'success', 'error', 'failure', 'warning'],
          j,
          'context',
        );
        return bad ?? { status: 201, body: { id: api.statuses.length, status: j.state, context: j.context } };
      },
    },
  ];

  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const route = routes.find((r) => r.method === req.method && r.path.test(req.url ?? ''));
      const record: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        json,
        status: 0,
        service: route?.service ?? 'unknown',
      };
      api.requests.push(record);
      const scripted = api.script.shift();
      if (scripted === 'hang') return;
      let status: number;
      let out: unknown;
      let headers: Record<string, string> = {};
      if (scripted) {
        status = scripted.status;
        out = scripted.body ?? '';
        headers = scripted.headers ?? {};
      } else if (!route) {
        status = 404;
        out = { message: 'Not Found' };
      } else {
        const answer = route.handle(req, body, json);
        status = answer.status;
        out = answer.body;
      }
      record.status = status;
      const text = out === undefined ? '' : typeof out === 'string' ? out : JSON.stringify(out);
      res.writeHead(status, {
        'content-type': typeof out === 'string' ? 'text/plain' : 'application/json',
        ...headers,
      });
      res.end(status === 204 ? undefined : text);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  api.url = `http://${host}:${(server.address() as AddressInfo).port}`;
  api.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return api;
}

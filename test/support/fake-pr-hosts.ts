// A loopback server answering as GitHub's and GitLab's documented pull-request APIs do (pulls /
// merge requests with pagination, issue comments / notes, commit statuses), checking each request's
// auth and content type, and remembering comments and statuses for tests to read.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakePull {
  number: number;
  head: string;
  base: string;
  labels?: string[];
  fork?: boolean;
}

export interface FakePrHost {
  url: string;
  /** Open pull requests, as the test sets them. */
  pulls: FakePull[];
  /** Comments (GitLab notes) by pull request number. */
  comments: Map<number, Array<{ id: number; body: string }>>;
  statuses: Array<{ sha: string; state: string; context: string; description: string }>;
  /** Requests by method and path (without query), in order. */
  requests: string[];
  close(): Promise<void>;
}

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => resolve(body));
  });

export async function startFakePrHost(
  kind: 'github' | 'gitlab',
  owner: string,
  repo: string,
  token: string,
): Promise<FakePrHost> {
  const host: FakePrHost = {
    url: '',
    pulls: [],
    comments: new Map(),
    statuses: [],
    requests: [],
    close: async () => {},
  };
  let nextId = 100;
  const project = encodeURIComponent(`${owner}/${repo}`);
  const server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      const u = new URL(req.url ?? '/', 'http://x');
      host.requests.push(`${req.method} ${u.pathname}`);
      const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      };
      const authorized =
        kind === 'github'
          ? req.headers.authorization === `Bearer ${token}` &&
            req.headers.accept === 'application/vnd.github+json'
          : req.headers['private-token'] === token;
      if (!authorized) return send(401, { message: 'Bad credentials' });
      if (req.method !== 'GET' && req.headers['content-type'] !== 'application/json')
        return send(415, { message: 'Unsupported Media Type' });
      const parsed = body ? (JSON.parse(body) as Record<string, string>) : {};
      const p = u.pathname;
      if (kind === 'github') {
        const base = `/repos/${owner}/${repo}`;
        if (req.method === 'GET' && p === `${base}/pulls`) {
          // One pull request per page: clients must follow Link.
          const page = Number(u.searchParams.get('page') ?? '1');
          // Every pull request, whatever its base: the client filters (and must follow Link to see them all).
          const wanted = host.pulls;
          const item = wanted[page - 1];
          const next: Record<string, string> =
            page < wanted.length
              ? { link: `<${host.url}${base}/pulls?state=open&page=${page + 1}>; rel="next"` }
              : {};
          return send(
            200,
            item
              ? [
                  {
                    number: item.number,
                    title: `pr ${item.number}`,
                    html_url: `https://github.example/${owner}/${repo}/pull/${item.number}`,
                    head: {
                      sha: item.head,
                      repo: { full_name: item.fork ? `fork/${repo}` : `${owner}/${repo}` },
                    },
                    base: { ref: item.base, repo: { full_name: `${owner}/${repo}` } },
                    labels: (item.labels ?? []).map((name) => ({ name })),
                  },
                ]
              : [],
            next,
          );
        }
        const comments = new RegExp(`^${base}/issues/(\\d+)/comments$`).exec(p);
        if (comments) {
          const n = Number(comments[1]);
          const list = host.comments.get(n) ?? [];
          host.comments.set(n, list);
          if (req.method === 'GET') return send(200, list);
          if (req.method === 'POST') {
            const c = { id: nextId++, body: parsed.body! };
            list.push(c);
            return send(201, c);
          }
        }
        const edit = new RegExp(`^${base}/issues/comments/(\\d+)$`).exec(p);
        if (edit && req.method === 'PATCH') {
          for (const list of host.comments.values())
            for (const c of list) if (c.id === Number(edit[1])) c.body = parsed.body!;
          return send(200, {});
        }
        const status = new RegExp(`^${base}/statuses/([0-9a-f]{40})$`).exec(p);
        if (status && req.method === 'POST') {
          host.statuses.push({
            sha: status[1]!,
            state: parsed.state!,
            context: parsed.context!,
            description: parsed.description!,
          });
          return send(201, {});
        }
      } else {
        const base = `/api/v4/projects/${project}`;
        const raw = (req.url ?? '').split('?')[0]!;
        if (req.method === 'GET' && raw === `${base}/merge_requests`) {
          const wanted = host.pulls.filter((x) => x.base === u.searchParams.get('target_branch'));
          return send(
            200,
            wanted.map((m) => ({
              iid: m.number,
              title: `mr ${m.number}`,
              sha: m.head,
              target_branch: m.base,
              source_project_id: m.fork ? 2 : 1,
              target_project_id: 1,
              labels: m.labels ?? [],
              web_url: `https://gitlab.example/${owner}/${repo}/-/merge_requests/${m.number}`,
            })),
          );
        }
        const notes = new RegExp(
          `^${base.replace(/[%]/g, '%')}/merge_requests/(\\d+)/notes(?:/(\\d+))?$`,
        ).exec(raw);
        if (notes) {
          const n = Number(notes[1]);
          const list = host.comments.get(n) ?? [];
          host.comments.set(n, list);
          if (req.method === 'GET' && !notes[2]) return send(200, list);
          if (req.method === 'POST' && !notes[2]) {
            const c = { id: nextId++, body: parsed.body! };
            list.push(c);
            return send(201, c);
          }
          if (req.method === 'PUT' && notes[2]) {
            for (const c of list) if (c.id === Number(notes[2])) c.body = parsed.body!;
            return send(200, {});
          }
        }
        const status = new RegExp(`^${base}/statuses/([0-9a-f]{40})$`).exec(raw);
        if (status && req.method === 'POST') {
          host.statuses.push({
            sha: status[1]!,
            state: parsed.state!,
            context: parsed.name!,
            description: parsed.description!,
          });
          return send(201, {});
        }
      }
      send(404, { message: 'Not Found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  host.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return host;
}

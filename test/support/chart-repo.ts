// A real Helm chart repository for tests: charts made with `helm package`, indexed with `helm repo
// index`, served over HTTP or HTTPS (basic or bearer auth, client certificates) with ETags and 304s.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { resolveClientTools } from '../../src/render/index.ts';
import { makeTestCa, type TestCa } from './tls.ts';

const run = promisify(execFile);

export type RepoAuth = { username: string; password: string } | { bearerToken: string };

export interface ChartRepoOptions {
  auth?: RepoAuth;
  /** HTTPS with a test CA; `clientCerts` requires a client certificate the CA signed. */
  tls?: { clientCerts?: boolean };
  /** Send index.yaml with Content-Encoding: gzip. */
  gzipIndex?: boolean;
}

export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  /** The Authorization header came along. */
  authorization: boolean;
}

export interface ChartSpec {
  name: string;
  version: string;
  /** Files under templates/ (default: one ConfigMap named after the release with .Values.message). */
  templates?: Record<string, string>;
  values?: string;
}

export interface ChartRepo {
  url: string;
  dir: string;
  requests: ServedRequest[];
  tls?: TestCa | undefined;
  /** Packages a chart with `helm package` into the repository and re-indexes it (`helm repo index`). */
  addChart(chart: ChartSpec, opts?: { absoluteUrls?: boolean }): Promise<{ file: string; digest: string }>;
  /** Writes a file as served (an index, a hostile archive). */
  put(path: string, body: string | Buffer): Promise<void>;
  /** Answers `path` with a handler instead of the file. */
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  /** Runs `helm repo index` again. */
  reindex(opts?: { absoluteUrls?: boolean }): Promise<void>;
  /** Secret data that authenticates to this repository. */
  secretData(): Record<string, string>;
  close(): Promise<void>;
}

/** `helm` as the tests use it: the bundled one, with private homes (no user config read or written). */
export async function helm(args: string[], home: string): Promise<string> {
  const tools = await resolveClientTools({ pathEnv: process.env.PATH });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  return (await run(tools.helm, args, { env, maxBuffer: 16 << 20 })).stdout;
}

export async function startChartRepo(opts: ChartRepoOptions = {}): Promise<ChartRepo> {
  const root = await mkdtemp(join(tmpdir(), 'converge-charts-'));
  const dir = join(root, 'repo');
  const work = join(root, 'work');
  await mkdir(dir);
  await mkdir(work);
  const requests: ServedRequest[] = [];
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const ca = opts.tls ? await makeTestCa(join(root, 'tls')) : undefined;

  const authorized = (req: IncomingMessage) => {
    if (!opts.auth) return true;
    const header = req.headers.authorization ?? '';
    if ('bearerToken' in opts.auth) return header === `Bearer ${opts.auth.bearerToken}`;
    return (
      header === `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const record = (status: number) =>
      requests.push({
        method: req.method ?? 'GET',
        path,
        status,
        authorization: !!req.headers.authorization,
      });
    const route = routes.get(path);
    if (route) {
      record(0);
      return route(req, res);
    }
    if (!authorized(req)) {
      record(401);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end('unauthorized');
      return;
    }
    const file = join(dir, path);
    if (!file.startsWith(dir + '/') || !(await stat(file).catch(() => undefined))?.isFile()) {
      record(404);
      res.writeHead(404).end('not found');
      return;
    }
    let body = await readFile(file);
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      record(304);
      res.writeHead(304, { etag }).end();
      return;
    }
    const headers: Record<string, string> = { etag, 'content-type': 'application/octet-stream' };
    if (
      opts.gzipIndex &&
      path.endsWith('/index.yaml') &&
      /gzip/.test(String(req.headers['accept-encoding']))
    ) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    record(200);
    res.writeHead(200, headers).end(body);
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  };
  const server = ca
    ? createHttpsServer(
        {
          key: ca.server.key,
          cert: ca.server.cert,
          ca: ca.cert,
          requestCert: !!opts.tls?.clientCerts,
          rejectUnauthorized: !!opts.tls?.clientCerts,
        },
        listener,
      )
    : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `${ca ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
  await mkdir(join(dir, 'charts'));

  const reindex = async (o: { absoluteUrls?: boolean } = {}) => {
    await helm(['repo', 'index', join(dir, 'charts'), ...(o.absoluteUrls ? ['--url', url] : [])], work);
  };

  return {
    url,
    dir: join(dir, 'charts'),
    requests,
    tls: ca,
    async addChart(chart, o = {}) {
      const src = join(work, `${chart.name}-${chart.version}`, chart.name);
      await mkdir(join(src, 'templates'), { recursive: true });
      await writeFile(
        join(src, 'Chart.yaml'),
        `apiVersion: v2\nname: ${chart.name}\nversion: ${chart.version}\n`,
      );
      await writeFile(join(src, 'values.yaml'), chart.values ?? 'message: hello\n');
      const templates = chart.templates ?? {
        'configmap.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  message: {{ .Values.message | quote }}\n  chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n',
      };
      for (const [name, text] of Object.entries(templates))
        await writeFile(join(src, 'templates', name), text);
      await helm(['package', src, '-d', join(dir, 'charts')], work);
      await reindex(o);
      const file = join(dir, 'charts', `${chart.name}-${chart.version}.tgz`);
      return {
        file,
        digest: createHash('sha256')
          .update(await readFile(file))
          .digest('hex'),
      };
    },
    async put(path, body) {
      await writeFile(join(dir, 'charts', path), body);
    },
    route(path, handler) {
      routes.set(new URL(path, url + '/').pathname, handler);
    },
    reindex,
    secretData() {
      const data: Record<string, string> = {};
      if (opts.auth && 'bearerToken' in opts.auth) data.bearerToken = opts.auth.bearerToken;
      else if (opts.auth) Object.assign(data, { username: opts.auth.username, password: opts.auth.password });
      if (ca) data['ca.crt'] = ca.cert;
      if (ca && opts.tls?.clientCerts)
        Object.assign(data, { 'tls.crt': ca.client.cert, 'tls.key': ca.client.key });
      return data;
    },
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

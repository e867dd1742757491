// A real OCI registry for tests: Debian's docker-registry (distribution 2.8) on loopback, open, behind
// htpasswd basic auth, or behind token auth with a small token server, optionally notifying an endpoint.
//
// Usage:
//   const reg = await startRegistry();                              // open
//   const reg = await startRegistry({ auth: 'basic' });             // htpasswd (apache2-utils)
//   const reg = await startRegistry({ auth: 'token' });             // WWW-Authenticate: Bearer challenge
//   const reg = await startRegistry({ notify: 'http://127.0.0.1:9292/distribution' });
//   reg.host                      // 127.0.0.1:<port>
//   await pushArtifact(reg, 'fleet/app', 'v1.0.0', { layers: [...], config })   // registry HTTP API
//   await reg.close();
// Every process binds 127.0.0.1 on a free port and is killed on close() and on process exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort, run } from './git-server.ts';

export const REGISTRY_BIN = process.env.CONVERGE_REGISTRY ?? '/usr/bin/docker-registry';

export interface Registry {
  /** 127.0.0.1:<port>, as written in oci:// URLs. */
  host: string;
  /** http://127.0.0.1:<port> */
  base: string;
  username: string;
  password: string;
  /** The Authorization header the test's own pushes send (basic, or a push token). */
  authorization(scope: string): Promise<string | undefined>;
  /** Requests the registry logged since start (method and path), for poll-cost assertions. */
  requests(): RegistryRequest[];
  resetRequests(): void;
  close(): Promise<void>;
}

export interface RegistryRequest {
  method: string;
  path: string;
  status: number;
}

export interface RegistryOptions {
  auth?: 'basic' | 'token';
  /** URL the registry's notifications endpoint posts events to. */
  notify?: string;
  /** Header the notification posts carry (e.g. Authorization: Bearer <secret>). */
  notifyHeaders?: Record<string, string>;
}

const USER = 'fleet';
const PASSWORD = 'registry-secret-1';

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const root = await mkdtemp(join(tmpdir(), 'converge-registry-'));
  const port = await freePort();
  const internal = await freePort();
  const closers: Array<() => Promise<void>> = [];
  let token: TokenServer | undefined;
  let authBlock = '';
  if (options.auth === 'basic') {
    await run('htpasswd', ['-Bbc', join(root, 'htpasswd'), USER, PASSWORD]);
    authBlock = `auth:\n  htpasswd:\n    realm: converge-test\n    path: ${join(root, 'htpasswd')}\n`;
  } else if (options.auth === 'token') {
    token = await startTokenServer(root);
    closers.push(token.close);
    authBlock =
      `auth:\n  token:\n    realm: ${token.realm}\n    service: converge-test-registry\n` +
      `    issuer: converge-test-issuer\n    rootcertbundle: ${token.certPath}\n`;
  }
  const notifyBlock = options.notify
    ? `notifications:\n  endpoints:\n    - name: converge\n      url: ${options.notify}\n` +
      (options.notifyHeaders
        ? `      headers:\n${Object.entries(options.notifyHeaders)
            .map(([k, v]) => `        ${k}: [${JSON.stringify(v)}]\n`)
            .join('')}`
        : '') +
      `      timeout: 2s\n      threshold: 3\n      backoff: 1s\n`
    : '';
  const config =
    `version: 0.1\nlog:\n  level: info\n  formatter: json\n  accesslog:\n    disabled: false\n` +
    `storage:\n  filesystem:\n    rootdirectory: ${join(root, 'data')}\n  delete:\n    enabled: true\n` +
    `http:\n  addr: 127.0.0.1:${internal}\n  secret: ${randomBytes(16).toString('hex')}\n` +
    authBlock +
    notifyBlock;
  await writeFile(join(root, 'config.yml'), config);

  const requests: RegistryRequest[] = [];
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(root, 'config.yml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onExit = () => child.kill('SIGKILL');
  process.on('exit', onExit);
  let log = '';
  const onLine = (chunk: Buffer) => {
    if (log.length < 20_000) log += chunk.toString('utf8');
  };
  child.stdout!.on('data', onLine);
  child.stderr!.on('data', onLine);
  // A recording pass-through in front: each request is counted when its answer starts, so a test
  // reads exact counts the moment its client has the answer (the registry's access log lags).
  const front = createServer((req, res) => {
    const upstream = httpRequest(
      { host: '127.0.0.1', port: internal, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        requests.push({ method: req.method ?? '', path: req.url ?? '', status: up.statusCode ?? 0 });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const frontSockets = new Set<import('node:net').Socket>();
  front.on('connection', (s) => {
    frontSockets.add(s);
    s.on('close', () => frontSockets.delete(s));
  });
  await new Promise<void>((resolve) => front.listen(port, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of frontSockets) s.destroy();
        front.close(() => resolve());
      }),
  );
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}:\n${log}`);
    const ok = await fetch(`${base}/v2/`).then(
      (r) => r.status === 200 || r.status === 401,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  requests.length = 0;

  const registry: Registry = {
    host: `127.0.0.1:${port}`,
    base,
    username: USER,
    password: PASSWORD,
    async authorization(scope) {
      if (options.auth === 'basic') return `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      if (token) return `Bearer ${token.issue(scope)}`;
      return undefined;
    },
    requests: () => [...requests],
    resetRequests() {
      requests.length = 0;
    },
    async close() {
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      process.off('exit', onExit);
      for (const close of closers) await close();
      await rm(root, { recursive: true, force: true });
    },
  };
  return registry;
}

interface TokenServer {
  realm: string;
  certPath: string;
  issue(scope: string): string;
  close(): Promise<void>;
}

/** The token service distribution's `auth.token` expects: ES256 JWTs with the signing certificate in x5c. */
async function startTokenServer(root: string): Promise<TokenServer> {
  const keyPath = join(root, 'token.key');
  const certPath = join(root, 'token.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=converge-test-token',
  ]);
  const key = createPrivateKey(await readFile(keyPath));
  const der = Buffer.from(
    (await readFile(certPath, 'utf8')).replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''),
    'base64',
  );
  const b64 = (v: Buffer | string) => Buffer.from(v).toString('base64url');
  const issue = (scope: string) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scope
      .split(' ')
      .filter(Boolean)
      .map((s) => {
        const [type, name, actions] = s.split(':');
        return { type, name, actions: (actions ?? '').split(',').filter(Boolean) };
      });
    const header = { alg: 'ES256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = {
      iss: 'converge-test-issuer',
      sub: USER,
      aud: 'converge-test-registry',
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64(sig)}`;
  };
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Anonymous requests get a token with no access (as Docker Hub does), so only credentials pull.
    const scope =
      req.headers.authorization === expected ? (url.searchParams.getAll('scope').join(' ') ?? '') : '';
    if (req.headers.authorization !== undefined && req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const token = issue(scope);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, expires_in: 300 }));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certPath,
    issue,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const FLUX_CONFIG = 'application/vnd.cncf.flux.config.v1+json';
export const FLUX_CONTENT = 'application/vnd.cncf.flux.content.v1.tar+gzip';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface PushLayer {
  mediaType: string;
  data: Buffer;
  annotations?: Record<string, string>;
  /** Declare another size in the manifest than the blob has (hostile manifests). */
  declaredSize?: number;
}

export interface PushOptions {
  layers: PushLayer[];
  config?: { mediaType: string; data: Buffer };
  annotations?: Record<string, string>;
  artifactType?: string;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Uploads a blob with the monolithic POST+PUT of the registry HTTP API; returns its digest. */
export async function pushBlob(reg: Registry, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const auth = await reg.authorization(`repository:${repo}:pull,push`);
  const headers: Record<string, string> = auth ? { authorization: auth } : {};
  const start = await fetch(`${reg.base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location')!, reg.base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(data),
  });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
  return digest;
}

/** Pushes blobs and a manifest under `reference` (a tag or nothing: by digest); returns the manifest digest. */
export async function pushManifest(
  reg: Registry,
  repo: string,
  reference: string | undefined,
  manifest: object,
  mediaType = OCI_MANIFEST,
): Promise<{ digest: string; body: Buffer }> {
  const body = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(body);
  const auth = await reg.authorization(`repository:${repo}:pull,push`);
  const res = await fetch(`${reg.base}/v2/${repo}/manifests/${reference ?? digest}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType, ...(auth ? { authorization: auth } : {}) },
    body: new Uint8Array(body),
  });
  if (res.status !== 201)
    throw new Error(`manifest push ${repo}:${reference}: ${res.status} ${await res.text()}`);
  return { digest, body };
}

/** Pushes an OCI artifact (config + layers + manifest) as `flux push artifact` or oras would. */
export async function pushArtifact(
  reg: Registry,
  repo: string,
  tag: string,
  options: PushOptions,
): Promise<string> {
  const config = options.config ?? { mediaType: FLUX_CONFIG, data: Buffer.from('{}') };
  const configDigest = await pushBlob(reg, repo, config.data);
  const layers = [];
  for (const layer of options.layers) {
    const digest = await pushBlob(reg, repo, layer.data);
    layers.push({
      mediaType: layer.mediaType,
      digest,
      size: layer.declaredSize ?? layer.data.length,
      ...(layer.annotations ? { annotations: layer.annotations } : {}),
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    config: { mediaType: config.mediaType, digest: configDigest, size: config.data.length },
    layers,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  return (await pushManifest(reg, repo, tag, manifest)).digest;
}

/** Deletes a tag's manifest (by digest, as the API requires). */
export async function deleteManifest(reg: Registry, repo: string, digest: string): Promise<void> {
  const auth = await reg.authorization(`repository:${repo}:pull,push,delete`);
  const res = await fetch(`${reg.base}/v2/${repo}/manifests/${digest}`, {
    method: 'DELETE',
    headers: auth ? { authorization: auth } : {},
  });
  if (res.status !== 202) throw new Error(`manifest delete: ${res.status}`);
}

export type ProxyMode = 'pass' | 'hang' | 'trickle' | 'corrupt-blobs';

export interface HostileProxy {
  host: string;
  mode: ProxyMode;
  close(): Promise<void>;
}

/**
 * A registry gone bad, in front of a real one: hangs (slow-loris: headers, then nothing), trickles a
 * byte a second, or flips a byte in every blob it serves (a digest mismatch on the wire).
 */
export async function startHostileProxy(target: Registry, mode: ProxyMode = 'pass'): Promise<HostileProxy> {
  const [tHost, tPort] = target.host.split(':');
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((req: IncomingMessage, res) => {
    const blob = /\/blobs\/sha256:/.test(req.url ?? '');
    if (proxy.mode === 'hang' && blob) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.flushHeaders();
      return; // never a byte of the body
    }
    const upstream = httpRequest(
      { host: tHost, port: Number(tPort), method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (blob && proxy.mode === 'trickle' && req.method === 'GET') {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            const all = Buffer.concat(chunks);
            let i = 0;
            const timer = setInterval(() => {
              if (i >= all.length || res.destroyed) {
                clearInterval(timer);
                res.end();
                return;
              }
              res.write(all.subarray(i, i + 1));
              i++;
            }, 1000);
            timer.unref();
          });
          return;
        }
        if (blob && proxy.mode === 'corrupt-blobs' && req.method === 'GET') {
          let first = true;
          up.on('data', (c: Buffer) => {
            if (first && c.length > 0) {
              c = Buffer.from(c);
              c[c.length - 1] = c[c.length - 1]! ^ 0xff;
              first = false;
            }
            res.write(c);
          });
          up.on('end', () => res.end());
          return;
        }
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const proxy: HostileProxy = {
    host: `127.0.0.1:${port}`,
    mode,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

export type TarEntry =
  | { name: string; data: string | Buffer }
  | { name: string; symlink: string }
  | { name: string; hardlink: string }
  | { name: string; dir: true };

/** A tar+gzip of exactly these entries (names written as given: absolute, `..`, links), as hostile tools could. */
export function tarGz(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = 'data' in e ? Buffer.from(e.data) : Buffer.alloc(0);
    const name = Buffer.from(e.name);
    if (name.length > 100) {
      // GNU long name: an 'L' entry carrying the name.
      blocks.push(...tarHeaderAndData('././@LongLink', 'L', Buffer.concat([name, Buffer.from([0])]), ''));
    }
    const type = 'symlink' in e ? '2' : 'hardlink' in e ? '1' : 'dir' in e ? '5' : '0';
    const link = 'symlink' in e ? e.symlink : 'hardlink' in e ? e.hardlink : '';
    blocks.push(...tarHeaderAndData(e.name.slice(0, 100), type, data, link));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

function tarHeaderAndData(name: string, type: string, data: Buffer, link: string): Buffer[] {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write(type === '5' ? '0000755\0' : '0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(link, 157, 100);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return [h, data, pad];
}

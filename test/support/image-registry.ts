// (Image updates, issue 28.) A real container registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, anonymous,
// behind htpasswd (Basic), or behind a token service (Bearer JWTs this file signs); images pushed through its HTTP API.
//
// Usage:
//   const reg = await startRegistry({ auth: 'htpasswd' });   // or 'token', or none
//   const digest = await reg.push('team/web', '1.0.0');       // a small image: config blob, one layer, manifest
//   reg.host  // 127.0.0.1:<port>;  reg.username / reg.password;  reg.dockerConfigJson()
//   await reg.close();
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createSign, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run } from './git-server.ts';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const HTPASSWD_BINARY = '/usr/bin/htpasswd';

export type RegistryAuth = 'htpasswd' | 'token';

export interface TestRegistry {
  host: string;
  /** image name of `repo` on this registry: 127.0.0.1:<port>/<repo> */
  image(repo: string): string;
  username: string;
  password: string;
  /** The .dockerconfigjson of a Secret with these credentials (or `password` overridden). */
  dockerConfigJson(password?: string): string;
  /** Pushes a small image as `repo:tag`; returns its manifest digest. */
  push(repo: string, tag: string): Promise<string>;
  /** Requests the token service answered (auth: 'token'). */
  tokenRequests(): number;
  close(): Promise<void>;
}

export async function startRegistry(options: { auth?: RegistryAuth } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'converge-registry-'));
  const username = 'ci';
  const password = randomBytes(9).toString('base64url');
  const children: ChildProcess[] = [];
  let tokenServer: Server | undefined;
  let tokenCount = 0;
  const service = 'converge-test-registry';
  let signingKey = '';
  let certDer = '';
  let authLines: string[] = [];

  if (options.auth === 'htpasswd') {
    // distribution accepts bcrypt entries only.
    await run(HTPASSWD_BINARY, ['-Bbc', join(dir, 'htpasswd'), username, password]);
    authLines = ['auth:', '  htpasswd:', '    realm: converge-test', `    path: ${join(dir, 'htpasswd')}`];
  } else if (options.auth === 'token') {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=converge-test-token',
      '-keyout',
      join(dir, 'token.key'),
      '-out',
      join(dir, 'token.crt'),
    ]);
    signingKey = await readFile(join(dir, 'token.key'), 'utf8');
    certDer = (await readFile(join(dir, 'token.crt'), 'utf8')).replace(/-----[^-]+-----|\s/g, '');
    const tokenPort = await listen((tokenServer = createServer()));
    tokenServer.on('request', (req, res) => {
      tokenCount++;
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      const access = url.searchParams.getAll('scope').map((scope) => {
        const [type, name, actions] = scope.split(':');
        return { type, name, actions: (actions ?? '').split(',').filter(Boolean) };
      });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: jwt(signingKey, certDer, service, access), expires_in: 300 }));
    });
    authLines = [
      'auth:',
      '  token:',
      `    realm: http://127.0.0.1:${tokenPort}/token`,
      `    service: ${service}`,
      '    issuer: converge-test-token',
      `    rootcertbundle: ${join(dir, 'token.crt')}`,
    ];
  }

  let port: number;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const config = join(dir, 'config.yml');
    await writeFile(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'data')}`,
        '  delete:',
        '    enabled: true',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        ...authLines,
        '',
      ].join('\n'),
    );
    const child = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let log = '';
    child.stderr.on('data', (c: Buffer) => (log = (log + c.toString('utf8')).slice(-4000)));
    const up = await waitUntilServing(port, child);
    if (up) break;
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error(`docker-registry did not start: ${log}`);
  }
  const onExit = () => children.forEach((c) => c.kill('SIGKILL'));
  process.on('exit', onExit);

  const host = `127.0.0.1:${port}`;
  const base = `http://${host}`;
  /** Authorization for a push or pull of `repo`. */
  const authorization = async (repo: string): Promise<Record<string, string>> => {
    if (options.auth === 'htpasswd')
      return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
    if (options.auth === 'token')
      return {
        authorization: `Bearer ${jwt(signingKey, certDer, service, [{ type: 'repository', name: repo, actions: ['pull', 'push'] }])}`,
      };
    return {};
  };
  const upload = async (repo: string, data: Buffer): Promise<string> => {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const auth = await authorization(repo);
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth });
    if (start.status !== 202)
      throw new Error(`blob upload start: HTTP ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location')!, base);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: data,
    });
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
    return digest;
  };

  return {
    host,
    image: (repo) => `${host}/${repo}`,
    username,
    password,
    dockerConfigJson: (pw = password) =>
      JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${username}:${pw}`).toString('base64') } } }),
    tokenRequests: () => tokenCount,
    async push(repo, tag) {
      // Each image differs (its config names the tag), so each tag has its own digest.
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Labels: { tag } },
          rootfs: { type: 'layers', diff_ids: [] },
        }),
      );
      const layer = randomBytes(64);
      const configDigest = await upload(repo, config);
      const layerDigest = await upload(repo, layer);
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          size: config.length,
          digest: configDigest,
        },
        layers: [
          {
            mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
            size: layer.length,
            digest: layerDigest,
          },
        ],
      });
      const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
        method: 'PUT',
        headers: {
          ...(await authorization(repo)),
          'content-type': 'application/vnd.docker.distribution.manifest.v2+json',
        },
        body: manifest,
      });
      if (res.status !== 201)
        throw new Error(`manifest put ${repo}:${tag}: HTTP ${res.status} ${await res.text()}`);
      return (
        res.headers.get('docker-content-digest') ??
        `sha256:${createHash('sha256').update(manifest).digest('hex')}`
      );
    },
    async close() {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
          const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          await gone;
        }
      }
      process.off('exit', onExit);
      await new Promise<void>((resolve) => (tokenServer ? tokenServer.close(() => resolve()) : resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A registry token (RS256 JWT) whose x5c header names the certificate the registry trusts. */
function jwt(
  key: string,
  certDer: string,
  service: string,
  access: Array<{ type?: string | undefined; name?: string | undefined; actions: string[] }>,
): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = b64({ alg: 'RS256', typ: 'JWT', x5c: [certDer] });
  const claims = b64({
    iss: 'converge-test-token',
    sub: 'ci',
    aud: service,
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(8).toString('hex'),
    access,
  });
  const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key).toString('base64url');
  return `${header}.${claims}.${signature}`;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

/** Polls /v2/ until the registry answers (any HTTP status), or the process exits. */
async function waitUntilServing(port: number, child: ChildProcess): Promise<boolean> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) return false;
    try {
      await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1000) });
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

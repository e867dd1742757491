// Real git servers for tests: bare repositories served over smart HTTP (git http-backend) and SSH (OpenSSH sshd).
//
// Usage:
//   const git = await startGitFixture();                  // temp dir, removed by close()
//   const repo = await git.createRepo('fleet');            // bare repo <root>/repos/fleet.git
//   const c1 = await commitFiles(repo, { 'a.yaml': 'x: 1\n' }, 'first');          // branch main
//   const c2 = await commitFiles(repo, { 'a.yaml': null, 'b.yaml': '...' }, 'rm a', { branch: 'main' });
//   await createTag(repo, 'v1.0.0', c2, { annotated: true });
//   await setBranch(repo, 'main', c1);                     // force-push (history rewrite)
//   await deleteBranch(repo, 'dev');
//   const http = await git.serveHttp({ auth: { username: 'u', password: 'p' } });
//   http.url('fleet')  // http://127.0.0.1:<port>/fleet.git
//   const ssh = await git.serveSsh();
//   ssh.url('fleet'), ssh.identity, ssh.knownHosts          // key-based SSH, strict host keys
//   await git.close();                                      // stops every server, removes the dir
// Every server binds 127.0.0.1 (serveHttp({ host }) another local address, e.g. for a real node's
// pods) on a free port; children are killed on close() and on process exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface GitRepo {
  name: string;
  /** Path of the bare repository. */
  path: string;
  /** file:// URL of the bare repository (for sources created with allowFileUrls). */
  fileUrl: string;
}

export type HttpAuth = { username: string; password: string } | { bearerToken: string };
/** ok: serve git; hang: accept the request and never answer; error: answer 500 to everything. */
export type HttpMode = 'ok' | 'hang' | 'error';

export interface HttpGitServer {
  port: number;
  /** http://<host>:<port>/<name>.git (host 127.0.0.1 unless serveHttp was given one) */
  url(repoName: string): string;
  mode: HttpMode;
  /** Requests received since start (or the last resetCounters()). */
  requests: number;
  /** Bytes read from / written to client sockets, HTTP headers included. */
  bytesIn(): number;
  bytesOut(): number;
  resetCounters(): void;
  close(): Promise<void>;
}

export interface SshGitServer {
  port: number;
  /** User the clients log in as (the user running the tests). */
  user: string;
  /** ssh://<user>@127.0.0.1:<port>/<abs path>/<name>.git */
  url(repoName: string): string;
  /** OpenSSH private key authorized on this server. */
  identity: string;
  /** A valid private key that is NOT authorized. */
  wrongIdentity: string;
  /** known_hosts line for this server's host key. */
  knownHosts: string;
  /** known_hosts line for the same host:port with a different key (a spoofed or rotated host). */
  wrongKnownHosts: string;
  /** Successful logins so far (sshd's "Accepted publickey" lines): one per SSH connection. */
  logins(): number;
  close(): Promise<void>;
}

export interface GitFixture {
  root: string;
  reposDir: string;
  createRepo(name: string): Promise<GitRepo>;
  serveHttp(options?: { auth?: HttpAuth; mode?: HttpMode; host?: string }): Promise<HttpGitServer>;
  serveSsh(options?: { sshdPath?: string }): Promise<SshGitServer>;
  close(): Promise<void>;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.invalid',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.invalid',
};

function fixtureEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    LC_ALL: 'C',
    ...IDENTITY,
    ...extra,
  };
}

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; input?: string | Buffer; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? fixtureEnv(), stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

const git = (repo: GitRepo, args: string[], input?: string | Buffer) =>
  run('git', ['--git-dir', repo.path, ...args], { input });

/**
 * A file's new content, null to delete it, a symlink, or a gitlink (a submodule entry pointing at a
 * commit of another repository), the last two for hostile-repository tests.
 */
export type FileContent = string | Buffer | null | { symlink: string } | { gitlink: string };

/** The commit a branch points at, or undefined when it does not exist. */
export async function headOf(repo: GitRepo, branch = 'main'): Promise<string | undefined> {
  try {
    return (await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`])).trim();
  } catch {
    return undefined;
  }
}

/**
 * Commits on top of `branch` (default main; created when missing) with the given files set
 * (string) or deleted (null), and moves the branch to it. `parent` overrides the parent: null makes
 * a root commit, which with an existing branch is a history rewrite (a force-push). One git
 * fast-import process, so 10,000 files are as cheap as one. Returns the new commit SHA.
 */
export async function commitFiles(
  repo: GitRepo,
  files: Record<string, FileContent>,
  message: string,
  options: { branch?: string; parent?: string | null } = {},
): Promise<string> {
  const branch = options.branch ?? 'main';
  const parent = options.parent === undefined ? await headOf(repo, branch) : options.parent;
  const chunks: Buffer[] = [];
  const data = (content: string | Buffer) => {
    const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    chunks.push(Buffer.from(`data ${buf.length}\n`), buf, Buffer.from('\n'));
  };
  const now = Math.floor(Date.now() / 1000);
  chunks.push(Buffer.from(`reset refs/heads/${branch}\ncommit refs/heads/${branch}\nmark :1\n`));
  chunks.push(
    Buffer.from(`committer ${IDENTITY.GIT_COMMITTER_NAME} <${IDENTITY.GIT_COMMITTER_EMAIL}> ${now} +0000\n`),
  );
  data(message);
  if (parent) chunks.push(Buffer.from(`from ${parent}\n`));
  for (const [path, content] of Object.entries(files)) {
    if (content === null) chunks.push(Buffer.from(`D ${path}\n`));
    else if (typeof content === 'object' && 'symlink' in content) {
      chunks.push(Buffer.from(`M 120000 inline ${path}\n`));
      data(content.symlink);
    } else if (typeof content === 'object' && 'gitlink' in content) {
      chunks.push(Buffer.from(`M 160000 ${content.gitlink} ${path}\n`));
    } else {
      chunks.push(Buffer.from(`M 100644 inline ${path}\n`));
      data(content);
    }
  }
  const marks = join(repo.path, `fixture-marks-${process.pid}-${Date.now()}`);
  await git(repo, ['fast-import', '--quiet', '--force', `--export-marks=${marks}`], Buffer.concat(chunks));
  const sha = (await readFile(marks, 'utf8')).trim().split(' ')[1];
  await rm(marks, { force: true });
  if (!sha) throw new Error('fast-import did not report the commit');
  return sha;
}

/** Points `branch` at `commit`, creating it or force-moving it (what a force-push does). */
export async function setBranch(repo: GitRepo, branch: string, commit: string): Promise<void> {
  await git(repo, ['update-ref', `refs/heads/${branch}`, commit]);
}

export async function deleteBranch(repo: GitRepo, branch: string): Promise<void> {
  await git(repo, ['update-ref', '-d', `refs/heads/${branch}`]);
}

/** Creates tag `name` at `commit`; annotated tags exercise the peeled (^{}) ls-remote lines. */
export async function createTag(
  repo: GitRepo,
  name: string,
  commit: string,
  options: { annotated?: boolean } = {},
): Promise<void> {
  await git(repo, ['tag', ...(options.annotated ? ['-a', '-m', `release ${name}`] : []), name, commit]);
}

export async function deleteTag(repo: GitRepo, name: string): Promise<void> {
  await git(repo, ['update-ref', '-d', `refs/tags/${name}`]);
}

/** A free TCP port on 127.0.0.1 (there is a small race between closing it and the server binding it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startGitFixture(): Promise<GitFixture> {
  const root = await mkdtemp(join(tmpdir(), 'converge-git-'));
  const reposDir = join(root, 'repos');
  await mkdir(reposDir);
  const children = new Set<ChildProcess>();
  const closers: Array<() => Promise<void>> = [];
  // Last resort if a test run dies without close(): no sshd or http-backend outlives it.
  const onExit = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.on('exit', onExit);

  const fixture: GitFixture = {
    root,
    reposDir,

    async createRepo(name) {
      // One optional owner segment (org/fleet), as Git hosts name repositories.
      if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/.test(name)) throw new Error(`bad repo name ${name}`);
      const path = join(reposDir, `${name}.git`);
      await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', path]);
      return { name, path, fileUrl: `file://${path}` };
    },

    async serveHttp(options = {}) {
      const server = await startHttp(reposDir, children, options.auth, options.mode ?? 'ok', options.host);
      closers.push(server.close);
      return server;
    },

    async serveSsh(options = {}) {
      const server = await startSsh(root, reposDir, children, options.sshdPath ?? '/usr/sbin/sshd');
      closers.push(server.close);
      return server;
    },

    async close() {
      for (const close of closers.splice(0)) await close();
      onExit();
      process.off('exit', onExit);
      await rm(root, { recursive: true, force: true });
    },
  };
  return fixture;
}

async function startHttp(
  reposDir: string,
  children: Set<ChildProcess>,
  auth: HttpAuth | undefined,
  initialMode: HttpMode,
  host = '127.0.0.1',
): Promise<HttpGitServer> {
  const sockets = new Set<Socket>();
  let closedIn = 0;
  let closedOut = 0;
  let baseIn = 0;
  let baseOut = 0;
  const expected =
    auth === undefined
      ? undefined
      : 'bearerToken' in auth
        ? `Bearer ${auth.bearerToken}`
        : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    api.requests++;
    if (api.mode === 'hang') return; // keep the socket open, never answer
    if (api.mode === 'error') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('fixture error mode\n');
      return;
    }
    if (expected !== undefined && req.headers.authorization !== expected) {
      res
        .writeHead(401, {
          'www-authenticate': auth && 'bearerToken' in auth ? 'Bearer' : 'Basic realm="git"',
        })
        .end('unauthorized\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const env: Record<string, string> = {
      ...fixtureEnv(),
      GIT_PROJECT_ROOT: reposDir,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: auth && 'username' in auth ? auth.username : 'anonymous',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;
    const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(cgi);
    cgi.on('close', () => children.delete(cgi));
    cgi.on('error', () => res.destroy());
    cgi.stdin.on('error', () => undefined);
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const crlf = text.indexOf('\r\n\r\n');
      const lf = text.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, end).split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end));
    });
    cgi.stdout.on('end', () => {
      if (!headersDone) res.writeHead(502).end('bad CGI response\n');
      else res.end();
    });
  };

  const server = createHttpServer(handle);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      closedIn += socket.bytesRead;
      closedOut += socket.bytesWritten;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const live = (pick: (s: Socket) => number) => [...sockets].reduce((sum, s) => sum + pick(s), 0);

  const api: HttpGitServer = {
    port,
    mode: initialMode,
    requests: 0,
    url: (name) => `http://${host}:${port}/${name}.git`,
    bytesIn: () => closedIn + live((s) => s.bytesRead) - baseIn,
    bytesOut: () => closedOut + live((s) => s.bytesWritten) - baseOut,
    resetCounters() {
      api.requests = 0;
      baseIn = closedIn + live((s) => s.bytesRead);
      baseOut = closedOut + live((s) => s.bytesWritten);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return api;
}

async function keygen(path: string, comment: string): Promise<{ privateKey: string; publicKey: string }> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return {
    privateKey: await readFile(path, 'utf8'),
    publicKey: (await readFile(`${path}.pub`, 'utf8')).trim(),
  };
}

async function startSsh(
  root: string,
  reposDir: string,
  children: Set<ChildProcess>,
  sshdPath: string,
): Promise<SshGitServer> {
  const dir = await mkdtemp(join(root, 'ssh-'));
  const [host, otherHost, client, wrongClient] = await Promise.all([
    keygen(join(dir, 'host_ed25519'), 'fixture-host'),
    keygen(join(dir, 'other_host_ed25519'), 'fixture-other-host'),
    keygen(join(dir, 'client_ed25519'), 'fixture-client'),
    keygen(join(dir, 'wrong_client_ed25519'), 'fixture-wrong-client'),
  ]);
  await writeFile(join(dir, 'authorized_keys'), `${client.publicKey}\n`, { mode: 0o600 });
  // OpenSSH refuses to start as root without its privilege separation directory.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const user = userInfo().username;

  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    await writeFile(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `AllowUsers ${user}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        // Tests run as root in CI containers; key-only root login is what those need.
        'PermitRootLogin prohibit-password',
        // Lets clients ask for git protocol v2 (needed to fetch a pinned commit by SHA).
        'AcceptEnv GIT_PROTOCOL',
        // sshd runs each command through the user's shell, and bash sources ~/.bashrc when sshd
        // starts it (unless SHLVL says it is nested). A git host never runs a login rc file, and on
        // a machine whose root .bashrc runs `pyenv init` that cost ~100 processes and ~90 ms per
        // session, so the fixture measured the machine rather than the client (issue 17, point 4).
        'SetEnv SHLVL=1',
        'PrintMotd no',
        'X11Forwarding no',
        'AllowTcpForwarding no',
        'LogLevel INFO',
        '',
      ].join('\n'),
    );
    const sshd = spawn(sshdPath, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(sshd);
    let log = '';
    const ready = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s: ${log}`)), 10_000);
      sshd.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (log.includes('Server listening on')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      sshd.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sshd.on('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!ready) {
      children.delete(sshd);
      if (attempt < 3 && /address already in use/i.test(log)) continue;
      throw new Error(`sshd exited at start: ${log}`);
    }
    sshd.on('exit', () => children.delete(sshd));
    const hostKey = host.publicKey.split(' ').slice(0, 2).join(' ');
    const otherKey = otherHost.publicKey.split(' ').slice(0, 2).join(' ');
    return {
      port,
      user,
      url: (name) => `ssh://${user}@127.0.0.1:${port}${join(reposDir, `${name}.git`)}`,
      identity: client.privateKey,
      wrongIdentity: wrongClient.privateKey,
      knownHosts: `[127.0.0.1]:${port} ${hostKey}\n`,
      wrongKnownHosts: `[127.0.0.1]:${port} ${otherKey}\n`,
      logins: () => log.split('\n').filter((l) => l.includes('Accepted publickey')).length,
      close: () =>
        new Promise<void>((resolve) => {
          if (sshd.exitCode !== null || sshd.signalCode !== null) return resolve();
          sshd.once('exit', () => resolve());
          sshd.kill('SIGTERM');
        }),
    };
  }
}

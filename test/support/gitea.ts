// A real Gitea on loopback for pull-request tests: built once by scripts/build-gitea.sh (cached in
// ~/.cache/converge/tools), SQLite, no SSH, webhooks only to loopback; an admin user with a token,
// and helpers for repositories, branches, pull requests, labels, forks, comments and statuses.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

export interface GiteaUser {
  name: string;
  password: string;
  token: string;
}

export interface Gitea {
  url: string;
  admin: GiteaUser;
  /** JSON API call as `user` (default: the admin); throws on a non-2xx answer. */
  api<T = unknown>(method: string, path: string, body?: unknown, user?: GiteaUser): Promise<T>;
  createUser(name: string): Promise<GiteaUser>;
  /** A new repository of `owner` with `files` committed on main; its clone URL (no credentials). */
  createRepo(owner: GiteaUser, name: string, files: Record<string, string>): Promise<string>;
  /** Commits `files` (null deletes) on `branch` (created from `from` when new); returns the commit SHA. */
  commit(
    owner: GiteaUser,
    repo: string,
    branch: string,
    files: Record<string, string | null>,
    opts?: { from?: string; pushAs?: GiteaUser },
  ): Promise<string>;
  close(): Promise<void>;
}

export interface PullRequestInfo {
  number: number;
  head: { sha: string };
  state: string;
  merged: boolean;
}

export interface GiteaComment {
  id: number;
  body: string;
}

export interface GiteaStatus {
  context: string;
  status: string;
  description: string;
}

/** Builds Gitea when missing (minutes, once per machine) and returns its path. */
export async function giteaBinary(): Promise<string> {
  const { stdout } = await run('bash', [join(root, 'scripts', 'build-gitea.sh')], {
    maxBuffer: 16 << 20,
  });
  return stdout.trim().split('\n').pop()!;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export async function startGitea(): Promise<Gitea> {
  const bin = await giteaBinary();
  const dir = mkdtempSync(join(tmpdir(), 'converge-gitea-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, 'app.ini');
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(
    config,
    [
      'APP_NAME = converge-test',
      'RUN_USER = root',
      'RUN_MODE = prod',
      `WORK_PATH = ${dir}`,
      // Gitea refuses root otherwise; tests run as root on CI machines.
      'I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true',
      '[server]',
      'PROTOCOL = http',
      'HTTP_ADDR = 127.0.0.1',
      `HTTP_PORT = ${port}`,
      `ROOT_URL = ${url}/`,
      'DISABLE_SSH = true',
      'OFFLINE_MODE = true',
      `STATIC_ROOT_PATH = ${dirname(bin)}`,
      `APP_DATA_PATH = ${join(dir, 'data')}`,
      'LFS_START_SERVER = false',
      '[database]',
      'DB_TYPE = sqlite3',
      `PATH = ${join(dir, 'gitea.db')}`,
      '[repository]',
      `ROOT = ${join(dir, 'repos')}`,
      'DEFAULT_BRANCH = main',
      '[security]',
      'INSTALL_LOCK = true',
      `SECRET_KEY = ${'s'.repeat(32)}`,
      '[service]',
      'DISABLE_REGISTRATION = true',
      'REQUIRE_SIGNIN_VIEW = false',
      '[webhook]',
      'ALLOWED_HOST_LIST = loopback',
      'DELIVER_TIMEOUT = 5',
      '[mailer]',
      'ENABLED = false',
      '[indexer]',
      'REPO_INDEXER_ENABLED = false',
      '[cron]',
      'ENABLED = false',
      '[log]',
      'MODE = file',
      'LEVEL = Warn',
      `ROOT_PATH = ${join(dir, 'log')}`,
      '[oauth2]',
      'ENABLED = false',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, GITEA_WORK_DIR: dir, HOME: dir, USER: 'root' };
  const gitea = (...args: string[]) => run(bin, [...args, '--config', config], { env, cwd: dir });
  await gitea('migrate');
  const admin: GiteaUser = { name: 'converge', password: 'converge-pass-1234', token: '' };
  await gitea(
    'admin',
    'user',
    'create',
    '--username',
    admin.name,
    '--password',
    admin.password,
    '--email',
    'converge@example.com',
    '--admin',
    '--must-change-password=false',
  );
  const child: ChildProcess = spawn(bin, ['web', '--config', config], { env, cwd: dir, stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/v1/version`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`gitea exited with ${child.exitCode} (logs in ${dir}/log)`);
    if (Date.now() > deadline) throw new Error('gitea did not answer within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const basic = (u: GiteaUser) => `Basic ${Buffer.from(`${u.name}:${u.password}`).toString('base64')}`;
  const api = async <T>(
    method: string,
    path: string,
    body?: unknown,
    user: GiteaUser = admin,
  ): Promise<T> => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        Authorization: user.token ? `token ${user.token}` : basic(user),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`gitea ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const tokenFor = async (user: GiteaUser) => {
    const t = await api<{ sha1: string }>(
      'POST',
      `/users/${user.name}/tokens`,
      { name: `t-${Date.now()}`, scopes: ['all'] },
      { ...user, token: '' },
    );
    user.token = t.sha1;
  };
  await tokenFor(admin);

  const work = join(dir, 'work');
  mkdirSync(work);
  let clones = 0;
  const git = (cwd: string, ...args: string[]) =>
    run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd, env });
  const authUrl = (u: GiteaUser, owner: string, repo: string) =>
    `http://${u.name}:${u.token}@127.0.0.1:${port}/${owner}/${repo}.git`;

  const commit: Gitea['commit'] = async (owner, repo, branch, files, opts = {}) => {
    const pusher = opts.pushAs ?? owner;
    const clone = join(work, `c${clones++}`);
    await git(work, 'clone', '-q', authUrl(pusher, owner.name, repo), clone);
    const { stdout: branches } = await git(clone, 'branch', '-r');
    if (branches.includes(`origin/${branch}`)) await git(clone, 'checkout', '-q', branch);
    else await git(clone, 'checkout', '-q', '-b', branch, `origin/${opts.from ?? 'main'}`);
    for (const [path, content] of Object.entries(files)) {
      const file = join(clone, path);
      if (content === null) rmSync(file, { force: true });
      else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
    }
    await git(clone, 'add', '-A');
    await git(clone, 'commit', '-q', '-m', `change ${clones}`);
    await git(clone, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
    const { stdout } = await git(clone, 'rev-parse', 'HEAD');
    rmSync(clone, { recursive: true, force: true });
    return stdout.trim();
  };

  return {
    url,
    admin,
    api,
    async createUser(name) {
      const user: GiteaUser = { name, password: `${name}-pass-1234`, token: '' };
      await api('POST', '/admin/users', {
        username: name,
        password: user.password,
        email: `${name}@example.com`,
        must_change_password: false,
      });
      await tokenFor(user);
      return user;
    },
    async createRepo(owner, name, files) {
      await api('POST', '/user/repos', { name, default_branch: 'main', auto_init: false }, owner);
      const clone = join(work, `init-${name}-${clones++}`);
      mkdirSync(clone);
      await git(clone, 'init', '-q', '-b', 'main');
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(clone, path)), { recursive: true });
        writeFileSync(join(clone, path), content);
      }
      await git(clone, 'add', '-A');
      await git(clone, 'commit', '-q', '-m', 'initial');
      await git(clone, 'push', '-q', authUrl(owner, owner.name, name), 'HEAD:refs/heads/main');
      rmSync(clone, { recursive: true, force: true });
      return `${url}/${owner.name}/${name}.git`;
    },
    commit,
    async close() {
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The source stage against a real smart-HTTP git server (git http-backend): refs, moves, rewrites, auth, failures.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { createGitSource, credentialsFromSecret, type GitSource } from '../../../../src/source/git/index.ts';
import {
  commitFiles,
  createTag,
  deleteBranch,
  freePort,
  setBranch,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
} from '../../../support/git-server.ts';
import { captureLog, type CapturedLog } from '../../../support/git-log.ts';

const PASSWORD = 'pw-Sup3r-s3cret-4f9a';
const TOKEN = 'tok-8c1e0d7b6a5f4e3d2c1b';
const basic = credentialsFromSecret({ username: 'fleet-bot', password: PASSWORD }, 'git-auth');
const bearer = credentialsFromSecret({ bearerToken: TOKEN }, 'git-token');
const T = 15_000;

let fixture: GitFixture;
let server: HttpGitServer;
let tokenServer: HttpGitServer;
let log: CapturedLog;
let source: GitSource;
let tmpDir: string;
const messages: string[] = [];
let repoCount = 0;

async function newRepo(files: Record<string, string> = { 'app.yaml': 'kind: ConfigMap\n' }) {
  const repo = await fixture.createRepo(`r${++repoCount}`);
  const first = await commitFiles(repo, files, 'first');
  return { repo, first, url: server.url(repo.name) };
}

/** Runs `fn`, expects a ConvergeError with `reason`, and keeps its message for the secret grep. */
async function expectFailure(promise: Promise<unknown>, reason: string): Promise<ConvergeError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConvergeError);
    const e = err as ConvergeError;
    messages.push(e.message);
    expect(e.reason, e.message).toBe(reason);
    return e;
  }
  throw new Error(`expected ${reason}, but it succeeded`);
}

const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
const listFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();

beforeAll(async () => {
  fixture = await startGitFixture();
  server = await fixture.serveHttp({ auth: { username: 'fleet-bot', password: PASSWORD } });
  tokenServer = await fixture.serveHttp({ auth: { bearerToken: TOKEN } });
  log = captureLog('debug');
  tmpDir = await mkdtemp(join(fixture.root, 'tmp-'));
  source = createGitSource({ workDir: join(fixture.root, 'work'), logger: log.logger, tmpDir });
});

afterAll(async () => {
  await fixture?.close();
});

describe('branches', () => {
  it('clones over HTTP with basic auth, then polls cheaply until the branch moves', async () => {
    const { repo, first, url } = await newRepo({ 'app.yaml': 'v: 1\n', 'dir/keep.yaml': 'k: 1\n' });
    const req = { key: 'branch-moves', url, credentials: basic, timeoutMs: T };

    const a = await source.fetchRevision(req);
    expect(a).toMatchObject({ revision: `main@sha1:${first}`, commit: first, fetched: true });
    expect(listFiles(a.dir)).toEqual(['app.yaml', 'dir/keep.yaml']);

    const before = source.stats();
    const b = await source.fetchRevision(req);
    expect(b).toMatchObject({ commit: first, fetched: false });
    const after = source.stats();
    expect(after.processes - before.processes).toBe(1); // one ls-remote, nothing else
    expect(after.fetches).toBe(before.fetches);

    const second = await commitFiles(repo, { 'app.yaml': 'v: 2\n' }, 'second');
    const c = await source.fetchRevision(req);
    expect(c).toMatchObject({ revision: `main@sha1:${second}`, fetched: true });
    expect(read(c.dir, 'app.yaml')).toBe('v: 2\n');
  });

  it('resolveRevision runs one ls-remote and fetches nothing', async () => {
    const { first, url } = await newRepo();
    const before = source.stats();
    const r = await source.resolveRevision({ key: 'resolve-only', url, credentials: basic, timeoutMs: T });
    expect(r).toEqual({
      revision: `main@sha1:${first}`,
      commit: first,
      fetchRef: 'refs/heads/main',
      name: 'main',
    });
    expect(source.stats().processes - before.processes).toBe(1);
    expect(source.stats().fetches).toBe(before.fetches);
  });

  it('a first fetch of a branch or tag needs no ls-remote, and a missing one is RefNotFound', async () => {
    const { first, url } = await newRepo();
    const before = source.stats();
    const f = await source.fetchRevision({ key: 'direct-first', url, credentials: basic, timeoutMs: T });
    expect(f).toMatchObject({ revision: `main@sha1:${first}`, commit: first, fetched: true });
    expect(source.stats().lsRemotes).toBe(before.lsRemotes);
    const missing = await source
      .fetchRevision({
        key: 'direct-missing',
        url,
        ref: { branch: 'nope' },
        credentials: basic,
        timeoutMs: T,
      })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ reason: 'RefNotFound' });
  });

  it('fetchRevision given a fresh resolveRevision answer asks the remote only once in all', async () => {
    const { first, url } = await newRepo();
    const req = { key: 'resolved-hint', url, credentials: basic, timeoutMs: T };
    const before = source.stats();
    const r = await source.resolveRevision(req);
    const f = await source.fetchRevision(req, r);
    expect(f).toMatchObject({ revision: `main@sha1:${first}`, commit: first, fetched: true });
    expect(source.stats().lsRemotes - before.lsRemotes).toBe(1);
    const again = await source.fetchRevision(req, r);
    expect(again.fetched).toBe(false);
    expect(source.stats().lsRemotes - before.lsRemotes).toBe(1);
  });

  it('removes files deleted upstream and anything written into the checkout', async () => {
    const { repo, url } = await newRepo({ 'a.yaml': 'a\n', 'b.yaml': 'b\n', 'sub/c.yaml': 'c\n' });
    const req = { key: 'deleted-file', url, credentials: basic, timeoutMs: T };
    const a = await source.fetchRevision(req);
    expect(listFiles(a.dir)).toEqual(['a.yaml', 'b.yaml', 'sub/c.yaml']);
    writeFileSync(join(a.dir, 'stray.yaml'), 'left by someone\n');
    writeFileSync(join(a.dir, 'a.yaml'), 'edited by hand\n');

    await commitFiles(repo, { 'b.yaml': null, 'sub/c.yaml': null }, 'remove b and c');
    const b = await source.fetchRevision(req);
    expect(listFiles(b.dir)).toEqual(['a.yaml']);
    expect(read(b.dir, 'a.yaml')).toBe('a\n');
    expect(existsSync(join(b.dir, '.git'))).toBe(false);
  });

  it('follows a force-push that rewrites history', async () => {
    const { repo, url } = await newRepo({ 'old.yaml': 'old\n' });
    await commitFiles(repo, { 'old.yaml': 'old 2\n' }, 'second');
    const req = { key: 'force-push', url, credentials: basic, timeoutMs: T };
    await source.fetchRevision(req);

    const rewritten = await commitFiles(repo, { 'new.yaml': 'new\n' }, 'rewritten root', { parent: null });
    const r = await source.fetchRevision(req);
    expect(r).toMatchObject({ revision: `main@sha1:${rewritten}`, fetched: true });
    expect(listFiles(r.dir)).toEqual(['new.yaml']);
  });

  it('rolls back when the branch is moved back to an older commit', async () => {
    const { repo, first, url } = await newRepo({ 'v.yaml': '1\n' });
    await commitFiles(repo, { 'v.yaml': '2\n' }, 'second');
    const req = { key: 'move-back', url, credentials: basic, timeoutMs: T };
    expect(read((await source.fetchRevision(req)).dir, 'v.yaml')).toBe('2\n');
    await setBranch(repo, 'main', first);
    const r = await source.fetchRevision(req);
    expect(r.commit).toBe(first);
    expect(read(r.dir, 'v.yaml')).toBe('1\n');
  });

  it('follows another branch than main', async () => {
    const { repo, url } = await newRepo();
    const dev = await commitFiles(repo, { 'dev.yaml': 'dev\n' }, 'on dev', { branch: 'dev' });
    const r = await source.fetchRevision({
      key: 'dev',
      url,
      ref: { branch: 'dev' },
      credentials: basic,
      timeoutMs: T,
    });
    expect(r.revision).toBe(`dev@sha1:${dev}`);
    expect(listFiles(r.dir)).toContain('dev.yaml');
  });

  it('reports a deleted branch as RefNotFound', async () => {
    const { repo, url } = await newRepo();
    await commitFiles(repo, { 'x.yaml': 'x\n' }, 'on feature', { branch: 'feature' });
    const req = { key: 'deleted-branch', url, ref: { branch: 'feature' }, credentials: basic, timeoutMs: T };
    await source.fetchRevision(req);
    await deleteBranch(repo, 'feature');
    const e = await expectFailure(source.fetchRevision(req), 'RefNotFound');
    expect(e.message).toContain('"feature"');
  });

  it('serializes concurrent calls on one cache: one fetch, same answer', async () => {
    const { first, url } = await newRepo();
    const req = { key: 'concurrent', url, credentials: basic, timeoutMs: T };
    const before = source.stats().fetches;
    const results = await Promise.all([
      source.fetchRevision(req),
      source.fetchRevision(req),
      source.fetchRevision(req),
    ]);
    expect(results.map((r) => r.commit)).toEqual([first, first, first]);
    expect(results.map((r) => r.fetched)).toEqual([true, false, false]);
    expect(source.stats().fetches - before).toBe(1);
  });

  it('forget deletes the cache', async () => {
    const { url } = await newRepo();
    const r = await source.fetchRevision({ key: 'forget-me', url, credentials: basic, timeoutMs: T });
    expect(existsSync(r.dir)).toBe(true);
    await source.forget('forget-me');
    expect(existsSync(r.dir)).toBe(false);
    const again = await source.fetchRevision({ key: 'forget-me', url, credentials: basic, timeoutMs: T });
    expect(again.fetched).toBe(true);
  });
});

describe('tags, semver and commits', () => {
  let repo: GitRepo;
  let url: string;
  const commits: Record<string, string> = {};

  beforeAll(async () => {
    ({ repo, url } = await newRepo({ 'version.txt': '0\n' }));
    for (const [tag, annotated] of [
      ['1.9.0', false],
      ['v1.10.0', true],
      ['2.0.0-rc.1', true],
      ['latest', false],
    ] as const) {
      const sha = await commitFiles(repo, { 'version.txt': `${tag}\n` }, `release ${tag}`);
      commits[tag] = sha;
      await createTag(repo, tag, sha, { annotated });
    }
    commits.head = await commitFiles(repo, { 'version.txt': 'unreleased\n' }, 'work in progress');
  });

  it('checks out an annotated tag at its commit', async () => {
    const r = await source.fetchRevision({
      key: 'tag',
      url,
      ref: { tag: 'v1.10.0' },
      credentials: basic,
      timeoutMs: T,
    });
    expect(r.revision).toBe(`v1.10.0@sha1:${commits['v1.10.0']}`);
    expect(read(r.dir, 'version.txt')).toBe('v1.10.0\n');
  });

  it('semver picks 1.10.0 over 1.9.0 and skips 2.0.0-rc.1', async () => {
    const r = await source.fetchRevision({
      key: 'semver',
      url,
      ref: { semver: '>=1.0.0' },
      credentials: basic,
      timeoutMs: T,
    });
    expect(r.revision).toBe(`v1.10.0@sha1:${commits['v1.10.0']}`);
    expect(read(r.dir, 'version.txt')).toBe('v1.10.0\n');
  });

  it('semver takes the prerelease when the range asks for it', async () => {
    const ref = { semver: '>=2.0.0-rc.0' };
    const r = await source.fetchRevision({ key: 'semver-rc', url, ref, credentials: basic, timeoutMs: T });
    expect(r.revision).toBe(`2.0.0-rc.1@sha1:${commits['2.0.0-rc.1']}`);
  });

  it('semver follows a newly pushed matching tag', async () => {
    const req = { key: 'semver-new', url, ref: { semver: '~1.9.0' }, credentials: basic, timeoutMs: T };
    expect((await source.fetchRevision(req)).revision).toBe(`1.9.0@sha1:${commits['1.9.0']}`);
    const patch = await commitFiles(repo, { 'version.txt': '1.9.1\n' }, 'patch', { branch: 'release-1.9' });
    await createTag(repo, 'v1.9.1', patch);
    const r = await source.fetchRevision(req);
    expect(r).toMatchObject({ revision: `v1.9.1@sha1:${patch}`, fetched: true });
  });

  it('semver with no matching tag is RefNotFound', async () => {
    const ref = { semver: '>=3.0.0' };
    await expectFailure(
      source.fetchRevision({ key: 'semver-none', url, ref, credentials: basic, timeoutMs: T }),
      'RefNotFound',
    );
  });

  it('a missing tag is RefNotFound', async () => {
    const ref = { tag: 'v9.9.9' };
    await expectFailure(
      source.fetchRevision({ key: 'tag-none', url, ref, credentials: basic, timeoutMs: T }),
      'RefNotFound',
    );
  });

  it('checks out a pinned commit (not a branch tip), detached', async () => {
    const sha = commits['1.9.0'] ?? '';
    const req = { key: 'pinned', url, ref: { commit: sha }, credentials: basic, timeoutMs: T };
    const r = await source.fetchRevision(req);
    expect(r).toMatchObject({ revision: `sha1:${sha}`, commit: sha, fetched: true });
    expect(read(r.dir, 'version.txt')).toBe('1.9.0\n');
    const before = source.stats().processes;
    expect((await source.fetchRevision(req)).fetched).toBe(false);
    expect(source.stats().processes).toBe(before); // a pinned commit needs no git at all once fetched
  });

  it('a pinned commit that is not on the remote is RefNotFound', async () => {
    const ref = { commit: '0123456789abcdef0123456789abcdef01234567' };
    await expectFailure(
      source.fetchRevision({ key: 'pinned-none', url, ref, credentials: basic, timeoutMs: T }),
      'RefNotFound',
    );
  });
});

describe('authentication', () => {
  it('a wrong password is AuthenticationFailed, without the password in the message', async () => {
    const { url } = await newRepo();
    const wrong = credentialsFromSecret({ username: 'fleet-bot', password: `${PASSWORD}-wrong` }, 'git-auth');
    const e = await expectFailure(
      source.fetchRevision({ key: 'wrong-pw', url, credentials: wrong, timeoutMs: T }),
      'AuthenticationFailed',
    );
    expect(e.message).toContain('secret');
    expect(e.message).not.toContain(PASSWORD);
  });

  it('no credentials for a protected repo is AuthenticationFailed', async () => {
    const { url } = await newRepo();
    await expectFailure(source.fetchRevision({ key: 'no-creds', url, timeoutMs: T }), 'AuthenticationFailed');
  });

  it('a bearer token works, a wrong one is AuthenticationFailed', async () => {
    const { first, repo } = await newRepo();
    const url = tokenServer.url(repo.name);
    const r = await source.fetchRevision({ key: 'bearer', url, credentials: bearer, timeoutMs: T });
    expect(r.commit).toBe(first);
    const wrong = credentialsFromSecret({ bearerToken: 'tok-not-the-right-one-123' }, 'git-token');
    await expectFailure(
      source.fetchRevision({ key: 'bearer-bad', url, credentials: wrong, timeoutMs: T }),
      'AuthenticationFailed',
    );
  });

  it('writes no credential into the cached repository config', async () => {
    const { url } = await newRepo();
    await source.fetchRevision({ key: 'config-check', url, credentials: basic, timeoutMs: T });
    const config = readFileSync(join(fixture.root, 'work', 'config-check', 'git', 'config'), 'utf8');
    expect(config).not.toContain(PASSWORD);
    expect(config).not.toMatch(/extraheader|authorization/i);
  });
});

describe('failures', () => {
  it('an unreachable port is FetchFailed', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/nothing.git`;
    const e = await expectFailure(
      source.fetchRevision({ key: 'unreachable', url, timeoutMs: T }),
      'FetchFailed',
    );
    expect(e.message).toMatch(/connect|refused/i);
  });

  it('a server error is FetchFailed', async () => {
    const failing = await fixture.serveHttp({ mode: 'error' });
    await expectFailure(
      source.fetchRevision({ key: 'server-error', url: failing.url('x'), timeoutMs: T }),
      'FetchFailed',
    );
  });

  it('a missing repository is FetchFailed with a hint', async () => {
    const e = await expectFailure(
      source.fetchRevision({
        key: 'no-repo',
        url: server.url('does-not-exist'),
        credentials: basic,
        timeoutMs: T,
      }),
      'FetchFailed',
    );
    expect(e.message).toMatch(/spec\.url/);
  });

  it('a server that accepts and then hangs is cut off by the timeout, leaving no git behind', async () => {
    const hanging = await fixture.serveHttp({ mode: 'hang' });
    const url = hanging.url('hang');
    const started = Date.now();
    const e = await expectFailure(source.fetchRevision({ key: 'hang', url, timeoutMs: 1500 }), 'FetchFailed');
    const elapsed = Date.now() - started;
    // Names the step and says the bound the way the spec writes it.
    expect(e.message).toMatch(
      /^git fetch of http:\/\/127\.0\.0\.1:\d+\/hang\.git timed out after 1\.[45]s and was stopped$/,
    );
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(1500 + 1500);
    expect(hanging.requests).toBeGreaterThan(0); // it really connected and was waiting
    const ps = execFileSync('ps', ['-eo', 'args']).toString();
    expect(ps).not.toContain(`127.0.0.1:${hanging.port}`);
  });

  it('rejects option-injection URLs and refs before any git process runs', async () => {
    const fresh = createGitSource({
      workDir: join(fixture.root, 'work-injection'),
      logger: log.logger,
      tmpDir,
    });
    const cases = [
      { url: '--upload-pack=touch /tmp/converge-pwned' },
      { url: '-uhttp://127.0.0.1/x.git' },
      { url: 'ext::sh -c touch% /tmp/converge-pwned' },
      { url: 'ssh://-oProxyCommand=touch%20/tmp/converge-pwned/x' },
      { url: 'file:///etc' },
      { url: `http://fleet-bot:${PASSWORD}@127.0.0.1/x.git` },
      { url: server.url('x'), ref: { branch: '--upload-pack=touch /tmp/converge-pwned' } },
      { url: server.url('x'), ref: { tag: '-v1' } },
      { url: server.url('x'), ref: { branch: 'main\nInjected: header' } },
      { url: server.url('x'), ref: { commit: '--all' } },
      { url: server.url('x'), ref: { semver: '$(touch /tmp/converge-pwned)' } },
    ];
    for (const c of cases) {
      await expectFailure(fresh.fetchRevision({ key: 'inj', timeoutMs: T, ...c }), 'InvalidSpec');
      await expectFailure(fresh.resolveRevision({ key: 'inj', timeoutMs: T, ...c }), 'InvalidSpec');
    }
    expect(fresh.stats().processes).toBe(0);
    expect(existsSync('/tmp/converge-pwned')).toBe(false);
  });

  it('a hostile repository: symlinks become plain files, submodules stay empty', async () => {
    const { repo, url } = await newRepo();
    const other = await fixture.createRepo(`sub${++repoCount}`);
    const subCommit = await commitFiles(other, { 'secret.yaml': 'from submodule\n' }, 'sub');
    await commitFiles(
      repo,
      {
        'token.yaml': { symlink: '/etc/passwd' },
        '.gitmodules': `[submodule "vendor"]\n\tpath = vendor\n\turl = ${server.url(other.name)}\n`,
        vendor: { gitlink: subCommit },
        '.gitattributes': '* filter=lfs diff=lfs merge=lfs -text\n',
      },
      'hostile',
    );
    const r = await source.fetchRevision({ key: 'hostile', url, credentials: basic, timeoutMs: T });
    expect(lstatSync(join(r.dir, 'token.yaml')).isSymbolicLink()).toBe(false);
    expect(read(r.dir, 'token.yaml')).toBe('/etc/passwd');
    expect(readdirSync(join(r.dir, 'vendor'))).toEqual([]);
    expect(read(r.dir, 'app.yaml')).toBe('kind: ConfigMap\n');
  });

  it('recovers after a failed fetch: the next call fetches afresh', async () => {
    const { repo, url } = await newRepo();
    const req = { key: 'recover', url, credentials: basic, timeoutMs: T };
    await source.fetchRevision(req);
    const next = await commitFiles(repo, { 'n.yaml': 'n\n' }, 'next');
    server.mode = 'error';
    try {
      await expectFailure(source.fetchRevision(req), 'FetchFailed');
    } finally {
      server.mode = 'ok';
    }
    const r = await source.fetchRevision(req);
    expect(r).toMatchObject({ commit: next, fetched: true });
  });
});

describe('file:// URLs', () => {
  it('are fetched only by a source created with allowFileUrls', async () => {
    const { repo, first } = await newRepo();
    const dev = createGitSource({
      workDir: join(fixture.root, 'work-file'),
      logger: log.logger,
      allowFileUrls: true,
    });
    const r = await dev.fetchRevision({ key: 'file', url: repo.fileUrl, timeoutMs: T });
    expect(r).toMatchObject({ revision: `main@sha1:${first}`, fetched: true });
    await expectFailure(
      source.fetchRevision({ key: 'file', url: repo.fileUrl, timeoutMs: T }),
      'InvalidSpec',
    );
  });
});

describe('no secret leaks', () => {
  it('nothing logged and no error message contains a secret, and no temp files remain', () => {
    const everything = log.text() + messages.join('\n');
    expect(log.lines.length).toBeGreaterThan(20);
    expect(messages.length).toBeGreaterThan(10);
    const encoded = Buffer.from(`fleet-bot:${PASSWORD}`).toString('base64');
    for (const secret of [PASSWORD, TOKEN, encoded, 'tok-not-the-right-one-123']) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toMatch(/authorization/i);
    expect(readdirSync(tmpDir)).toEqual([]);
  });
});

// A git cache fetches each new commit one deep on top of the last: the objects only older commits
// used stay behind until the cache is collected (issue 17, point 5). A cache an earlier run of the
// operator left is fetched on top of, not thrown away.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKeyOf, createGitSource, type GitRequest } from '../../../../src/source/git/index.ts';
import { commitFiles, startGitFixture, type GitFixture, type GitRepo } from '../../../support/git-server.ts';

const run = promisify(execFile);
const MiB = 1 << 20;
let fixture: GitFixture;
let repo: GitRepo;

beforeAll(async () => {
  fixture = await startGitFixture();
  repo = await fixture.createRepo('collect');
});

afterAll(async () => {
  await fixture?.close();
});

/** One GitSource's view of `repo`'s main branch, with its cache under a work dir of its own. */
function cacheOf(target: GitRepo, work: string) {
  const workDir = join(fixture.root, work);
  const key = cacheKeyOf({ namespace: 'team', url: target.fileUrl, ref: { branch: 'main' } });
  const req: GitRequest = {
    key,
    owner: 'uid-a',
    url: target.fileUrl,
    ref: { branch: 'main' },
    timeoutMs: 30_000,
  };
  /** A new process of the operator, as far as the source stage goes. */
  const start = () => createGitSource({ workDir, logger: pino({ level: 'silent' }), allowFileUrls: true });
  return { workDir, key, gitDir: join(workDir, key, 'git'), req, start };
}

/** A commit whose big.bin is 2 MiB of fresh random bytes (nothing compresses or deltas away). */
const commitBig = (label: string) =>
  commitFiles(repo, { 'big.bin': randomBytes(2 * MiB), 'app.yaml': `label: ${label}\n` }, label);

const blobOf = async (commit: string) =>
  (await run('git', ['--git-dir', repo.path, 'rev-parse', `${commit}:big.bin`])).stdout.trim();

const repositoryBytes = async (gitDir: string) =>
  Number((await run('du', ['-sk', gitDir])).stdout.split('\t')[0]) * 1024;

/** Whether the cache's repository still holds `sha`. */
const holds = (gitDir: string, sha: string) =>
  run('git', ['--git-dir', gitDir, 'cat-file', '-e', sha]).then(
    () => true,
    () => false,
  );

describe('git cache collection', () => {
  it('gc-s a cache once commits it no longer checks out make up half of it, and keeps fetching after', async () => {
    const { key, gitDir, req, start } = cacheOf(repo, 'work-collect');
    const source = start();
    const fetchHead = async () => {
      const fetched = await source.fetchRevision(req, await source.resolveRevision(req));
      fetched.release();
      return fetched;
    };

    const a = await commitBig('a');
    expect((await fetchHead()).commit).toBe(a);
    const first = (await source.diskUsage()).get(key)!; // the baseline: one 2 MiB blob
    expect(first).toBeGreaterThan(2 * MiB);

    // One commit on: old and new blob (~4 MiB) is under twice the baseline plus 1 MiB.
    const b = await commitBig('b');
    expect((await fetchHead()).commit).toBe(b);
    await source.diskUsage();
    expect(source.stats().collections).toBe(0);
    expect(await holds(gitDir, await blobOf(a))).toBe(true);

    // Two on (~6 MiB): collected; only the checked-out commit's objects stay.
    const c = await commitBig('c');
    expect((await fetchHead()).commit).toBe(c);
    await source.diskUsage();
    await expect.poll(() => source.stats().collections, { timeout: 20_000 }).toBe(1);
    // The repository is back to one blob (the checkout of c holds another 2 MiB beside it).
    await expect.poll(() => repositoryBytes(gitDir), { timeout: 20_000 }).toBeLessThan(3 * MiB);
    expect(await holds(gitDir, await blobOf(a))).toBe(false);
    expect(await holds(gitDir, await blobOf(b))).toBe(false);
    expect(await holds(gitDir, await blobOf(c))).toBe(true);

    // The collected cache still fetches the next commit on top of what it has.
    const d = await commitBig('d');
    const fetched = await source.fetchRevision(req, await source.resolveRevision(req));
    expect(fetched.commit).toBe(d);
    expect(readFileSync(join(fetched.dir, 'app.yaml'), 'utf8')).toBe('label: d\n');
    fetched.release();
    expect(source.stats().collections).toBe(1);
    await source.forget('uid-a');
  }, 60_000);
});

describe('a git cache an earlier run of the operator left', () => {
  it('is fetched on top of after a restart, without the locks a crash left behind', async () => {
    const restartRepo = await fixture.createRepo('restart');
    await commitFiles(restartRepo, { 'big.bin': randomBytes(2 * MiB), 'app.yaml': 'v: 1\n' }, 'one');
    const { workDir, key, gitDir, req, start } = cacheOf(restartRepo, 'work-restart');
    const first = start();
    (await first.fetchRevision(req)).release();
    const bigBlob = (
      await run('git', ['--git-dir', restartRepo.path, 'rev-parse', 'main:big.bin'])
    ).stdout.trim();
    const blobFile = join(gitDir, 'objects', bigBlob.slice(0, 2), bigBlob.slice(2));
    const inode = statSync(blobFile).ino;

    // The process dies mid-fetch: locks, a temporary pack and a half-made checkout stay behind.
    writeFileSync(join(gitDir, 'refs', 'converge', 'target.lock'), '');
    writeFileSync(join(gitDir, 'shallow.lock'), '');
    writeFileSync(join(gitDir, 'objects', 'pack', 'tmp_pack_x1y2z3'), 'PACK');
    mkdirSync(join(workDir, key, 'trees', 'half-made'), { recursive: true });
    const next = await commitFiles(restartRepo, { 'app.yaml': 'v: 2\n' }, 'two');

    const second = start();
    const fetched = await second.fetchRevision(req);
    expect(fetched.commit).toBe(next);
    expect(readFileSync(join(fetched.dir, 'app.yaml'), 'utf8')).toBe('v: 2\n');
    expect(readFileSync(join(fetched.dir, 'big.bin')).length).toBe(2 * MiB);
    fetched.release();
    expect(second.stats().reused).toBe(1);
    // The 2 MiB blob was not fetched again: it is the very file the first run wrote.
    expect(statSync(blobFile).ino).toBe(inode);
    expect(existsSync(join(gitDir, 'shallow.lock'))).toBe(false);
    expect(existsSync(join(gitDir, 'objects', 'pack', 'tmp_pack_x1y2z3'))).toBe(false);
    expect(readdirSync(join(workDir, key, 'trees'))).toEqual([next]);
    await second.forget('uid-a');
  }, 60_000);

  it('is fetched afresh, in the same call, when it cannot be used', async () => {
    const brokenRepo = await fixture.createRepo('broken');
    await commitFiles(brokenRepo, { 'app.yaml': 'v: 1\n' }, 'one');
    const { gitDir, req, start } = cacheOf(brokenRepo, 'work-broken');
    const first = start();
    const one = await first.fetchRevision(req);
    one.release();
    // Every object the first run fetched is cut short (a disk that filled up, say).
    for (const dir of readdirSync(join(gitDir, 'objects')).filter((d) => /^[0-9a-f]{2}$/.test(d)))
      for (const file of readdirSync(join(gitDir, 'objects', dir)))
        writeFileSync(join(gitDir, 'objects', dir, file), 'x');
    const second = start();
    const again = await second.fetchRevision(req);
    expect(again.commit).toBe(one.commit);
    expect(readFileSync(join(again.dir, 'app.yaml'), 'utf8')).toBe('v: 1\n');
    again.release();
    expect(second.stats()).toMatchObject({ reused: 1, fetches: 2 });
    await second.forget('uid-a');
  }, 60_000);
});

describe('git cache disk use', () => {
  it('walks only the caches that changed since it was last measured', async () => {
    const sizeRepo = await fixture.createRepo('sizes');
    await commitFiles(sizeRepo, { 'app.yaml': 'v: 1\n' }, 'one');
    const { key, gitDir, req, start } = cacheOf(sizeRepo, 'work-sizes');
    const source = start();
    (await source.fetchRevision(req)).release();
    const first = (await source.diskUsage()).get(key)!;
    // Bytes that no operation of the source wrote are not seen until the cache changes again.
    writeFileSync(join(gitDir, 'padding'), randomBytes(MiB));
    expect((await source.diskUsage()).get(key)).toBe(first);
    await commitFiles(sizeRepo, { 'app.yaml': 'v: 2\n' }, 'two');
    (await source.fetchRevision(req, await source.resolveRevision(req))).release();
    expect((await source.diskUsage()).get(key)).toBeGreaterThan(first + MiB);
    await source.forget('uid-a');
  }, 60_000);
});

// GitSources of one repository, ref and Secret share one cache: one ls-remote per poll, one fetch
// per commit, a checkout per commit that lives while someone renders from it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKeyOf, createGitSource, type GitRequest } from '../../../../src/source/git/index.ts';
import { commitFiles, startGitFixture, type GitFixture, type GitRepo } from '../../../support/git-server.ts';

let fixture: GitFixture;
let repo: GitRepo;
let n = 0;

beforeAll(async () => {
  fixture = await startGitFixture();
  repo = await fixture.createRepo('monorepo');
  await commitFiles(repo, { 'apps/a/cm.yaml': 'a: 1\n', 'apps/b/cm.yaml': 'b: 1\n' }, 'first');
});

afterAll(async () => {
  await fixture?.close();
});

function setup() {
  const workDir = join(fixture.root, `work-shared-${++n}`);
  const source = createGitSource({ workDir, logger: pino({ level: 'silent' }), allowFileUrls: true });
  const key = cacheKeyOf({ namespace: 'team', url: repo.fileUrl, ref: { branch: 'main' } });
  const req = (owner: string, extra: Partial<GitRequest> = {}): GitRequest => ({
    key,
    owner,
    url: repo.fileUrl,
    ref: { branch: 'main' },
    timeoutMs: 15_000,
    ...extra,
  });
  return { workDir, source, key, req };
}

describe('shared git cache', () => {
  it('fetches a commit once for every GitSource of the cache and hands each the same checkout', async () => {
    const { source, req } = setup();
    const a = await source.fetchRevision(req('uid-a'));
    const b = await source.fetchRevision(req('uid-b'));
    const c = await source.fetchRevision(req('uid-c'), await source.resolveRevision(req('uid-c')));
    expect(a.fetched).toBe(true);
    expect([b.fetched, c.fetched]).toEqual([false, false]);
    expect(new Set([a.dir, b.dir, c.dir]).size).toBe(1);
    expect(existsSync(join(a.dir, 'apps/b/cm.yaml'))).toBe(true);
    expect(source.stats().fetches).toBe(1);
  });

  it('answers polls within maxAgeMs from one ls-remote, and joins concurrent ones', async () => {
    const { source, req } = setup();
    await source.resolveRevision(req('uid-a'));
    const before = source.stats().lsRemotes;
    for (const owner of ['uid-b', 'uid-c', 'uid-d'])
      await source.resolveRevision(req(owner, { maxAgeMs: 60_000 }));
    expect(source.stats().lsRemotes).toBe(before);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => source.resolveRevision(req(`uid-${i}`, { maxAgeMs: 0 }))),
    );
    expect(source.stats().lsRemotes).toBe(before + 1);
    // A push announced for the cache (webhook): the next poll asks the remote whatever its maxAgeMs.
    source.expire('uid-a');
    await source.resolveRevision(req('uid-b', { maxAgeMs: 60_000 }));
    expect(source.stats().lsRemotes).toBe(before + 2);
  });

  it('tells listeners when the ref of a cache moved, so the other GitSources can be woken', async () => {
    const { source, req, key } = setup();
    const moved: [string, string, string | undefined][] = [];
    source.onMoved((k, revision, by) => moved.push([k, revision, by]));
    await source.fetchRevision(req('uid-a'));
    await source.resolveRevision(req('uid-a'));
    expect(moved).toEqual([]);
    const next = await commitFiles(repo, { 'apps/a/cm.yaml': 'a: 2\n' }, 'change a');
    await source.resolveRevision(req('uid-b'));
    // The owner whose poll saw it is named: it takes the commit up itself and is not woken.
    expect(moved).toEqual([[key, `main@sha1:${next}`, 'uid-b']]);
  });

  it('keeps an older checkout while a GitSource still renders from it, and removes it after', async () => {
    const { source, req } = setup();
    const old = await source.fetchRevision(req('uid-slow'));
    await commitFiles(repo, { 'apps/b/cm.yaml': 'b: 2\n' }, 'change b');
    const fresh = await source.fetchRevision(req('uid-fast'), await source.resolveRevision(req('uid-fast')));
    expect(fresh.commit).not.toBe(old.commit);
    expect(existsSync(join(old.dir, 'apps/b/cm.yaml'))).toBe(true);
    fresh.release();
    expect(existsSync(fresh.dir)).toBe(true);
    old.release();
    old.release(); // idempotent
    await expect.poll(() => existsSync(old.dir)).toBe(false);
    expect(readdirSync(join(fresh.dir, '..'))).toEqual([fresh.commit]);
  });

  it('deletes the cache only when its last GitSource is forgotten, and reports its disk use', async () => {
    const { source, req, key, workDir } = setup();
    await source.fetchRevision(req('uid-a'));
    await source.fetchRevision(req('uid-b'));
    const usage = await source.diskUsage();
    expect(usage.get(key)).toBeGreaterThan(0);
    await source.forget('uid-a');
    expect(readdirSync(workDir)).toEqual([key]);
    await source.forget('uid-b');
    expect(readdirSync(workDir)).toEqual([]);
    expect((await source.diskUsage()).size).toBe(0);
  });

  it('moves a GitSource whose URL or ref changed to its new cache, dropping the old one if unused', async () => {
    const { source, req, key, workDir } = setup();
    await source.fetchRevision(req('uid-a'));
    const other = cacheKeyOf({
      namespace: 'team',
      url: repo.fileUrl,
      ref: { branch: 'main' },
      secretName: 's',
    });
    await source.fetchRevision(req('uid-a', { key: other }));
    expect(readdirSync(workDir)).toEqual([other]);
    expect(key).not.toBe(other);
  });
});

describe('timeouts of a shared cache', () => {
  it("a GitSource queued behind another's fetch, or joining its ls-remote, keeps its own timeout", async () => {
    const fixture2 = await startGitFixture();
    try {
      const slowRepo = await fixture2.createRepo('slow');
      await commitFiles(slowRepo, { 'a.yaml': 'a: 1\n' }, 'one');
      const http = await fixture2.serveHttp({ mode: 'hang' });
      const source = createGitSource({
        workDir: join(fixture2.root, 'work'),
        logger: pino({ level: 'silent' }),
      });
      const key = cacheKeyOf({ namespace: 'team', url: http.url('slow') });
      const base = { key, url: http.url('slow'), ref: { branch: 'main' } };
      // The first caller waits up to 4 s on a server that hangs; the second may wait 500 ms.
      const slow = source
        .fetchRevision({ ...base, owner: 'uid-slow', timeoutMs: 4_000 })
        .catch((e: Error) => e);
      const started = performance.now();
      const quick = await source
        .fetchRevision({ ...base, owner: 'uid-quick', timeoutMs: 500 })
        .catch((e: Error) => e);
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(String(quick)).toMatch(
        /timed out after .* waiting for another GitSource's call to the same repository/,
      );
      const lsSlow = source
        .resolveRevision({ ...base, owner: 'uid-a', timeoutMs: 4_000 })
        .catch((e: Error) => e);
      const lsQuick = await source
        .resolveRevision({ ...base, owner: 'uid-b', timeoutMs: 500 })
        .catch((e: Error) => e);
      expect(String(lsQuick)).toMatch(/git ls-remote .* timed out/);
      // The slow callers end at their own timeouts (git killed), before the fixture goes.
      expect(String(await slow)).toMatch(/timed out/);
      expect(String(await lsSlow)).toMatch(/timed out/);
      await http.close();
    } finally {
      await fixture2.close();
    }
  }, 60_000);
});

describe('cacheKeyOf', () => {
  const url = 'https://git.example.com/org/fleet.git';
  it('shares anonymous caches across namespaces, and Secret-backed ones only within one Secret', () => {
    expect(cacheKeyOf({ namespace: 'a', url })).toBe(cacheKeyOf({ namespace: 'b', url }));
    expect(cacheKeyOf({ namespace: 'a', url, secretName: 'git' })).not.toBe(
      cacheKeyOf({ namespace: 'b', url, secretName: 'git' }),
    );
    expect(cacheKeyOf({ namespace: 'a', url, secretName: 'git' })).not.toBe(
      cacheKeyOf({ namespace: 'a', url, secretName: 'other' }),
    );
    expect(cacheKeyOf({ namespace: 'a', url, secretName: 'git' })).not.toBe(
      cacheKeyOf({ namespace: 'a', url }),
    );
  });

  it('separates refs and URLs, and ignores the order of ref fields', () => {
    expect(cacheKeyOf({ namespace: 'a', url, ref: { branch: 'main' } })).not.toBe(
      cacheKeyOf({ namespace: 'a', url, ref: { branch: 'dev' } }),
    );
    expect(cacheKeyOf({ namespace: 'a', url, ref: { tag: 'v1' } })).not.toBe(
      cacheKeyOf({ namespace: 'a', url: `${url}/`, ref: { tag: 'v1' } }),
    );
    expect(cacheKeyOf({ namespace: 'a', url, ref: { branch: 'main', commit: 'abc' } })).toBe(
      cacheKeyOf({ namespace: 'a', url, ref: { commit: 'abc', branch: 'main' } }),
    );
  });
});

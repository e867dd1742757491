// Git cache hygiene: caches of GitSources that no longer exist are collected; live ones are kept.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitSource } from '../../../../src/source/git/index.ts';
import { commitFiles, startGitFixture, type GitFixture, type GitRepo } from '../../../support/git-server.ts';

let fixture: GitFixture;
let repo: GitRepo;

beforeAll(async () => {
  fixture = await startGitFixture();
  repo = await fixture.createRepo('fleet');
  await commitFiles(repo, { 'app.yaml': 'v: 1\n' }, 'first');
});

afterAll(async () => {
  await fixture?.close();
});

describe('git cache', () => {
  it('retainOnly removes the caches of keys that are gone and keeps the others', async () => {
    const workDir = join(fixture.root, 'work-retain');
    const source = createGitSource({ workDir, logger: pino({ level: 'silent' }), allowFileUrls: true });
    for (const key of ['uid-live', 'uid-deleted-1', 'uid-deleted-2'])
      await source.fetchRevision({ key, url: repo.fileUrl, timeoutMs: 15_000 });
    expect(readdirSync(workDir).sort()).toEqual(['uid-deleted-1', 'uid-deleted-2', 'uid-live']);

    const removed = await source.retainOnly(['uid-live', 'uid-never-fetched']);
    expect(removed.sort()).toEqual(['uid-deleted-1', 'uid-deleted-2']);
    expect(readdirSync(workDir)).toEqual(['uid-live']);
    // The kept cache still serves an unchanged poll without a fetch.
    const again = await source.fetchRevision({ key: 'uid-live', url: repo.fileUrl, timeoutMs: 15_000 });
    expect(again.fetched).toBe(false);
    expect(existsSync(join(again.dir, 'app.yaml'))).toBe(true);
  });

  it('retainOnly on a work dir that does not exist yet removes nothing', async () => {
    const source = createGitSource({
      workDir: join(fixture.root, 'nothing-here'),
      logger: pino({ level: 'silent' }),
    });
    expect(await source.retainOnly([])).toEqual([]);
  });
});

// Benchmark: time and disk for fetching a 10,000-file repository, then a small change, then an unchanged poll.
// Run: npx tsx bench/git-large-fetch.ts [files=10000]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { createGitSource } from '../src/source/git/index.ts';
import { commitFiles, startGitFixture } from '../test/support/git-server.ts';

const FILES = Number(process.argv[2] ?? 10_000);
const du = (path: string) => Number(execFileSync('du', ['-sk', path]).toString().split('\t')[0]) / 1024;

const fixture = await startGitFixture();
try {
  const repo = await fixture.createRepo('big');
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) {
    files[`team-${i % 100}/app-${i}/deployment.yaml`] =
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${i}\n  labels: { team: team-${i % 100} }\n` +
      `spec:\n  replicas: ${1 + (i % 3)}\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/app-${i}:1.${i}\n`;
  }
  let t0 = performance.now();
  await commitFiles(repo, files, 'ten thousand files');
  // An older history the shallow fetch must not download.
  for (let round = 0; round < 5; round++) {
    const change: Record<string, string> = {};
    for (let i = 0; i < FILES; i += 7)
      change[`team-${i % 100}/app-${i}/deployment.yaml`] =
        `# round ${round}\n${files[`team-${i % 100}/app-${i}/deployment.yaml`]}`;
    await commitFiles(repo, change, `round ${round}`);
  }
  console.log(
    `repo prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${FILES} files, 6 commits; bare repo ${du(repo.path).toFixed(1)} MB`,
  );

  const http = await fixture.serveHttp();
  const workDir = join(fixture.root, 'work');
  const source = createGitSource({ workDir, logger: pino({ level: 'silent' }) });
  const req = { key: 'big', url: http.url('big'), timeoutMs: 120_000 };

  t0 = performance.now();
  const first = await source.fetchRevision(req);
  const coldMs = performance.now() - t0;
  console.log(
    `cold fetch+checkout: ${(coldMs / 1000).toFixed(2)} s, ${(http.bytesOut() / 1024 / 1024).toFixed(2)} MB sent by server`,
  );
  console.log(
    `  disk: git dir ${du(join(workDir, 'big', 'git')).toFixed(1)} MB, checkout ${du(first.dir).toFixed(1)} MB`,
  );
  console.log(
    `  files in checkout: ${execFileSync('find', [first.dir, '-type', 'f']).toString().trim().split('\n').length}`,
  );

  const change: Record<string, string | null> = {};
  for (let i = 0; i < 10; i++)
    change[`team-${i}/app-${i}/deployment.yaml`] =
      `# changed\n${files[`team-${i}/app-${i}/deployment.yaml`]}`;
  change['team-99/app-99/deployment.yaml'] = null;
  await commitFiles(repo, change, 'small change');
  http.resetCounters();
  t0 = performance.now();
  await source.fetchRevision(req);
  console.log(
    `incremental fetch (10 files changed, 1 deleted): ${((performance.now() - t0) / 1000).toFixed(2)} s, ` +
      `${(http.bytesOut() / 1024).toFixed(1)} KB sent by server`,
  );
  console.log(`  disk after: git dir ${du(join(workDir, 'big', 'git')).toFixed(1)} MB`);

  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    t0 = performance.now();
    await source.fetchRevision(req);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`unchanged poll on the big repo: median ${times[10]?.toFixed(1)} ms`);
} finally {
  await fixture.close();
}

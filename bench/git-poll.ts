// Benchmark: the cost of an unchanged poll (one ls-remote) over loopback HTTP, and whether memory stays flat.
// Run: node --expose-gc --import tsx bench/git-poll.ts [polls=1000]   (gc before each memory sample)
// The git server runs in this process too, so RSS covers client and server.
import { join } from 'node:path';
import { pino } from 'pino';
import { createGitSource, credentialsFromSecret } from '../src/source/git/index.ts';
import { commitFiles, createTag, startGitFixture } from '../test/support/git-server.ts';

const POLLS = Number(process.argv[2] ?? 1000);
const SSH_POLLS = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const fixture = await startGitFixture();
try {
  const repo = await fixture.createRepo('fleet');
  const files: Record<string, string> = {};
  for (let i = 0; i < 50; i++)
    files[`apps/app-${i}.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app-${i} }\n`;
  await commitFiles(repo, files, 'fleet');
  // 20 other branches (listed by the poll: ls-remote --heads) and 200 tags (not transferred).
  for (let i = 0; i < 20; i++)
    await commitFiles(repo, { 'x.yaml': `${i}\n` }, `b${i}`, { branch: `feature-${i}` });
  const head = await commitFiles(repo, files, 'fleet again');
  for (let i = 0; i < 200; i++) await createTag(repo, `v1.0.${i}`, head, { annotated: i % 2 === 0 });

  const http = await fixture.serveHttp({ auth: { username: 'bench', password: 'bench-password' } });
  const source = createGitSource({ workDir: join(fixture.root, 'work'), logger: pino({ level: 'silent' }) });
  const credentials = credentialsFromSecret({ username: 'bench', password: 'bench-password' }, 'bench');
  const req = { key: 'bench', url: http.url('fleet'), credentials, timeoutMs: 30_000 };
  const first = await source.fetchRevision(req);
  if (!first.fetched) throw new Error('first fetch did not fetch');

  // Warm-up, then measure.
  for (let i = 0; i < 20; i++) await source.fetchRevision(req);
  http.resetCounters();
  const statsBefore = source.stats();
  const times: number[] = [];
  const rss: Array<[number, number, number]> = [];
  for (let i = 1; i <= POLLS; i++) {
    const t0 = performance.now();
    const r = await source.fetchRevision(req);
    times.push(performance.now() - t0);
    if (r.fetched) throw new Error(`poll ${i} fetched`);
    if (i % 100 === 0) {
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      rss.push([i, m.rss, m.heapUsed]);
    }
  }
  const statsAfter = source.stats();
  const sorted = [...times].sort((a, b) => a - b);
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.log(`HTTP unchanged polls: ${POLLS}`);
  console.log(
    `  ms/poll: median ${percentile(sorted, 50).toFixed(1)}, p95 ${percentile(sorted, 95).toFixed(1)}, ` +
      `p99 ${percentile(sorted, 99).toFixed(1)}, max ${sorted.at(-1)?.toFixed(1)}`,
  );
  console.log(`  git processes/poll: ${((statsAfter.processes - statsBefore.processes) / POLLS).toFixed(2)}`);
  console.log(`  fetches during polls: ${statsAfter.fetches - statsBefore.fetches}`);
  console.log(`  HTTP requests/poll: ${(http.requests / POLLS).toFixed(2)}`);
  console.log(
    `  bytes/poll: ${(http.bytesIn() / POLLS).toFixed(0)} in (client->server), ` +
      `${(http.bytesOut() / POLLS).toFixed(0)} out (server->client)`,
  );
  console.log(`  RSS MB every 100 polls: ${rss.map(([i, b]) => `${i}:${mb(b)}`).join(' ')}`);
  console.log(`  heap used MB every 100 polls: ${rss.map(([i, , h]) => `${i}:${mb(h)}`).join(' ')}`);

  const ssh = await fixture.serveSsh();
  const sshCredentials = credentialsFromSecret(
    { identity: ssh.identity, known_hosts: ssh.knownHosts },
    'bench',
  );
  // The same unchanged poll with a fresh SSH connection per call (the baseline) and with one reused
  // connection (ControlMaster, the default), alternated so both see the same machine load.
  const variants = [
    { name: 'reused connection', persist: 300 },
    { name: 'new connection per poll', persist: 0 },
  ].map((v) => ({
    ...v,
    source: createGitSource({
      workDir: join(fixture.root, `work-ssh-${v.persist}`),
      logger: pino({ level: 'silent' }),
      sshPersistSeconds: v.persist,
    }),
    times: [] as number[],
    logins: 0,
  }));
  for (const v of variants)
    await v.source.fetchRevision({
      key: 'bench-ssh',
      url: ssh.url('fleet'),
      credentials: sshCredentials,
      timeoutMs: 30_000,
    });
  for (let i = 0; i < SSH_POLLS; i++) {
    for (const v of variants) {
      const before = ssh.logins();
      const t0 = performance.now();
      await v.source.fetchRevision({
        key: 'bench-ssh',
        url: ssh.url('fleet'),
        credentials: sshCredentials,
        timeoutMs: 30_000,
      });
      v.times.push(performance.now() - t0);
      v.logins += ssh.logins() - before;
    }
  }
  for (const v of variants) {
    const sorted = v.times.sort((a, b) => a - b);
    console.log(`SSH unchanged polls (${v.name}): ${SSH_POLLS}`);
    console.log(
      `  ms/poll: median ${percentile(sorted, 50).toFixed(1)}, p95 ${percentile(sorted, 95).toFixed(1)}; SSH logins: ${v.logins}`,
    );
    await v.source.close();
  }
} finally {
  await fixture.close();
}

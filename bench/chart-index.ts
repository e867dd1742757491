// Benchmark: a large chart repository index (50 MB, 20,000 entries) read by the chart fetcher, beside
// the raw download-and-parse baseline (what a whole-document YAML parse costs), each in a fresh process.
// Run: node --expose-gc --import tsx bench/chart-index.ts [entries=20000] [targetMB=50]
// Prints: RSS rise (peak VmHWM − RSS before) for download + parse and for the parse alone, what stays
// after a gc, time, and the sharing and polling figures.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createHelmFetcher, scanIndexFile } from '../src/source/helm/index.ts';
import { procMemory } from './support.ts';

const mode = process.argv[2];
const ENTRIES = Number(mode?.startsWith('child-') ? 0 : (process.argv[2] ?? 20_000));
const TARGET_MB = Number(process.argv[3] ?? 50);

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A child's part: measure one way of reading the index served at `url`; prints one JSON line. */
async function child(kind: 'converge' | 'parse' | 'baseline', url: string, chart: string): Promise<void> {
  gc();
  await new Promise((r) => setTimeout(r, 100));
  const before = procMemory(process.pid).rss;
  const started = performance.now();
  let found: number;
  if (kind === 'parse') {
    // The scan alone, of the file as the fetcher keeps it on disk (here: the one the server sends).
    const scan = await scanIndexFile(url, false, new Set([chart]), 'bench index');
    found = scan.charts.get(chart)?.length ?? 0;
  } else if (kind === 'baseline') {
    const yaml = await import('js-yaml');
    const text = await (await fetch(`${url}/index.yaml`)).text();
    const doc = yaml.load(text) as { entries: Record<string, unknown[]> };
    found = doc.entries[chart]?.length ?? 0;
  } else {
    const work = await mkdtemp(join(tmpdir(), 'bench-chart-'));
    const f = createHelmFetcher({ workDir: work, logger: pino({ level: 'silent' }) });
    const r = await f.resolveRevision({
      key: 'bench',
      source: { kind: 'chart', repository: url, name: chart, version: '*' },
      timeoutMs: 120_000,
    });
    found = r.name ? 1 : 0;
    await rm(work, { recursive: true, force: true });
  }
  const ms = performance.now() - started;
  const { peak } = procMemory(process.pid);
  gc();
  const retained = procMemory(process.pid).rss - before;
  console.log(
    JSON.stringify({ kind, riseMiB: peak - before, beforeMiB: before, peakMiB: peak, retained, ms, found }),
  );
}

/** Writes an index like `helm repo index` does: charts × versions entries, padded to about TARGET_MB. */
async function makeIndex(dir: string): Promise<string> {
  const charts = Math.max(1, Math.round(ENTRIES / 20));
  const perEntry = Math.floor((TARGET_MB * 1024 * 1024) / ENTRIES);
  const parts: string[] = ['apiVersion: v1\nentries:\n'];
  for (let c = 0; c < charts; c++) {
    const name = `chart-${String(c).padStart(5, '0')}`;
    parts.push(`  ${name}:\n`);
    for (let v = 0; v < 20; v++) {
      const head =
        `  - apiVersion: v2\n    appVersion: 1.${v}.0\n    created: "2026-01-01T00:00:00Z"\n` +
        `    digest: ${createHash('sha256').update(`${name}${v}`).digest('hex')}\n`;
      const tail = `    name: ${name}\n    urls:\n    - ${name}-1.${v}.0.tgz\n    version: 1.${v}.0\n`;
      const pad = Math.max(0, perEntry - head.length - tail.length - 40);
      parts.push(head, `    description: "${'x'.repeat(pad)}"\n`, tail);
    }
  }
  parts.push('generated: "2026-01-01T00:00:00Z"\n');
  const file = join(dir, 'index.yaml');
  await writeFile(file, parts.join(''));
  return file;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-index-'));
  const file = await makeIndex(dir);
  const size = statSync(file).size;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.url?.endsWith('/index.yaml')) {
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { etag: '"v1"' }).end();
      res.writeHead(200, { etag: '"v1"', 'content-length': size });
      createReadStream(file).pipe(res);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
  console.log(
    `index.yaml: ${(size / 1024 / 1024).toFixed(1)} MB, ${ENTRIES} entries (${ENTRIES / 20} charts × 20 versions); load ${execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ')}`,
  );
  const run = (kind: string, from: string) =>
    new Promise<string>((resolve, reject) => {
      // Each measurement in a fresh process: its RSS before and its peak are its own.
      const child = execFile(process.execPath, [
        '--expose-gc',
        '--import',
        'tsx',
        process.argv[1]!,
        `child-${kind}`,
        from,
        `chart-${String(Math.min(500, Math.round(ENTRIES / 20) - 1)).padStart(5, '0')}`,
      ]);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) =>
        code === 0
          ? resolve(out.trim().split('\n').pop()!)
          : reject(new Error(`${kind} exited ${code}: ${out}`)),
      );
    });
  const labels: Record<string, string> = {
    converge: 'converge download + parse',
    parse: 'converge parse alone',
    baseline: 'baseline download + parse (js-yaml load of the whole index)',
  };
  for (const kind of ['converge', 'parse', 'baseline', 'converge', 'parse']) {
    const r = JSON.parse(await run(kind, kind === 'parse' ? file : url)) as {
      riseMiB: number;
      beforeMiB: number;
      peakMiB: number;
      retained: number;
      ms: number;
      found: number;
    };
    console.log(
      `${labels[kind]}: RSS rise ${r.riseMiB.toFixed(1)} MiB (from ${r.beforeMiB.toFixed(0)} to peak ${r.peakMiB.toFixed(0)} MiB; ${r.retained.toFixed(1)} MiB kept after a gc), ${(r.ms / 1000).toFixed(2)} s, ${r.found} entries of the chart`,
    );
  }

  // Unchanged polls and sharing, in this process: 100 GitSources on the repository.
  const work = await mkdtemp(join(tmpdir(), 'bench-chart-'));
  const f = createHelmFetcher({ workDir: work, logger: pino({ level: 'silent' }) });
  const req = (i: number) => ({
    key: `k${i % 5}`,
    owner: `uid-${i}`,
    maxAgeMs: 60_000,
    source: {
      kind: 'chart' as const,
      repository: url,
      name: `chart-${String(i % 5).padStart(5, '0')}`,
      version: '*',
    },
    timeoutMs: 120_000,
  });
  requests = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 100 }, (_, i) => f.resolveRevision(req(i))));
  console.log(
    `100 GitSources (5 charts) first poll: ${requests} index request(s), ${((performance.now() - t0) / 1000).toFixed(2)} s, stats ${JSON.stringify(f.repositoryStats())}`,
  );
  requests = 0;
  const polls = 200;
  const t1 = performance.now();
  for (let i = 0; i < polls; i++) await f.resolveRevision({ ...req(0), maxAgeMs: 0 });
  console.log(
    `unchanged poll (conditional GET → 304, no parse): ${((performance.now() - t1) / polls).toFixed(2)} ms each; ${requests} requests for ${polls} polls; stats ${JSON.stringify(f.repositoryStats())}`,
  );
  await rm(work, { recursive: true, force: true });
  server.close();
  await rm(dir, { recursive: true, force: true });
}

if (mode?.startsWith('child-'))
  await child(
    mode.slice('child-'.length) as 'converge' | 'parse' | 'baseline',
    process.argv[3]!,
    process.argv[4]!,
  );
else await main();

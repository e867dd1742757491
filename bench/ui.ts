// Benchmark: the status page with 1,000 GitSources in the cache: server render, HTTP transfer
// (plain and gzip) and a full load in headless chromium, plus live row-update latency.
// Run: npx tsx bench/ui.ts [--sources 1000] [--runs 10] [--mode synthetic|real|both]
//   synthetic: the real HTTP server over an in-memory cache of generated GitSources in every state.
//   real: a local control plane with N GitSources (suspend: true) and the real operator process
//         (`converge run --ui-addr`), whose cache fills from its watch; also checks that page views
//         cost no API requests.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import type { GitSource } from '../src/api/index.ts';
import { KubeClient, mapLimit } from '../src/kube/index.ts';
import {
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
  startOperatorProcess,
  type OperatorProcess,
} from '../src/localcluster/index.ts';
import { RecentEvents, startStatusPage } from '../src/ui/index.ts';
import { countStates, overviewRows, namespacesOf } from '../src/ui/model.ts';
import { renderOverview } from '../src/ui/render.ts';
import { launchBrowser } from '../test/support/browser.ts';
import { cond, failingSource, readySource, source } from '../test/unit/ui/fixtures.ts';

const { values } = parseArgs({
  options: {
    sources: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '10' },
    mode: { type: 'string', default: 'both' },
  },
});
const total = Number(values.sources);
const runs = Number(values.runs);
const root = join(import.meta.dirname, '..');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/** N GitSources: ~5% failing, 5% progressing, 5% suspended, the rest ready, over 20 namespaces. */
function syntheticSources(n: number): GitSource[] {
  return Array.from({ length: n }, (_, i) => {
    const ns = `team-${i % 20}`;
    const name = `app-${i}`;
    if (i % 20 === 0)
      return failingSource(
        ns,
        name,
        `git fetch failed: repository 'https://github.com/org/${name}.git/' not found`,
      );
    if (i % 20 === 1)
      return source(ns, name, {
        conditions: [cond('Ready', 'Unknown', 'Progressing', 'Applying 4 objects')],
      });
    if (i % 20 === 2) return source(ns, name, { suspend: true });
    return readySource(ns, name);
  });
}

function httpGet(port: number, path: string, gzip: boolean): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: { host: 'localhost', ...(gzip ? { 'accept-encoding': 'gzip' } : {}) },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ ms: performance.now() - t0, bytes }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface LoadTimes {
  response: number;
  domContentLoaded: number;
  load: number;
}

async function browserLoads(browser: Browser, url: string, n: number): Promise<LoadTimes[]> {
  const out: LoadTimes[] = [];
  for (let i = 0; i < n; i++) {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const t = (await page.evaluate(`(() => {
      const n = performance.getEntriesByType('navigation')[0];
      return { response: n.responseEnd - n.startTime, domContentLoaded: n.domContentLoadedEventEnd - n.startTime,
        load: n.loadEventEnd - n.startTime, rows: document.querySelectorAll('#sources tbody tr').length };
    })()`)) as LoadTimes & { rows: number };
    if (t.rows !== total) throw new Error(`expected ${total} rows, the page has ${t.rows}`);
    out.push(t);
    await page.close();
  }
  return out;
}

function reportLoads(label: string, loads: LoadTimes[]): void {
  console.log(
    `${label}: chromium navigation (median of ${loads.length}): response end ${fmt(median(loads.map((l) => l.response)))}, ` +
      `DOMContentLoaded ${fmt(median(loads.map((l) => l.domContentLoaded)))}, load ${fmt(median(loads.map((l) => l.load)))}`,
  );
}

async function reportHttp(label: string, port: number): Promise<void> {
  for (const gzip of [false, true]) {
    const samples = [];
    await httpGet(port, '/', gzip); // warm-up
    for (let i = 0; i < runs; i++) samples.push(await httpGet(port, '/', gzip));
    console.log(
      `${label}: GET / ${gzip ? 'gzip    ' : 'identity'} (median of ${runs}): ${fmt(median(samples.map((s) => s.ms)))}, ${(samples[0]!.bytes / 1024).toFixed(0)} KiB`,
    );
  }
}

/** Model + HTML for the whole overview, before the browser starts (its start-up would skew it). */
function renderBench(): void {
  const sources = syntheticSources(total);
  const cache = new Map(sources.map((gs) => [`${gs.metadata.namespace}/${gs.metadata.name}`, gs]));
  const label = `synthetic ${total}`;
  const renders: number[] = [];
  // Three warm-up renders (JIT) are not counted.
  for (let i = -3; i < runs; i++) {
    const t0 = performance.now();
    const all = [...cache.values()];
    renderOverview(
      { rows: overviewRows(all, {}), filters: {}, namespaces: namespacesOf(all), counts: countStates(all) },
      { now: new Date(), assetVersion: 'x' },
    );
    if (i >= 0) renders.push(performance.now() - t0);
  }
  console.log(`${label}: render only (model + HTML, median of ${runs}): ${fmt(median(renders))}`);
}

async function synthetic(browser: Browser): Promise<void> {
  const sources = syntheticSources(total);
  const cache = new Map(sources.map((gs) => [`${gs.metadata.namespace}/${gs.metadata.name}`, gs]));
  const listeners = new Set<(key: string) => void>();
  const label = `synthetic ${total}`;

  const page = await startStatusPage({
    addr: '127.0.0.1:0',
    source: {
      gitSources: () => cache.values(),
      gitSource: (k) => cache.get(k),
      onChange: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
    events: new RecentEvents(),
    logger: pino({ level: 'silent' }),
  });
  try {
    const url = `http://localhost:${page.port}/`;
    await reportHttp(label, page.port);
    reportLoads(label, await browserLoads(browser, url, Math.min(runs, 5)));

    // Live: flip one row's state in the cache; time until the open page shows it.
    const tab = await browser.newPage();
    await tab.goto(url);
    for (
      let i = 0;
      i < 200 && (await tab.evaluate(`document.getElementById('conn').dataset.state`)) !== 'on';
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    // In the page, a MutationObserver stamps when the awaited row state appears (same clock as Node's).
    await tab.evaluate(`new MutationObserver(() => {
      const w = window.want;
      if (w && !window.seenAt && document.getElementById('gs:' + w.key)?.dataset.state === w.state) window.seenAt = Date.now();
    }).observe(document.querySelector('#sources tbody'), { childList: true, subtree: true })`);
    const latencies: number[] = [];
    for (let i = 0; i < runs; i++) {
      const gs = sources[3 + i * 20]!; // a ready one
      const { namespace, name } = gs.metadata;
      const key = `${namespace}/${name}`;
      const failing = i % 2 === 0;
      const next = failing ? failingSource(namespace, name, `failure ${i}`) : readySource(namespace, name);
      await tab.evaluate(
        `window.seenAt = 0; window.want = ${JSON.stringify({ key, state: failing ? 'failing' : 'ready' })}`,
      );
      const t0 = Date.now();
      cache.set(key, next);
      for (const l of listeners) l(key);
      // Polled from Node: the page's CSP forbids the eval a string waitForFunction needs.
      let seenAt = 0;
      for (let waited = 0; !seenAt && waited < 10_000; waited += 20) {
        seenAt = (await tab.evaluate('window.seenAt')) as number;
        if (!seenAt) await new Promise((r) => setTimeout(r, 20));
      }
      if (!seenAt) throw new Error(`row ${key} did not change`);
      latencies.push(seenAt - t0);
    }
    console.log(
      `${label}: live row update, cache change → row changed in chromium (median of ${runs}, 150 ms batching included): ${fmt(median(latencies))}`,
    );
    await tab.close();
  } finally {
    await page.close();
  }
}

async function apiRequests(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^converge_api_requests_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1]);
  return sum;
}

async function real(browser: Browser): Promise<void> {
  const label = `real operator ${total}`;
  const bin = await ensureControlPlaneBinaries({ log: (l) => console.error(l) });
  const tools = await resolveClientTools({ searchPath: false });
  const cluster = await startLocalCluster({ binDir: bin, controllerManager: false, log: () => {} });
  let op: OperatorProcess | undefined;
  try {
    const client = await KubeClient.fromFile(cluster.kubeconfigPath, { maxSockets: 16 });
    const run = (...args: string[]) =>
      new Promise<void>((resolve, reject) => {
        const c = spawn(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args], {
          stdio: 'ignore',
        });
        c.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')}: ${code}`)),
        );
      });
    await run('apply', '--server-side', '-f', join(root, 'crds', 'gitsource.yaml'));
    await run('wait', '--for=condition=Established', 'crd/gitsources.gitops.converge.dev');
    const namespaces = Array.from({ length: 20 }, (_, i) => `team-${i}`);
    for (const ns of namespaces)
      await client.request('POST', '/api/v1/namespaces', {
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      });
    const t0 = Date.now();
    await mapLimit(
      Array.from({ length: total }, (_, i) => i),
      16,
      (i) =>
        client.request(
          'POST',
          `/apis/gitops.converge.dev/v1alpha1/namespaces/${namespaces[i % 20]}/gitsources`,
          {
            body: {
              apiVersion: 'gitops.converge.dev/v1alpha1',
              kind: 'GitSource',
              metadata: { name: `app-${i}`, namespace: namespaces[i % 20] },
              spec: { url: `https://github.com/org/app-${i}.git`, suspend: true },
            },
          },
        ),
    );
    console.error(`[bench] ${total} suspended GitSources created in ${Date.now() - t0} ms`);
    client.close();

    op = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath,
      kubectl: tools.kubectl,
      helm: tools.helm,
      logLevel: 'info',
      args: ['--leader-elect=false', '--ui-addr', '127.0.0.1:0'],
    });
    const started = JSON.parse(op.logs.find((l) => l.includes('converge starting'))!) as { uiPort: number };
    const uiPort = started.uiPort;
    const metricsPort = op.metricsPort;
    // Wait until every GitSource is in the cache and marked Suspended (one status write each), then quiet.
    const w0 = Date.now();
    let last = -1;
    for (;;) {
      const body = await (await fetch(`http://localhost:${uiPort}/?status=suspended`)).text();
      const rows = (body.match(/<tr\s+id="gs:/g) ?? []).length;
      const requests = await apiRequests(metricsPort);
      if (rows === total && requests === last) break;
      last = requests;
      if (Date.now() - w0 > 300_000) throw new Error(`only ${rows} of ${total} rows after 300 s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.error(`[bench] operator cache holds ${total} suspended GitSources after ${Date.now() - w0} ms`);

    const before = await apiRequests(metricsPort);
    await reportHttp(label, uiPort);
    reportLoads(label, await browserLoads(browser, `http://localhost:${uiPort}/`, Math.min(runs, 5)));
    for (let i = 0; i < runs; i++) await httpGet(uiPort, `/gitsources/team-${i % 20}/app-${i}`, false);
    const after = await apiRequests(metricsPort);
    console.log(
      `${label}: API requests by the operator during ${2 * runs + Math.min(runs, 5) + runs} page views: ${after - before}`,
    );
  } finally {
    await op?.stop();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} CPUs`,
  );
  if (values.mode !== 'real') renderBench();
  const browser = await launchBrowser();
  try {
    if (values.mode !== 'real') await synthetic(browser);
    if (values.mode !== 'synthetic') await real(browser);
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

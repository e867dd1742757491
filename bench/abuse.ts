// Benchmark: the operator's memory under hostile renders. A burst of GitSources whose repositories
// hold 200,000 empty documents, huge documents, 50 MB files (plain, through kustomize), 10,000
// files, deep YAML and helm charts printing 90 MB or 300,000 documents; each must fail with
// RenderFailed, and the operator's RSS must come back to where it was. --heap-snapshots writes a V8
// heap snapshot of the operator before and after (same inputs) and prints what grew, by constructor.
// Run: npx tsx bench/abuse.ts [--copies 2] [--settle 60] [--rounds 1] [--only helm-90mb-one,…]
//      [--kubeconfig <cluster>] [--env MALLOC_ARENA_MAX=2] [--heap-snapshots]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import {
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
  type LocalCluster,
} from '../src/localcluster/index.ts';
import { commitFiles, startGitFixture } from '../test/support/git-server.ts';
import { heapGrowth, procMemory } from './support.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    // GitSources per hostile input in one burst.
    copies: { type: 'string', default: '2' },
    // Bursts, one after the other (RSS is sampled after each).
    rounds: { type: 'string', default: '1' },
    // Seconds to wait after the burst before sampling RSS again.
    settle: { type: 'string', default: '60' },
    // Use this cluster (e.g. the shared test cluster) instead of starting a fresh one.
    kubeconfig: { type: 'string' },
    // Comma-separated names of hostile inputs to use (default: all).
    only: { type: 'string' },
    // Control run: the same number of GitSources, each failing on a small invalid file, to tell
    // what hostile inputs cost from what any burst of failing GitSources costs.
    control: { type: 'boolean', default: false },
    'node-options': { type: 'string', default: '' },
    // Extra environment for the operator, e.g. --env MALLOC_ARENA_MAX=2 (repeatable).
    env: { type: 'string', multiple: true, default: [] },
    // Heap snapshots before the first and after the last burst, and their difference by constructor.
    'heap-snapshots': { type: 'boolean', default: false },
  },
});
const root = join(import.meta.dirname, '..');
const MiB = 1024 * 1024;

const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  x: "${value}"\n`;

/** Repository contents that must each be refused without the operator keeping their bytes. */
function hostileRepos(): Record<string, Record<string, string>> {
  const fifty = 'x'.repeat(50 * MiB);
  return {
    'empty-docs': { 'docs.yaml': '---\n'.repeat(200_000) },
    'empty-docs-kustomize': {
      'kustomization.yaml': 'resources: [docs.yaml]\n',
      'docs.yaml': `${configMap('one', 'a')}${'---\n'.repeat(200_000)}`,
    },
    'file-50mb': { 'big.yaml': configMap('big', fifty) },
    'kustomize-50mb-resource': {
      'kustomization.yaml': 'resources: [big.yaml]\n',
      'big.yaml': configMap('big', fifty),
    },
    'kustomize-50mb-generator': {
      'kustomization.yaml': 'configMapGenerator:\n- name: big\n  files: [big.txt]\n',
      'big.txt': fifty,
    },
    'helm-90mb-many': {
      'Chart.yaml': 'apiVersion: v2\nname: flood\nversion: 0.1.0\n',
      'templates/flood.yaml':
        '{{- range $i := until 90000 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ $i }}\ndata:\n  x: {{ repeat 960 "x" | quote }}\n{{- end }}\n',
    },
    // Cheapest for helm to print (it parses what it prints; a comment costs it least), so the
    // flood reaches the operator's stream rather than helm's own timeout.
    'helm-90mb-comment': {
      'Chart.yaml': 'apiVersion: v2\nname: flood\nversion: 0.1.0\n',
      'templates/one.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n# {{ repeat ${90 * MiB} "x" }}\n`,
    },
    // Twelve documents just under the 5 MiB per-document limit (60 MiB, under the 64 MiB total),
    // all read and parsed; one invalid file makes the render fail.
    'huge-documents': {
      ...Object.fromEntries(
        Array.from({ length: 12 }, (_, i) => [
          `huge-${i}.yaml`,
          configMap(`huge${i}`, 'x'.repeat(5 * MiB - 200)),
        ]),
      ),
      'zz-invalid.yaml': 'kind: ConfigMap\nmetadata: [\n',
    },
    // 10,000 small files, each read and parsed; the last one is invalid, so the render fails.
    'files-10k': Object.fromEntries(
      Array.from({ length: 10_000 }, (_, i) => [
        `f/${i}.yaml`,
        i === 9_999 ? 'kind: ConfigMap\nmetadata: [\n' : configMap(`f${i}`, String(i)),
      ]),
    ),
    // Nesting far past the parser's depth limit.
    'deep-yaml': { 'deep.yaml': `a: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n` },
    'helm-300k-docs': {
      'Chart.yaml': 'apiVersion: v2\nname: flood\nversion: 0.1.0\n',
      'templates/flood.yaml':
        '{{- range $i := until 300000 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ $i }}\n{{- end }}\n',
    },
    'helm-90mb-one': {
      'Chart.yaml': 'apiVersion: v2\nname: flood\nversion: 0.1.0\n',
      'templates/one.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  x: {{ repeat ${90 * MiB} "x" | quote }}\n`,
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const tools = await resolveClientTools({ searchPath: false });
  let cluster: LocalCluster | undefined;
  let kubeconfig = values.kubeconfig;
  if (!kubeconfig) {
    const bin = await ensureControlPlaneBinaries({ log: (l) => console.error(l) });
    cluster = await startLocalCluster({ binDir: bin, controllerManager: false, log: () => {} });
    kubeconfig = cluster.kubeconfigPath;
  }
  const fixture = await startGitFixture();
  const work = mkdtempSync(join(tmpdir(), 'converge-abuse-'));
  const ns = `abuse-${process.pid}`;
  const kubectl = (...args: string[]) =>
    run(tools.kubectl, ['--kubeconfig', kubeconfig!, ...args], { maxBuffer: 64 << 20 });
  let op: ReturnType<typeof spawn> | undefined;
  try {
    await kubectl('apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds', 'gitsource.yaml'));
    await kubectl('wait', '--for=condition=Established', 'crd/gitsources.gitops.converge.dev');
    await kubectl('create', 'namespace', ns);

    const good = await fixture.createRepo('good');
    await commitFiles(good, { 'app.yaml': configMap('steady', 'ok') }, 'good');
    // Control inputs: as many GitSources, each failing on a small invalid file. One burst of them
    // warms the operator up before the baseline; with --control they are the measured bursts too.
    const only = values.only?.split(',');
    const names = Object.keys(hostileRepos()).filter((name) => !only || only.includes(name));
    const bad = await fixture.createRepo('control');
    await commitFiles(bad, { 'bad.yaml': 'kind: ConfigMap\nmetadata: [\n' }, 'bad');
    const controlRepos = Object.fromEntries(names.map((name) => [`control-${name}`, bad.fileUrl]));
    let repos: Record<string, string> = controlRepos;
    if (!values.control) {
      const hostile = hostileRepos();
      repos = {};
      for (const name of names) {
        const repo = await fixture.createRepo(name);
        await commitFiles(repo, hostile[name]!, name);
        repos[name] = repo.fileUrl;
      }
    }
    console.error(`[abuse] ${Object.keys(repos).length} hostile repositories committed`);

    op = spawn(
      process.execPath,
      [
        ...values['node-options'].split(' ').filter(Boolean),
        // Heap snapshots land in the work directory.
        ...(values['heap-snapshots'] ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${work}`] : []),
        '--import',
        'tsx',
        join(root, 'src', 'main.ts'),
        'run',
        '--allow-file-urls',
        '--kubeconfig',
        kubeconfig,
        '--namespace',
        ns,
        '--leader-elect=false',
        '--metrics-addr',
        '127.0.0.1:0',
        '--health-addr',
        '127.0.0.1:0',
        '--work-dir',
        join(work, 'cache'),
        '--log-format',
        'json',
        '--log-level',
        'info',
        '--kubectl',
        tools.kubectl,
        '--helm',
        tools.helm,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...Object.fromEntries(values.env.map((e) => e.split(/=(.*)/s, 2))) },
      },
    );
    let log = '';
    op.stdout!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-200_000)));
    op.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-200_000)));
    const pid = op.pid!;
    /** V8 heap and external memory as the operator reports them: where the RSS goes. */
    let port: string | undefined;
    const heap = async (): Promise<string> => {
      port ??= /"metricsPort":(\d+)/.exec(log)?.[1];
      if (!port) return 'heap: metrics port not found';
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const gauge = (name: string) =>
        (Number(new RegExp(`^converge_${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / MiB).toFixed(0);
      return `heap used ${gauge('nodejs_heap_size_used_bytes')} MiB of ${gauge('nodejs_heap_size_total_bytes')} MiB, external ${gauge('nodejs_external_memory_bytes')} MiB`;
    };

    const source = (name: string, url: string) =>
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'GitSource',
        metadata: { name, namespace: ns },
        // One attempt in the window: retries would only repeat the same work.
        spec: { url, interval: '30m', retryInterval: '30m', wait: false, targetNamespace: ns },
      });
    const ready = async (): Promise<Map<string, { status: string; reason: string; message: string }>> => {
      const { stdout } = await kubectl('get', 'gitsources', '-n', ns, '-o', 'json');
      const out = new Map<string, { status: string; reason: string; message: string }>();
      type Item = {
        metadata: { name: string };
        status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
      };
      for (const gs of (JSON.parse(stdout) as { items: Item[] }).items) {
        const c = (gs.status?.conditions ?? []).find((x) => x.type === 'Ready');
        if (c && c.reason !== 'Progressing') out.set(gs.metadata.name, c);
      }
      return out;
    };

    writeFileSync(join(work, 'good.json'), source('steady', good.fileUrl));
    await kubectl('apply', '-f', join(work, 'good.json'));
    for (let t = 0; (await ready()).get('steady')?.status !== 'True'; t++) {
      if (t > 600) throw new Error(`steady source not Ready:\n${log.slice(-3000)}`);
      await sleep(100);
    }
    await heap(); // finds the metrics port while the start-up line is still in the log
    const samples = async (n: number) => {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        sum += procMemory(pid).rss;
        await sleep(200);
      }
      return sum / n;
    };
    let peak = 0;
    /** Applies one GitSource per input and copy, waits until each has a Ready verdict, deletes them. */
    const burst = async (label: string, inputs: Record<string, string>) => {
      const names: string[] = [];
      const docs: string[] = [];
      for (const [name, url] of Object.entries(inputs)) {
        for (let c = 0; c < Number(values.copies); c++) {
          names.push(`${name}-${label}-${c}`);
          docs.push(source(`${name}-${label}-${c}`, url));
        }
      }
      writeFileSync(join(work, `burst-${label}.json`), docs.join('\n'));
      const t0 = Date.now();
      await kubectl('apply', '-f', join(work, `burst-${label}.json`));
      let results = new Map<string, { status: string; reason: string; message: string }>();
      let lastPoll = 0;
      for (;;) {
        peak = Math.max(peak, procMemory(pid).rss);
        if (Date.now() - lastPoll > 1000) {
          lastPoll = Date.now();
          results = await ready();
          if (names.every((n) => results.has(n))) break;
          if (Date.now() - t0 > 900_000) throw new Error(`burst did not finish:\n${log.slice(-3000)}`);
        }
        await sleep(50);
      }
      const burstMs = Date.now() - t0;
      peak = Math.max(peak, procMemory(pid).peak);
      await kubectl('delete', 'gitsources', '-n', ns, ...names, '--wait=true');
      return { names, results, burstMs };
    };

    // Warm up with a control burst (code paths of failing reconciles, caches, allocator), then let
    // it settle as long as after a measured burst, and take the baseline.
    await burst('warmup', controlRepos);
    await sleep(Number(values.settle) * 1000);
    const before = await samples(10);
    // Reset the kernel's peak-RSS mark (VmHWM), so the peak below is the bursts' alone.
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // not allowed here: the sampled peak still counts
    }
    peak = before;
    console.error(`[abuse] baseline RSS ${before.toFixed(0)} MiB after a warm-up burst (${await heap()})`);
    /** Has the operator write a heap snapshot (a full GC first) and returns its path. */
    const snapshot = async (): Promise<string> => {
      const known = new Set(readdirSync(work));
      process.kill(pid, 'SIGUSR2');
      for (let t = 0; t < 1200; t++) {
        await sleep(250);
        const file = readdirSync(work).find((f) => f.endsWith('.heapsnapshot') && !known.has(f));
        // The snapshot is written on the main thread: once /metrics answers again, it is complete.
        const answers = await heap().then(
          (h) => !h.startsWith('heap: '),
          () => false,
        );
        if (file && answers) return join(work, file);
      }
      throw new Error('no heap snapshot written');
    };
    const snapshotBefore = values['heap-snapshots'] ? await snapshot() : undefined;

    let after = before;
    for (let round = 1; round <= Number(values.rounds); round++) {
      const { names, results, burstMs } = await burst(String(round), repos);
      await sleep(Number(values.settle) * 1000);
      after = await samples(10);
      console.log(
        `\n## round ${round}: ${names.length} hostile GitSources, all settled in ${(burstMs / 1000).toFixed(1)} s`,
      );
      for (const name of Object.keys(repos)) {
        const r = results.get(`${name}-${round}-0`)!;
        console.log(`${name.padEnd(26)} Ready=${r.status} ${r.reason}: ${r.message.slice(0, 180)}`);
      }
      console.log(
        `RSS before ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, after ${values.settle}s ${after.toFixed(0)} MiB (${after - before >= 0 ? '+' : ''}${(after - before).toFixed(0)} MiB; ${await heap()})`,
      );
    }
    if (snapshotBefore) {
      const snapshotAfter = await snapshot();
      console.log(`\n## heap snapshots (after a full GC): what grew, by constructor`);
      for (const line of heapGrowth(snapshotBefore, snapshotAfter, 15)) console.log(line);
      console.log(`RSS after the snapshots ${procMemory(pid).rss.toFixed(0)} MiB (${await heap()})`);
    }
    const steady = (await ready()).get('steady');
    console.log(`steady source still Ready=${steady?.status}`);
  } finally {
    op?.kill('SIGTERM');
    if (op) await new Promise((r) => op!.once('exit', r));
    await kubectl('delete', 'namespace', ns, '--wait=false').catch(() => {});
    await fixture.close();
    await cluster?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

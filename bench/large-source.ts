// Benchmark: one GitSource with many objects (ConfigMaps and Deployments, half each, spread over
// namespaces; one file per app holding its ConfigMap and Deployment, all under one path of one
// repository served over smart HTTP). Steps, each beside a raw-API baseline from the same run:
//   1. first apply: `kubectl apply` of the GitSource → Ready, against a raw server-side-apply loop
//      of the same objects at the same concurrency (the API's limit);
//   2. a no-op interval pass: the operator's writes and dry-runs during it (both must be 0);
//   3. a one-object change (a commit changing one ConfigMap): time to Ready at the new revision,
//      writes and dry-runs;
//   4. a prune (a commit removing --prune objects, prune: true): time and deletes, against a raw
//      DELETE loop of as many objects;
// and after each step the GitSource's size (`kubectl get -o json`, and the compact JSON etcd
// stores), the operator's peak and current RSS and its CPU seconds. Timings are printed, never
// asserted. Commits are picked up at once through the requested-at annotation (as a push webhook
// would), not after an interval. No controller-manager runs, so Deployments never roll out:
// the GitSource has `wait: false`.
//
// Run:   npx tsx bench/large-source.ts [flags]
//   --objects N       objects in the GitSource, half ConfigMaps, half Deployments (default 10000)
//   --namespaces N    namespaces they are spread over (default 50)
//   --prune N         objects removed by the prune commit (default 1000)
//   --concurrency N   raw loop concurrency; the operator's per-object concurrency is 16 (default 16)
//   --interval D      the GitSource's spec.interval; the no-op step waits for one pass (default 20s)
//   --built           run the compiled operator (npm run build) instead of through tsx
//   --node-options S  node flags for the operator instead of the image's (OPERATOR_NODE_FLAGS), e.g.
//                     --max-old-space-size=128 (a memory limit does this)
//   --log FILE        write the operator's log lines to FILE
// Quick check: npx tsx bench/large-source.ts --objects 1000 --namespaces 10 --prune 100
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { parseDuration, refOf, type GitSource, type KubeObject } from '../src/api/index.ts';
import { KubeClient, mapLimit } from '../src/kube/index.ts';
import {
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
  startOperatorProcess,
  OPERATOR_NODE_FLAGS,
} from '../src/localcluster/index.ts';
import { commitFiles, startGitFixture, type GitRepo } from '../test/support/git-server.ts';
import { apiRequestsByVerb, cpuOf, procMemory } from './support.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '10000' },
    namespaces: { type: 'string', default: '50' },
    prune: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
    interval: { type: 'string', default: '20s' },
    built: { type: 'boolean', default: false },
    'node-options': { type: 'string', default: '' },
    log: { type: 'string' },
  },
});
const total = Number(values.objects);
const apps = Math.floor(total / 2);
const nsCount = Number(values.namespaces);
const pruneApps = Math.floor(Number(values.prune) / 2);
const concurrency = Number(values.concurrency);
const intervalMs = parseDuration(values.interval);
const root = join(import.meta.dirname, '..');
const NAME = 'large';
const SOURCE_NS = 'bench-source';

/** App i: a ConfigMap and a Deployment named app-<i>, in namespace <prefix>-<i mod namespaces>. */
function appObjects(i: number, prefix: string, version = 1): KubeObject[] {
  const name = `app-${i}`;
  const namespace = `${prefix}-${i % nsCount}`;
  const labels = { app: name };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels },
      data: { 'config.yaml': `name: ${name}\nversion: ${version}\n`, index: String(i) },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'app',
                image: `registry.example.com/app:${i}`,
                env: [{ name: 'CONFIG', valueFrom: { configMapKeyRef: { name, key: 'config.yaml' } } }],
                resources: { requests: { cpu: '10m', memory: '32Mi' } },
              },
            ],
          },
        },
      },
    },
  ];
}

const appFile = (i: number, version = 1) =>
  appObjects(i, 'bench', version)
    .map((o) => JSON.stringify(o))
    .join('\n---\n');
const pathOf = (i: number) => `apps/ns-${i % nsCount}/app-${i}.yaml`;

/** The operator's /metrics; retried, as a busy operator may drop a kept-alive connection. */
async function scrape(port: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function reconciles(port: number): Promise<Record<string, number>> {
  const text = await scrape(port);
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^converge_reconcile_total\{result="(\w+)"\} (\d+)/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );

/**
 * Mutating requests the API server saw, split into real writes and dry-runs, by resource, from its
 * own apiserver_request_total. The bench makes no dry-runs, so every dry-run is the operator's.
 */
async function apiServerWrites(rawMetrics: () => Promise<string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await rawMetrics()).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    if (!['APPLY', 'PATCH', 'POST', 'PUT', 'DELETE', 'CREATE', 'UPDATE'].includes(labels.verb ?? ''))
      continue;
    const kind = labels.dry_run ? 'dry-run' : 'write';
    const key = `${kind} ${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

const sum = (r: Record<string, number>, prefix: string) =>
  Object.entries(r)
    .filter(([k]) => k.startsWith(prefix))
    .reduce((a, [, v]) => a + v, 0);

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const bin = await ensureControlPlaneBinaries({ log: (l) => console.error(l) });
  const tools = await resolveClientTools({ searchPath: false });
  const cluster = await startLocalCluster({ binDir: bin, controllerManager: false, nodes: 0, log: () => {} });
  const fixture = await startGitFixture();
  const work = mkdtempSync(join(tmpdir(), 'converge-bench-'));
  const lines: string[] = [];
  const out = (line: string) => {
    lines.push(line);
    console.error(`[bench] ${line}`);
  };
  try {
    const http = await fixture.serveHttp();
    const kubectl = (...args: string[]) =>
      run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args], { maxBuffer: 256 << 20 });
    const client = await KubeClient.fromFile(cluster.kubeconfigPath, { maxSockets: concurrency });
    const rawMetrics = async () => (await kubectl('get', '--raw', '/metrics')).stdout;
    await kubectl('apply', '--server-side', '-f', join(root, 'crds', 'gitsource.yaml'));
    await kubectl('wait', '--for=condition=Established', 'crd/gitsources.gitops.converge.dev');
    const namespaces = [SOURCE_NS];
    for (let n = 0; n < nsCount; n++) namespaces.push(`bench-${n}`, `raw-${n}`);
    await mapLimit(namespaces, 8, (ns) =>
      client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
    );

    const repo: GitRepo = await fixture.createRepo('fleet');
    const files: Record<string, string> = {};
    for (let i = 0; i < apps; i++) files[pathOf(i)] = appFile(i);
    const c1 = await commitFiles(repo, files, `${apps * 2} objects`);
    const revision = (commit: string) => `main@sha1:${commit}`;

    // Raw baseline: the same objects, plain SSA PATCHes at the same concurrency.
    const raw = Array.from({ length: apps }, (_, i) => appObjects(i, 'raw')).flat();
    const r0 = performance.now();
    const rawResults = await mapLimit(raw, concurrency, (o) => client.apply(o));
    const rawMs = performance.now() - r0;
    const rawFailed = rawResults.filter((r) => r.status === 'rejected');
    if (rawFailed.length)
      throw new Error(
        `raw loop: ${rawFailed.length} failed: ${String((rawFailed[0] as PromiseRejectedResult).reason)}`,
      );

    const operator = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath,
      kubectl: tools.kubectl,
      helm: tools.helm,
      built: values.built,
      // Default: the flags the image runs with (OPERATOR_NODE_FLAGS).
      ...(values['node-options'] ? { nodeOptions: values['node-options'].split(' ').filter(Boolean) } : {}),
      logLevel: 'info',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
      args: ['--leader-elect=false'],
      ...(values.log ? { onLine: (line: string) => appendFileSync(values.log!, `${line}\n`) } : {}),
    });
    operator.child.on('exit', (code, signal) => out(`operator exited: code ${code}, signal ${signal}`));
    const pid = operator.child.pid!;
    const { metricsPort } = operator;
    const tail = () => operator.logs.slice(-10).join('\n');
    const gsPath = `/apis/gitops.converge.dev/v1alpha1/namespaces/${SOURCE_NS}/gitsources/${NAME}`;

    const readyAt = async (commit: string, what: string): Promise<GitSource> => {
      const start = Date.now();
      for (;;) {
        const gs = await client.request<GitSource>('GET', gsPath);
        const ready = gs.status?.conditions?.find((c) => c.type === 'Ready');
        if (gs.status?.lastAppliedRevision === revision(commit) && ready?.status === 'True') return gs;
        if (ready?.status === 'False' && ready.reason !== 'Progressing' && Date.now() - start > 5000)
          out(`  (${what}: Ready=False ${ready.reason}: ${ready.message})`);
        if (Date.now() - start > 1_200_000) throw new Error(`${what}: not Ready after 20 min:\n${tail()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const sizes = async (step: string) => {
      const pretty = (await kubectl('get', 'gitsource', '-n', SOURCE_NS, NAME, '-o', 'json')).stdout;
      const compact = JSON.stringify(JSON.parse(pretty));
      const gs = JSON.parse(pretty) as GitSource;
      const objects = gs.status?.summary?.objects ?? 0;
      const inventory = JSON.stringify(gs.status?.inventory ?? {}).length;
      out(
        `GitSource size after ${step}: ${Buffer.byteLength(pretty)} B as \`kubectl get -o json\`, ` +
          `${Buffer.byteLength(compact)} B compact (status.inventory ${inventory} B compact, ` +
          `${objects ? (inventory / objects).toFixed(1) : '-'} B per object; ${objects} objects; ` +
          `status.changes ${gs.status?.changes?.length ?? 0} lines)`,
      );
    };
    const memory = async (step: string) => {
      const m = procMemory(pid);
      const text = await scrape(metricsPort);
      const gauge = (name: string) =>
        (Number(new RegExp(`^converge_${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20).toFixed(0);
      out(
        `operator memory after ${step}: peak RSS ${m.peak.toFixed(0)} MiB, RSS now ${m.rss.toFixed(0)} MiB ` +
          `(heap used ${gauge('nodejs_heap_size_used_bytes')} of ${gauge('nodejs_heap_size_total_bytes')} MiB, ` +
          `external ${gauge('nodejs_external_memory_bytes')} MiB)`,
      );
    };
    const requestNow = async (tag: string) => {
      await kubectl(
        'annotate',
        'gitsource',
        '-n',
        SOURCE_NS,
        NAME,
        `gitops.converge.dev/requested-at=${tag}`,
        '--overwrite',
      );
    };
    const measureStep = async (step: string, fn: () => Promise<void>) => {
      const before = {
        op: await apiRequestsByVerb(metricsPort),
        api: await apiServerWrites(rawMetrics),
        cpu: cpuOf(pid).self,
      };
      const t0 = Date.now();
      await fn();
      const ms = Date.now() - t0;
      const op = diff(await apiRequestsByVerb(metricsPort), before.op);
      const api = diff(await apiServerWrites(rawMetrics), before.api);
      out(
        `${step}: ${(ms / 1000).toFixed(1)} s; operator CPU ${(cpuOf(pid).self - before.cpu).toFixed(1)} s; ` +
          `load ${load()}`,
      );
      // The operator's own counter tells dry-runs apart (dry_run label); the API server's agrees.
      const dryRuns = Object.entries(op)
        .filter(([verb]) => verb.endsWith(' dry-run'))
        .reduce((n, [, c]) => n + c, 0);
      const writes = (op.PATCH ?? 0) + (op.POST ?? 0) + (op.PUT ?? 0) + (op.DELETE ?? 0);
      out(
        `  operator: ${writes} writes, ${dryRuns} dry-runs (the API server counted ${sum(api, 'dry-run')}); requests by verb ${JSON.stringify(op)}`,
      );
      out(
        `  API server saw (the bench's own annotate and the API server's leases and endpoints included): ` +
          JSON.stringify(api),
      );
      return ms;
    };

    // 1. First apply.
    const manifest = join(work, 'gitsource.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'GitSource',
        metadata: { name: NAME, namespace: SOURCE_NS },
        spec: { url: http.url('fleet'), path: 'apps', interval: values.interval, wait: false, prune: true },
      }),
    );
    out(
      `${total} objects (${apps} ConfigMaps + ${apps} Deployments) in ${nsCount} namespaces, one GitSource`,
    );
    out(
      `raw SSA baseline: ${(rawMs / 1000).toFixed(1)} s for ${raw.length} objects at concurrency ${concurrency} (${(raw.length / (rawMs / 1000)).toFixed(0)} obj/s); load ${load()}`,
    );
    const firstMs = await measureStep('first apply (kubectl apply → Ready)', async () => {
      await kubectl('apply', '-f', manifest);
      await readyAt(c1, 'first apply');
    });
    out(
      `  → ${(raw.length / (firstMs / 1000)).toFixed(0)} obj/s, ${((rawMs / firstMs) * 100).toFixed(0)}% of the raw loop's throughput`,
    );
    await sizes('the first apply');
    await memory('the first apply');

    // 2. A no-op interval pass: wait for the next one to finish.
    await measureStep('no-op interval pass', async () => {
      const start = (await reconciles(metricsPort)).noop ?? 0;
      const deadline = Date.now() + intervalMs * 1.2 + 60_000;
      while (((await reconciles(metricsPort)).noop ?? 0) <= start) {
        if (Date.now() > deadline) throw new Error(`no no-op pass within ${values.interval}:\n${tail()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    await sizes('the no-op pass');
    await memory('the no-op pass');

    // 3. One object changes.
    const c2 = await commitFiles(repo, { [pathOf(0)]: appFile(0, 2) }, 'change one ConfigMap');
    await measureStep('one-object change (commit → Ready at the new revision)', async () => {
      await requestNow('change');
      await readyAt(c2, 'one-object change');
    });
    await sizes('the one-object change');
    await memory('the one-object change');

    // 4. A prune of the last apps' objects.
    const removed: Record<string, null> = {};
    for (let i = apps - pruneApps; i < apps; i++) removed[pathOf(i)] = null;
    const c3 = await commitFiles(repo, removed, `remove ${pruneApps * 2} objects`);
    const rawStale = Array.from({ length: pruneApps }, (_, i) =>
      appObjects(apps - pruneApps + i, 'raw'),
    ).flat();
    const d0 = performance.now();
    await mapLimit(rawStale, concurrency, (o) =>
      client.delete(refOf(o), { propagationPolicy: 'Background' }),
    );
    const rawDeleteMs = performance.now() - d0;
    out(
      `raw DELETE baseline: ${(rawDeleteMs / 1000).toFixed(1)} s for ${rawStale.length} objects at concurrency ${concurrency}; load ${load()}`,
    );
    await measureStep(`prune of ${pruneApps * 2} (commit → Ready at the new revision)`, async () => {
      await requestNow('prune');
      const gs = await readyAt(c3, 'prune');
      out(`  summary: ${JSON.stringify(gs.status?.summary)}`);
    });
    await sizes('the prune');
    await memory('the prune');

    // Settled: a few seconds idle, then RSS.
    await new Promise((r) => setTimeout(r, 10_000));
    await memory('10 s idle');
    await operator.stop();
    client.close();
    console.log(
      `\n## bench/large-source.ts --objects ${total} --namespaces ${nsCount} --prune ${pruneApps * 2} (${values.built ? 'compiled' : 'tsx'}${` ${values['node-options'] || OPERATOR_NODE_FLAGS.join(' ')}`}, 2 cores, API server on the same machine)`,
    );
    for (const l of lines) console.log(l);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await fixture.close();
    await cluster.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

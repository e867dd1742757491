// Benchmark: N GitSources (each a ServiceAccount, ConfigMap, Service and Deployment in its own
// repository served over HTTP), from `kubectl apply` to all Ready; then a no-op interval pass.
// Beside it, in the same run, a raw server-side-apply loop of the same objects (the API's limit).
// With --wait the GitSources keep `wait: true` and the cluster runs kube-controller-manager,
// kube-scheduler and kwok fake nodes: Ready then means every Deployment rolled out (pods Ready).
// With --layout monorepo all GitSources read one repository (apps/app-<i>), as a fleet does: they
// share one git cache, and a commit to one app afterwards shows what the others cost (no writes).
// Run: npx tsx bench/gitsources.ts [--counts 100,1000] [--concurrency 16] [--interval 30s] [--wait]
//        [--layout repos|monorepo] [--built] [--observe watch|list] [--server-side]
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { KubeClient, mapLimit } from '../src/kube/index.ts';
import { gitSourceListPath } from '../src/controller/paths.ts';
import type { GitSource } from '../src/api/index.ts';
import {
  canRunPods,
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
  startOperatorProcess,
  OPERATOR_NODE_FLAGS,
} from '../src/localcluster/index.ts';
import { commitFiles, startGitFixture } from '../test/support/git-server.ts';
import type { KubeObject } from '../src/api/index.ts';
import { apiRequestsByVerb, cpuOf, procMemory, sampleMemory } from './support.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    counts: { type: 'string', default: '100,1000' },
    concurrency: { type: 'string', default: '16' },
    interval: { type: 'string', default: '30s' },
    // http (default): each GitSource polls its own repository over smart HTTP, the git server on
    // the same 2 cores; file: the same repositories read from disk, to separate the server's cost.
    transport: { type: 'string', default: 'http' },
    // Run the compiled operator (npm run build) instead of through tsx.
    built: { type: 'boolean', default: false },
    // Extra node flags for the operator, e.g. --max-old-space-size=160 (a container's memory limit does this).
    'node-options': { type: 'string', default: '' },
    // wait: true with real health: pods are scheduled on kwok nodes and must become Ready.
    wait: { type: 'boolean', default: false },
    // repos (default): a repository per GitSource; monorepo: one repository, a path per GitSource.
    layout: { type: 'string', default: 'repos' },
    // kubectl apply --server-side for the GitSources (one request each instead of a GET and a POST).
    'server-side': { type: 'boolean', default: false },
    // How the bench sees GitSources turn Ready: watch (default; one stream of changes) or list
    // (kubectl get every second, as earlier sessions measured: ~1,000 objects parsed per second).
    observe: { type: 'string', default: 'watch' },
    // Write a CPU profile of the API server (pprof, for `go tool pprof`) over the first N seconds
    // after `kubectl apply` starts to <dir>/apiserver-<count>.pprof: --profile-apiserver 50:/tmp/prof
    'profile-apiserver': { type: 'string', default: '' },
    // Extra environment for the operator, e.g. --operator-env MALLOC_ARENA_MAX=2 (repeatable).
    'operator-env': { type: 'string', multiple: true, default: [] },
  },
});
const counts = values.counts.split(',').map(Number);
const monorepo = values.layout === 'monorepo';
if (!['repos', 'monorepo'].includes(values.layout)) throw new Error('--layout is repos or monorepo');
if (!['watch', 'list'].includes(values.observe)) throw new Error('--observe is watch or list');
const concurrency = Number(values.concurrency);
const root = join(import.meta.dirname, '..');

const readyOf = (gs: GitSource) =>
  gs.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * The GitSources as one watch stream sees them: what the bench waits on. Each change arrives once,
 * where a `kubectl get` every second lists and parses the whole fleet again (--observe list).
 */
function watchFleet(kubeconfig: string) {
  const latest = new Map<string, GitSource>();
  const abort = new AbortController();
  let wake: (() => void) | undefined;
  let client: KubeClient | undefined;
  const started = (async () => {
    client = await KubeClient.fromFile(kubeconfig);
    let synced: () => void;
    const first = new Promise<void>((r) => (synced = r));
    void client.watch<GitSource>(gitSourceListPath(), { signal: abort.signal }, (e) => {
      if (e.type === 'SYNCED') synced();
      else if (e.type === 'DELETED') latest.delete(e.object.metadata.uid ?? e.object.metadata.name);
      else latest.set(e.object.metadata.uid ?? e.object.metadata.name, e.object);
      wake?.();
    });
    await first;
  })();
  const count = (test: (gs: GitSource) => boolean) => [...latest.values()].filter(test).length;
  return {
    started,
    count,
    /** Resolves with the count once `n` GitSources pass `test` (checked on each event). */
    async until(test: (gs: GitSource) => boolean, n: number, since: number, tail: () => string) {
      for (;;) {
        const c = count(test);
        if (c >= n) return c;
        if (Date.now() - since > 600_000) throw new Error(`only ${c}/${n} after 10 min:\n${tail()}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1000);
        });
      }
    },
    close() {
      abort.abort();
      client?.close();
    },
  };
}

function appObjects(i: number, ns: string): KubeObject[] {
  const name = `app-${i}`;
  const labels = { app: name };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { index: String(i) } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { clusterIP: 'None', selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { serviceAccountName: name, containers: [{ name: 'app', image: 'nginx:1.27' }] },
        },
      },
    },
  ];
}

async function gitCalls(port: number): Promise<{ lsRemotes: number; fetches: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const count = (op: string) =>
    Number(
      new RegExp(`^converge_git_duration_seconds_count\\{operation="${op}"\\} (\\S+)`, 'm').exec(text)?.[1] ??
        0,
    );
  return { lsRemotes: count('ls-remote'), fetches: count('fetch') };
}
const writes = (m: Record<string, number>) => (m.PATCH ?? 0) + (m.POST ?? 0) + (m.PUT ?? 0) + (m.DELETE ?? 0);

async function main(): Promise<void> {
  const bin = await ensureControlPlaneBinaries({ log: (l) => console.error(l) });
  const tools = await resolveClientTools({ searchPath: false });
  for (const n of counts) {
    if (values.wait && !canRunPods(bin)) throw new Error(`--wait needs kube-scheduler and kwok in ${bin}`);
    const cluster = await startLocalCluster({
      binDir: bin,
      // Deployments only roll out with their controllers and somewhere to run pods.
      controllerManager: values.wait,
      nodes: values.wait ? 3 : 0,
      log: () => {},
    });
    const fixture = await startGitFixture();
    try {
      const http = await fixture.serveHttp();
      const kubectl = (...args: string[]) =>
        run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args], { maxBuffer: 256 << 20 });
      await kubectl('apply', '--server-side', '-f', join(root, 'crds', 'gitsource.yaml'));
      await kubectl('wait', '--for=condition=Established', 'crd/gitsources.gitops.converge.dev');
      const namespaces = Array.from({ length: 10 }, (_, i) => `bench-${i}`);
      const rawNamespaces = namespaces.map((ns) => `raw-${ns}`);
      for (const ns of [...namespaces, ...rawNamespaces]) await kubectl('create', 'namespace', ns);

      const t0 = Date.now();
      const sources: string[] = [];
      const appYaml = (i: number) =>
        appObjects(i, namespaces[i % namespaces.length]!)
          .map((o) => JSON.stringify(o))
          .join('\n---\n');
      const fleet = monorepo ? await fixture.createRepo('fleet') : undefined;
      if (fleet)
        await commitFiles(
          fleet,
          Object.fromEntries(Array.from({ length: n }, (_, i) => [`apps/app-${i}/app.yaml`, appYaml(i)])),
          'fleet',
        );
      for (let i = 0; i < n; i++) {
        const repo = fleet ?? (await fixture.createRepo(`app-${i}`));
        const ns = namespaces[i % namespaces.length]!;
        if (!fleet) await commitFiles(repo, { 'app.yaml': appYaml(i) }, 'app');
        const repoName = fleet ? 'fleet' : `app-${i}`;
        sources.push(
          JSON.stringify({
            apiVersion: 'gitops.converge.dev/v1alpha1',
            kind: 'GitSource',
            metadata: { name: `app-${i}`, namespace: ns },
            spec: {
              url: values.transport === 'file' ? repo.fileUrl : http.url(repoName),
              ...(fleet ? { path: `./apps/app-${i}` } : {}),
              interval: values.interval,
              wait: values.wait,
            },
          }),
        );
      }
      console.error(
        `[bench] ${fleet ? `1 repository with ${n} apps` : `${n} repositories`} created in ${Date.now() - t0} ms`,
      );

      // Raw baseline first: the same objects, plain SSA PATCHes at the same concurrency.
      const client = await KubeClient.fromFile(cluster.kubeconfigPath, { maxSockets: concurrency });
      const raw = Array.from({ length: n }, (_, i) =>
        appObjects(i, rawNamespaces[i % rawNamespaces.length]!),
      ).flat();
      const r0 = performance.now();
      await mapLimit(raw, concurrency, (o) => client.apply(o));
      const rawMs = performance.now() - r0;
      client.close();
      // kubectl's own floor: the same number of small objects (ConfigMaps, no operator running) in one
      // `kubectl apply`; kubectl rate-limits itself on the client side.
      const floorManifest = join(tmpdir(), `converge-bench-floor-${process.pid}.json`);
      writeFileSync(
        floorManifest,
        Array.from({ length: n }, (_, i) =>
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `floor-${i}`, namespace: rawNamespaces[i % rawNamespaces.length] },
            data: { url: http.url(`app-${i}`), interval: values.interval },
          }),
        ).join('\n'),
      );
      const k0 = Date.now();
      await kubectl('apply', ...(values['server-side'] ? ['--server-side'] : []), '-f', floorManifest);
      const kubectlFloorMs = Date.now() - k0;
      rmSync(floorManifest, { force: true });
      const readyPods = async (prefix: string) => {
        const { stdout } = await kubectl(
          'get',
          'pods',
          '-A',
          '-o',
          'jsonpath={range .items[*]}{.metadata.namespace} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        );
        return stdout.split('\n').filter((l) => l.startsWith(prefix) && l.endsWith(' True')).length;
      };
      if (values.wait) {
        // The baseline's Deployments roll out too: let them settle so they do not load the measurement.
        const s0 = Date.now();
        while ((await readyPods('raw-')) < n) {
          if (Date.now() - s0 > 600_000) throw new Error('the baseline pods did not get Ready in 10 min');
          await new Promise((r) => setTimeout(r, 500));
        }
        console.error(`[bench] baseline: ${n} pods Ready ${Date.now() - s0} ms after the raw apply`);
      }

      const operator = await startOperatorProcess({
        kubeconfig: cluster.kubeconfigPath,
        kubectl: tools.kubectl,
        helm: tools.helm,
        built: values.built,
        // Default: the flags the image runs with (OPERATOR_NODE_FLAGS).
        ...(values['node-options'] ? { nodeOptions: values['node-options'].split(' ').filter(Boolean) } : {}),
        logLevel: 'info',
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/root',
          ...Object.fromEntries(
            values['operator-env'].map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]),
          ),
        },
        args: ['--leader-elect=false', '--concurrency', String(concurrency)],
      });
      const op = operator.child;
      const work = mkdtempSync(join(tmpdir(), 'converge-bench-'));
      const { metricsPort } = operator;
      const tail = () => operator.logs.slice(-20).join('\n');

      // The control plane's processes by name (pgrep -f on the cluster directory also matches the
      // operator and kubectl, whose --kubeconfig lives there).
      const pidsNamed = async (name: string) =>
        (await run('pgrep', ['-f', cluster.dir]).catch(() => ({ stdout: '' }))).stdout
          .split('\n')
          .filter(Boolean)
          .map(Number)
          .filter((pid) => {
            try {
              return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
            } catch {
              return false;
            }
          });
      const apiPids = await pidsNamed('kube-apiserver');
      const etcdPids = await pidsNamed('etcd');
      const cpuStart = {
        op: cpuOf(op.pid!),
        me: cpuOf(process.pid),
        api: apiPids.map(cpuOf).reduce((a, c) => a + c.self, 0),
        etcd: etcdPids.map(cpuOf).reduce((a, c) => a + c.self, 0),
      };
      const manifest = join(work, 'gitsources.json');
      writeFileSync(manifest, sources.join('\n'));
      const fleetWatch = watchFleet(cluster.kubeconfigPath);
      await fleetWatch.started;
      let profiled: Promise<void> | undefined;
      if (values['profile-apiserver']) {
        const [seconds, dir] = values['profile-apiserver'].split(':');
        profiled = run(
          tools.kubectl,
          ['--kubeconfig', cluster.kubeconfigPath, 'get', '--raw', `/debug/pprof/profile?seconds=${seconds}`],
          { encoding: 'buffer', maxBuffer: 256 << 20, timeout: (Number(seconds) + 60) * 1000 },
        ).then(({ stdout }) => writeFileSync(join(dir!, `apiserver-${n}.pprof`), stdout));
      }
      const memory = sampleMemory(op.pid!);
      /** Waits until all n GitSources pass: through the watch, or (--observe list) a kubectl column each second. */
      const waitForFleet = async (
        test: (gs: GitSource) => boolean,
        column: string,
        matches: (value: string) => boolean,
        since: number,
      ): Promise<number> => {
        if (values.observe === 'watch') return fleetWatch.until(test, n, since, tail);
        for (;;) {
          const { stdout } = await kubectl(
            'get',
            'gitsources',
            '-A',
            '-o',
            `jsonpath={range .items[*]}{${column}}{"\\n"}{end}`,
          );
          const count = stdout.split('\n').filter(matches).length;
          if (count >= n) return count;
          if (Date.now() - since > 600_000) throw new Error(`only ${count}/${n} after 10 min:\n${tail()}`);
          // Polled each second: listing 1,000 GitSources faster costs the machine measurably.
          await new Promise((r) => setTimeout(r, 1000));
        }
      };
      const a0 = Date.now();
      await kubectl('apply', ...(values['server-side'] ? ['--server-side'] : []), '-f', manifest);
      const appliedMs = Date.now() - a0;
      await waitForFleet(readyOf, '.status.conditions[?(@.type=="Ready")].status', (s) => s === 'True', a0);
      const allReadyMs = Date.now() - a0;
      const podsReady = values.wait ? await readyPods('bench-') : 0;
      // The watch sees the last Ready status before the operator has posted that transition's
      // Events: count requests once they stop moving, so the no-op pass starts from a settled count.
      let afterSync = await apiRequestsByVerb(metricsPort);
      for (let same = 0; same < 2;) {
        await new Promise((r) => setTimeout(r, 300));
        const now = await apiRequestsByVerb(metricsPort);
        same = JSON.stringify(now) === JSON.stringify(afterSync) ? same + 1 : 0;
        afterSync = now;
      }
      const gitToReady = await gitCalls(metricsPort);
      const peakRss = procMemory(op.pid!).peak;
      memory.stop();
      const cpuEnd = {
        op: cpuOf(op.pid!),
        me: cpuOf(process.pid),
        api: apiPids.map(cpuOf).reduce((a, c) => a + c.self, 0),
        etcd: etcdPids.map(cpuOf).reduce((a, c) => a + c.self, 0),
      };
      const cpu = {
        operator: cpuEnd.op.self - cpuStart.op.self,
        gitClients: cpuEnd.op.children - cpuStart.op.children,
        // This process serves git over HTTP (and watches); its children are http-backend, upload-pack and kubectl.
        bench: cpuEnd.me.self - cpuStart.me.self,
        gitServerAndKubectl: cpuEnd.me.children - cpuStart.me.children,
        apiServer: cpuEnd.api - cpuStart.api,
        etcd: cpuEnd.etcd - cpuStart.etcd,
      };

      // A no-op interval pass: wait one interval (+10% jitter + margin) and count writes.
      const intervalMs = Number(values.interval.replace('s', '')) * 1000;
      await new Promise((r) => setTimeout(r, intervalMs * 1.1 + 5000));
      const afterNoop = await apiRequestsByVerb(metricsPort);
      const noopText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const gauge = (name: string) =>
        Number(new RegExp(`^converge_${name} (\\S+)`, 'm').exec(noopText)?.[1] ?? 0) / 2 ** 20;
      const memoryAfter = `heap used ${gauge('nodejs_heap_size_used_bytes').toFixed(0)} MiB of ${gauge('nodejs_heap_size_total_bytes').toFixed(0)} MiB, external ${gauge('nodejs_external_memory_bytes').toFixed(0)} MiB, RSS now ${gauge('process_resident_memory_bytes').toFixed(0)} MiB`;
      const noops = Number(/converge_reconcile_total\{result="noop"\} (\d+)/.exec(noopText)?.[1] ?? 0);
      const gitAfterNoop = await gitCalls(metricsPort);

      // Monorepo: a commit to one app. The first poll to see it wakes the others; only app-0 is written.
      let oneApp = '';
      if (fleet) {
        const before = await apiRequestsByVerb(metricsPort);
        const gitBefore = await gitCalls(metricsPort);
        const c0 = Date.now();
        const next = await commitFiles(
          fleet,
          { 'apps/app-0/app.yaml': appYaml(0).replace('"index":"0"', '"index":"0-changed"') },
          'change app-0',
        );
        await waitForFleet(
          (gs) => gs.status?.lastAppliedRevision?.endsWith(next) ?? false,
          '.status.lastAppliedRevision',
          (r) => r.endsWith(next),
          c0,
        );
        const after = await apiRequestsByVerb(metricsPort);
        const gitAfter = await gitCalls(metricsPort);
        const { stdout: status } = await kubectl(
          'get',
          'gitsources',
          '-A',
          '-o',
          'jsonpath={range .items[*]}{.status.summary.configured}{"\\n"}{end}',
        );
        const configured = status.split('\n').filter((c) => c !== '' && c !== '0').length;
        oneApp = `commit to app-0 → all ${n} at the new revision: ${((Date.now() - c0) / 1000).toFixed(1)} s (within one ${values.interval} poll), GitSources that configured objects: ${configured}, API writes: ${writes(after) - writes(before)} (${n} status patches + app-0's apply), git: ${gitAfter.lsRemotes - gitBefore.lsRemotes} ls-remote, ${gitAfter.fetches - gitBefore.fetches} fetch`;
      }

      await profiled;
      fleetWatch.close();
      await operator.stop();
      rmSync(work, { recursive: true, force: true });

      console.log(
        `\n## ${n} GitSources (${n * 4} objects, ${fleet ? 'one monorepo' : 'a repository each'}), ${values.wait ? `wait: true, pods on kwok nodes (${podsReady} Ready at the end)` : 'wait: false'}, concurrency ${concurrency}, ${values.transport} git, ${values.built ? 'compiled' : 'tsx'} ${values['node-options'] || OPERATOR_NODE_FLAGS.join(' ')}, 2 cores, API server on the same machine, Ready seen by ${values.observe === 'watch' ? 'one watch' : 'kubectl get each second'}`,
      );
      console.log(
        `kubectl apply${values['server-side'] ? ' --server-side' : ''} of ${n} GitSources: ${appliedMs} ms (kubectl's floor: ${kubectlFloorMs} ms for ${n} ConfigMaps with no operator running); last GitSource created → all Ready: ${((allReadyMs - appliedMs) / 1000).toFixed(1)} s`,
      );
      console.log(
        `apply → all Ready:       ${(allReadyMs / 1000).toFixed(1)} s (${(n / (allReadyMs / 1000)).toFixed(1)} GitSources/s)`,
      );
      console.log(
        `raw SSA baseline:        ${(rawMs / 1000).toFixed(1)} s for ${raw.length} objects (${(raw.length / (rawMs / 1000)).toFixed(0)} obj/s) — the API's limit for the objects alone`,
      );
      console.log(
        `operator peak RSS:       ${peakRss.toFixed(0)} MiB (after the no-op pass: ${memoryAfter})`,
      );
      console.log(`highest RSS sample:      ${memory.describe()} (every 250 ms to Ready)`);
      console.log(
        `CPU seconds to Ready:    ${Object.entries(cpu)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ')}`,
      );
      console.log(
        `API requests to Ready:   ${JSON.stringify(afterSync)} (${(Object.values(afterSync).reduce((a, b) => a + b, 0) / n).toFixed(1)} per GitSource)`,
      );
      console.log(`git calls to Ready:      ${gitToReady.lsRemotes} ls-remote, ${gitToReady.fetches} fetch`);
      console.log(
        `no-op pass: ${noops} no-op reconciles, writes during it: ${writes(afterNoop) - writes(afterSync)}, git: ${gitAfterNoop.lsRemotes - gitToReady.lsRemotes} ls-remote, ${gitAfterNoop.fetches - gitToReady.fetches} fetch; requests by verb after: ${JSON.stringify(afterNoop)}`,
      );
      if (oneApp) console.log(oneApp);
    } finally {
      await fixture.close();
      await cluster.stop();
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

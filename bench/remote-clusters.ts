// Benchmark: one operator in a management cluster and 3 remote control planes, N GitSources per
// remote (spec.kubeConfig), from `kubectl apply` to all Ready; peak RSS, TCP connections held per
// API server, a no-op interval pass (writes, dry-runs), and with one remote hung (SIGSTOP) how long
// a commit takes to reach Ready on the others. Beside it, the same 3×N GitSources on one cluster.
// Run: npx tsx bench/remote-clusters.ts [--per-cluster 100] [--concurrency 16] [--interval 30s] [--skip-hung]
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';
import type { GitSource, KubeObject } from '../src/api/index.ts';
import { gitSourceListPath } from '../src/controller/paths.ts';
import { KubeClient } from '../src/kube/index.ts';
import {
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
  startOperatorProcess,
  type LocalCluster,
  type OperatorProcess,
} from '../src/localcluster/index.ts';
import { commitFiles, startGitFixture, type GitRepo } from '../test/support/git-server.ts';
import { apiRequestsByVerb, sampleMemory } from './support.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    'per-cluster': { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '16' },
    interval: { type: 'string', default: '30s' },
    'skip-hung': { type: 'boolean', default: false },
  },
});
const perCluster = Number(values['per-cluster']);
const REMOTES = 3;
const total = perCluster * REMOTES;
const log = (line: string) => console.error(`[bench] ${line}`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const readyAt = (gs: GitSource, commit?: string) =>
  (gs.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false) &&
  (commit === undefined || (gs.status?.lastAppliedRevision ?? '').includes(commit));

/** Every GitSource as one watch sees it. */
async function watchFleet(kubeconfig: string) {
  const latest = new Map<string, GitSource>();
  const abort = new AbortController();
  const client = await KubeClient.fromFile(kubeconfig);
  let synced!: () => void;
  const first = new Promise<void>((r) => (synced = r));
  void client.watch<GitSource>(gitSourceListPath(), { signal: abort.signal }, (e) => {
    if (e.type === 'SYNCED') return synced();
    const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
    if (e.type === 'DELETED') latest.delete(key);
    else latest.set(key, e.object);
  });
  await first;
  return {
    count: (test: (gs: GitSource) => boolean) => [...latest.values()].filter(test).length,
    async until(test: (gs: GitSource) => boolean, n: number, what: string, timeoutMs = 1_200_000) {
      const t0 = Date.now();
      for (;;) {
        const c = [...latest.values()].filter(test).length;
        if (c >= n) return Date.now() - t0;
        if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: only ${c}/${n} after ${secs(timeoutMs)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    close() {
      abort.abort();
      client.close();
    },
  };
}

/** Three small objects per app, without a namespace: each GitSource's targetNamespace places them. */
function appYaml(i: number, rev: number): string {
  const name = `app-${i}`;
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { rev: String(rev) } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { clusterIP: 'None', selector: { app: name }, ports: [{ port: 80 }] },
    },
  ];
  return objects.map((o) => JSON.stringify(o)).join('\n---\n');
}

/**
 * The operator's established TCP connections by remote port, from /proc: its socket inodes matched
 * against /proc/net/tcp (loopback, so every API server is a port of 127.0.0.1).
 */
function connectionsByPort(pid: number): Map<number, number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const out = new Map<number, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // st 01 = ESTABLISHED; field 9 is the inode.
      if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9]!)) continue;
      const port = parseInt(f[2]!.split(':')[1]!, 16);
      out.set(port, (out.get(port) ?? 0) + 1);
    }
  }
  return out;
}

const portOf = (c: LocalCluster) => Number(new URL(c.server).port);
const writes = (m: Record<string, number>) => (m.PATCH ?? 0) + (m.POST ?? 0) + (m.PUT ?? 0) + (m.DELETE ?? 0);
const dryRuns = (m: Record<string, number>) =>
  Object.entries(m)
    .filter(([k]) => k.endsWith('dry-run'))
    .reduce((a, [, v]) => a + v, 0);

async function main(): Promise<void> {
  const bin = await ensureControlPlaneBinaries({ log });
  const tools = await resolveClientTools({ searchPath: false });
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  log(`load average at start: ${load()} (${total} GitSources: ${perCluster} per remote cluster)`);
  const t0 = Date.now();
  // The management cluster needs its controller manager for nothing here: ConfigMaps, Services and
  // ServiceAccounts need no controllers, and no health wait runs (wait: false).
  const clusters = await Promise.all(
    Array.from({ length: REMOTES + 1 }, () => startLocalCluster({ binDir: bin, controllerManager: false })),
  );
  const [mgmt, ...remotes] = clusters as [LocalCluster, ...LocalCluster[]];
  log(`4 control planes up in ${secs(Date.now() - t0)}`);
  const fixture = await startGitFixture();
  const operators: OperatorProcess[] = [];
  try {
    const http = await fixture.serveHttp();
    const kubectl = (cluster: LocalCluster, ...args: string[]) =>
      run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args], { maxBuffer: 256 << 20 });
    await kubectl(mgmt, 'apply', '--server-side', '-f', 'crds/gitsource.yaml', '-f', 'crds/notifier.yaml');
    await kubectl(mgmt, 'wait', '--for=condition=Established', 'crd/gitsources.gitops.converge.dev');
    /** `kubectl apply --server-side -f -` of objects (kubectl reads them from stdin). */
    const applyAll = (cluster: LocalCluster, objects: object[]) =>
      new Promise<void>((resolve, reject) => {
        const child = execFile(
          tools.kubectl,
          ['--kubeconfig', cluster.kubeconfigPath, 'apply', '--server-side', '-f', '-'],
          { maxBuffer: 256 << 20 },
          (err) => (err ? reject(err) : resolve()),
        );
        child.stdin!.end(objects.map((o) => JSON.stringify(o)).join('\n'));
      });
    const namespaces = (list: string[]) =>
      list.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    const appNamespaces = Array.from({ length: 10 }, (_, i) => `apps-${i}`);
    for (const c of remotes) await applyAll(c, namespaces(appNamespaces));
    // The local copies: apps-<c>-<n> in the management cluster, one set per copy.
    for (let c = 0; c < REMOTES; c++)
      await applyAll(mgmt, namespaces(appNamespaces.map((n) => n.replace('apps-', `apps-${c}-`))));

    const repo: GitRepo = await fixture.createRepo('fleet');
    const commitAll = (rev: number) =>
      commitFiles(
        repo,
        Object.fromEntries(
          Array.from({ length: perCluster }, (_, i) => [`apps/app-${i}/app.yaml`, appYaml(i, rev)]),
        ),
        `rev ${rev}`,
      );
    let commit = await commitAll(1);

    // Remote: fleet-<c> holds cluster c's kubeconfig Secret and its N GitSources.
    // Local: the same N GitSources three times, in local-<c>, applied to the management cluster.
    const manifest: object[] = [];
    for (let c = 0; c < REMOTES; c++) {
      for (const [ns, label] of [
        [`fleet-${c}`, 'remote'],
        [`local-${c}`, 'local'],
      ] as const) {
        manifest.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
        if (label === 'remote')
          manifest.push({
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'cluster', namespace: ns },
            stringData: { value: readFileSync(remotes[c]!.kubeconfigPath, 'utf8') },
          });
        for (let i = 0; i < perCluster; i++)
          manifest.push({
            apiVersion: 'gitops.converge.dev/v1alpha1',
            kind: 'GitSource',
            metadata: { name: `app-${i}`, namespace: ns, labels: { bench: label } },
            spec: {
              url: http.url('fleet'),
              path: `./apps/app-${i}`,
              interval: values.interval,
              wait: false,
              // Local copies go to apps-<c>-<n>, so the three sets do not claim each other's objects.
              ...(label === 'remote'
                ? { targetNamespace: `apps-${i % 10}`, kubeConfig: { secretRef: { name: 'cluster' } } }
                : { targetNamespace: `apps-${c}-${i % 10}` }),
            },
          });
      }
    }

    const fleet = await watchFleet(mgmt.kubeconfigPath);
    const results: string[] = [];
    for (const label of ['remote', 'local'] as const) {
      const ours = (gs: GitSource) => gs.metadata.labels?.bench === label;
      const operator = await startOperatorProcess({
        kubeconfig: mgmt.kubeconfigPath,
        kubectl: tools.kubectl,
        helm: tools.helm,
        logLevel: 'info',
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
        args: [
          '--leader-elect=false',
          '--concurrency',
          values.concurrency!,
          '--label-selector',
          `bench=${label}`,
        ],
      });
      operators.push(operator);
      const pid = operator.child.pid!;
      const memory = sampleMemory(pid);
      const loadBefore = load();
      const a0 = Date.now();
      const items = manifest.filter(
        (o) => (o as GitSource).kind !== 'GitSource' || (o as GitSource).metadata.labels?.bench === label,
      );
      await applyAll(mgmt, items);
      const applyMs = await fleet.until((gs) => ours(gs) && readyAt(gs), total, `${label}: all Ready`);
      const allReadyMs = Date.now() - a0;
      memory.stop();
      const conns = connectionsByPort(pid);
      const held =
        label === 'remote'
          ? `management ${conns.get(portOf(mgmt)) ?? 0}, remotes ${remotes.map((r) => conns.get(portOf(r)) ?? 0).join('/')}`
          : `management ${conns.get(portOf(mgmt)) ?? 0}`;
      // A no-op interval pass: every GitSource polls once more; nothing may be written or dry-run.
      const before = await apiRequestsByVerb(operator.metricsPort);
      const intervalMs = Number(values.interval.replace(/s$/, '')) * 1000;
      await new Promise((r) => setTimeout(r, intervalMs * 1.5));
      const after = await apiRequestsByVerb(operator.metricsPort);
      const noop = `writes ${writes(after) - writes(before)}, dry-runs ${dryRuns(after) - dryRuns(before)}, GETs ${(after.GET ?? 0) - (before.GET ?? 0)}`;
      results.push(
        `${label.padEnd(6)} ${total} GitSources: apply → all Ready ${secs(allReadyMs)} (watch saw the last at ${secs(applyMs)}), ` +
          `peak RSS ${memory.describe()}, connections held ${held}, no-op pass (${secs(intervalMs * 1.5)}): ${noop}; load ${loadBefore} → ${load()}`,
      );
      log(results.at(-1)!);

      if (label === 'remote' && !values['skip-hung']) {
        // A commit with every cluster up, then one with the third hung: the others' commit → Ready.
        const remoteOf = (gs: GitSource) => Number(gs.metadata.namespace.split('-')[1]);
        const healthy = (gs: GitSource) => ours(gs) && remoteOf(gs) < REMOTES - 1;
        commit = await commitAll(2);
        const upMs = await fleet.until(
          (gs) => healthy(gs) && readyAt(gs, commit),
          perCluster * (REMOTES - 1),
          'commit with all up',
        );
        remotes[REMOTES - 1]!.apiServer.pause();
        commit = await commitAll(3);
        const hungMs = await fleet.until(
          (gs) => healthy(gs) && readyAt(gs, commit),
          perCluster * (REMOTES - 1),
          'commit with one hung',
        );
        const failedMs = await fleet
          .until(
            (gs) =>
              ours(gs) &&
              remoteOf(gs) === REMOTES - 1 &&
              gs.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'ClusterUnreachable') ===
                true,
            perCluster,
            'the hung cluster’s GitSources ClusterUnreachable',
            300_000,
          )
          .catch(() => -1);
        remotes[REMOTES - 1]!.apiServer.resume();
        const recoverMs = await fleet.until((gs) => ours(gs) && readyAt(gs, commit), total, 'recovery');
        results.push(
          `hung   commit → Ready on the 2 healthy remotes: ${secs(upMs)} with all up, ${secs(hungMs)} with the third hung (SIGSTOP); ` +
            `the hung one's ${perCluster} GitSources ClusterUnreachable ${failedMs < 0 ? 'not all within 300 s' : `after ${secs(failedMs)} more`}; ` +
            `all ${total} at the commit ${secs(recoverMs)} after resume`,
        );
        log(results.at(-1)!);
      }
      await operator.stop();
      operators.pop();
    }
    fleet.close();
    console.log(results.join('\n'));
  } finally {
    for (const o of operators) await o.stop();
    await fixture.close();
    for (const c of clusters) {
      c.apiServer.resume();
      await c.stop();
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

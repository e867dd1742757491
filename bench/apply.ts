// Benchmark: plan+apply of 1,000 objects (first time, then unchanged) beside a raw server-side-apply loop.
// Run: npx tsx bench/apply.ts [--kubeconfig <path>] [--objects 1000] [--concurrency 16] [--rounds 2]
// Without --kubeconfig it starts a local control plane (etcd + kube-apiserver, no controller-manager,
// so no controllers compete with the measured requests for the 2 cores).
import { parseArgs } from 'node:util';
import type { KubeObject } from '../src/api/index.ts';
import { applyChangeSet } from '../src/apply/index.ts';
import { KubeClient, mapLimit } from '../src/kube/index.ts';
import {
  ensureControlPlaneBinaries,
  startLocalCluster,
  type LocalCluster,
} from '../src/localcluster/index.ts';
import { planChanges, summarize } from '../src/plan/index.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    objects: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '4' },
  },
});
const total = Number(values.objects);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);

/** ConfigMaps, ServiceAccounts, headless Services (no cluster IPs to exhaust) and Deployments, in equal parts. */
function objectsFor(ns: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; out.length < total; i++) {
    const name = `obj-${i}`;
    const labels = { app: name, tier: 'bench' };
    const kinds: KubeObject[] = [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: ns, labels },
        data: { 'config.yaml': `name: ${name}\nreplicas: 2\n`, index: String(i) },
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels } },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: ns, labels },
        spec: {
          clusterIP: 'None',
          selector: { app: name },
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: ns, labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              containers: [
                {
                  name: 'app',
                  image: `registry.example.com/app:${i}`,
                  ports: [{ containerPort: 8080 }],
                  env: [{ name: 'CONFIG', valueFrom: { configMapKeyRef: { name, key: 'config.yaml' } } }],
                  resources: { requests: { cpu: '10m', memory: '32Mi' } },
                },
              ],
            },
          },
        },
      },
    ];
    out.push(...kinds.slice(0, total - out.length));
  }
  return out;
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
sampler.unref();

interface Phase {
  name: string;
  ms: number;
  requests: Record<string, number>;
  writes: number;
  peakRssMb: number;
  objectsPerSec: number;
}

async function measure(client: KubeClient, name: string, fn: () => Promise<void>): Promise<Phase> {
  client.stats.reset();
  peakRss = process.memoryUsage().rss;
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return {
    name,
    ms,
    requests: client.stats.byVerb(),
    writes: client.stats.writes(),
    peakRssMb: peakRss / 2 ** 20,
    objectsPerSec: (total / ms) * 1000,
  };
}

async function main() {
  let cluster: LocalCluster | undefined;
  let kubeconfig = values.kubeconfig;
  if (!kubeconfig) {
    const binDir = await ensureControlPlaneBinaries({ log: (l) => console.error(l) });
    cluster = await startLocalCluster({ binDir, controllerManager: false });
    kubeconfig = cluster.kubeconfigPath;
    console.log(`local control plane started in ${cluster.startedInMs} ms`);
  }
  const client = await KubeClient.fromFile(kubeconfig, { maxSockets: concurrency * 2 });
  const owner = { name: 'bench', namespace: 'bench' };
  const stamp = Date.now().toString(36);
  const namespace = async (ns: string) => {
    await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  };
  const phases: Phase[] = [];
  try {
    // Warm-up: connections, discovery, the API server's caches.
    await namespace(`warm-${stamp}`);
    await mapLimit(objectsFor(`warm-${stamp}`).slice(0, 100), concurrency, (o) => client.apply(o));

    for (let round = 1; round <= rounds; round++) {
      const rawNs = `raw-${stamp}-${round}`;
      const engineNs = `engine-${stamp}-${round}`;
      await namespace(rawNs);
      await namespace(engineNs);
      const raw = async () =>
        phases.push(
          await measure(client, `round ${round}: raw SSA loop`, async () => {
            const results = await mapLimit(objectsFor(rawNs), concurrency, (o) => client.apply(o));
            const failed = results.filter((r) => r.status === 'rejected');
            if (failed.length)
              throw new Error(
                `raw loop: ${failed.length} failed: ${String((failed[0] as PromiseRejectedResult).reason)}`,
              );
          }),
        );
      const engine = async () => {
        const desired = objectsFor(engineNs);
        let planMs = 0;
        const first = await measure(client, `round ${round}: plan+apply, first time`, async () => {
          const t = performance.now();
          const cs = await planChanges(client, client.mapper, desired, { owner, concurrency });
          planMs = performance.now() - t;
          const s = summarize(cs);
          if (s.created !== total) throw new Error(`expected ${total} creates, got ${JSON.stringify(s)}`);
          await applyChangeSet(client, client.mapper, cs, { concurrency });
        });
        first.name += ` (plan ${Math.round(planMs)} ms)`;
        phases.push(first);
        phases.push(
          await measure(client, `round ${round}: plan+apply, unchanged`, async () => {
            const cs = await planChanges(client, client.mapper, desired, { owner, concurrency });
            const s = summarize(cs);
            if (s.unchanged !== total)
              throw new Error(`expected ${total} unchanged, got ${JSON.stringify(s)}`);
            const r = await applyChangeSet(client, client.mapper, cs, { concurrency });
            if (r.applied.length) throw new Error(`unchanged apply wrote ${r.applied.length} objects`);
          }),
        );
      };
      // Alternate which goes first, so neither profits from the other's warm caches every time.
      if (round % 2) {
        await raw();
        await engine();
      } else {
        await engine();
        await raw();
      }
    }
  } finally {
    client.close();
    await cluster?.stop();
  }

  console.log(`\n${total} objects, concurrency ${concurrency}, Node ${process.version}\n`);
  for (const p of phases) {
    const req = Object.entries(p.requests)
      .map(([v, n]) => `${v}=${n}`)
      .join(' ');
    console.log(
      `${p.name.padEnd(52)} ${p.ms.toFixed(0).padStart(6)} ms  ${p.objectsPerSec.toFixed(0).padStart(5)} obj/s  writes=${p.writes}  peak RSS ${p.peakRssMb.toFixed(0)} MB  [${req}]`,
    );
  }
  // The machine may be shared: compare each round's engine run with the raw loop measured next to it.
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const raw = phases.find((p) => p.name.startsWith(`round ${round}: raw`))!;
    const first = phases.find((p) => p.name.startsWith(`round ${round}: plan+apply, first`))!;
    ratios.push(raw.ms / first.ms);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  const median =
    sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  console.log(
    `\nfirst apply throughput vs raw loop, per round: ${ratios.map(pct).join(', ')}; median ${pct(median)} (target ≥ 70%)`,
  );
  const unchangedWrites = phases
    .filter((p) => p.name.includes('unchanged'))
    .reduce((a, p) => a + p.writes, 0);
  console.log(`writes when re-applying the unchanged set: ${unchangedWrites} (target 0)`);
  console.log(`process peak RSS (maxRSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

await main();

// Benchmark: OCI registry push → Ready through the registry's own notifications (distribution's
// envelope to /distribution), and the poll cost of an unchanged artifact. Each sample pushes a new
// artifact tag (registry HTTP API) to a real docker-registry whose notifications endpoint is the
// operator; time from the manifest PUT's answer to the GitSource Ready at that revision, seen
// through a watch. The GitSource's interval is 1h, so polling cannot explain a sample.
// Run: npx tsx bench/registry-webhook.ts [--pushes 20]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { GitSource } from '../src/api/index.ts';
import { KubeClient } from '../src/kube/index.ts';
import {
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
  startOperatorProcess,
  type OperatorProcess,
} from '../src/localcluster/index.ts';
import { FLUX_CONTENT, pushArtifact, startRegistry, tarGz, type Registry } from '../test/support/registry.ts';
import { latencySummary as summary } from './support.ts';

const run = promisify(execFile);
const { values } = parseArgs({ options: { pushes: { type: 'string', default: '20' } } });
const root = join(import.meta.dirname, '..');
const SECRET = 'bench-registry-secret';
const NS = 'bench';

async function main(): Promise<void> {
  const bin = await ensureControlPlaneBinaries({ log: (l) => console.error(l) });
  const tools = await resolveClientTools({ searchPath: false });
  const cluster = await startLocalCluster({ binDir: bin, controllerManager: false, log: () => {} });
  const work = mkdtempSync(join(tmpdir(), 'converge-bench-registry-'));
  let op: OperatorProcess | undefined;
  let reg: Registry | undefined;
  const abort = new AbortController();
  try {
    const kubectl = (...args: string[]) =>
      run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args]);
    await kubectl('apply', '--server-side', '-f', join(root, 'crds'));
    await kubectl(
      'wait',
      '--for=condition=Established',
      'crd/gitsources.gitops.converge.dev',
      'crd/notifiers.gitops.converge.dev',
    );
    await kubectl('create', 'namespace', NS);
    writeFileSync(join(work, 'token'), SECRET);
    op = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath,
      kubectl: tools.kubectl,
      helm: tools.helm,
      args: ['--leader-elect=false', '--webhook-secret-file', join(work, 'token')],
    });
    reg = await startRegistry({
      notify: `http://127.0.0.1:${op.webhookPort!}/distribution`,
      notifyHeaders: { Authorization: `Bearer ${SECRET}` },
    });
    let n = 0;
    const push = () =>
      pushArtifact(reg!, 'fleet/app', `1.0.${n}`, {
        layers: [
          {
            mediaType: FLUX_CONTENT,
            data: tarGz([
              {
                name: 'app.yaml',
                data: JSON.stringify({
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  metadata: { name: 'app' },
                  data: { n: String(n++) },
                }),
              },
            ]),
          },
        ],
      });

    const client = await KubeClient.fromFile(cluster.kubeconfigPath);
    const waiters = new Map<string, (at: number) => void>();
    const readyAt = new Map<string, number>();
    void client
      .watch<GitSource>(
        `/apis/gitops.converge.dev/v1alpha1/namespaces/${NS}/gitsources`,
        { signal: abort.signal },
        (e) => {
          if (e.type === 'SYNCED' || e.type === 'DELETED') return;
          const s = e.object.status;
          const ready = s?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
          const digest = s?.lastAppliedRevision?.split('@').pop();
          if (!ready || !digest || readyAt.has(digest)) return;
          const now = performance.now();
          readyAt.set(digest, now);
          waiters.get(digest)?.(now);
        },
      )
      .catch(() => {});
    const ready = (digest: string, timeoutMs = 120_000) =>
      new Promise<number>((resolve, reject) => {
        const at = readyAt.get(digest);
        if (at !== undefined) return resolve(at);
        const t = setTimeout(
          () => reject(new Error(`not Ready at ${digest} after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.set(digest, (x) => {
          clearTimeout(t);
          resolve(x);
        });
      });

    let digest = await push();
    const child = execFile(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', '-']);
    child.stdin!.end(
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'GitSource',
        metadata: { name: 'app', namespace: NS },
        spec: {
          url: `oci://${reg.host}/fleet/app`,
          ref: { semver: '>=1.0.0' },
          insecure: true,
          interval: '1h',
          wait: false,
          targetNamespace: NS,
        },
      }),
    );
    await ready(digest);

    const samples: number[] = [];
    for (let i = 0; i < Number(values.pushes); i++) {
      digest = await push();
      const t0 = performance.now();
      samples.push((await ready(digest)) - t0);
    }

    // Poll cost of an unchanged artifact: what the registry sees for one requested reconcile.
    reg.resetRequests();
    await client.request('PATCH', `/apis/gitops.converge.dev/v1alpha1/namespaces/${NS}/gitsources/app`, {
      body: { metadata: { annotations: { 'gitops.converge.dev/requested-at': String(Date.now()) } } },
      contentType: 'application/merge-patch+json',
    });
    const deadline = Date.now() + 30_000;
    while (reg.requests().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    const polled = reg.requests().map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`);

    const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
    console.log(
      `registry push → Ready (distribution notification, interval 1h): ${summary(samples)}; load ${load}`,
    );
    console.log(`unchanged semver poll: ${polled.length} registry requests (${polled.join(', ')})`);
  } finally {
    abort.abort();
    await op?.stop();
    await reg?.close();
    await cluster.stop();
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

// Benchmark: push → Ready through a push webhook, beside the same change found by polling.
// Each sample: commit to the local git server (smart HTTP), POST the signed webhook (GitHub's
// push payload), time until the GitSource is Ready at that revision (wait: false), seen through a
// watch. The GitSource's interval is 1h during the webhook samples, so polling cannot explain them;
// the poll samples use --poll-interval and no webhook.
// Run: npx tsx bench/webhook.ts [--gap 0 (ms between pushes)] [--pushes 50] [--poll-samples 10] [--poll-interval 5s (whole seconds)] [--provider github]
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
import { commitFiles, startGitFixture } from '../test/support/git-server.ts';
import { pushRequest, repoNames, sendHook, type HookProvider } from '../test/support/webhooks.ts';
import { latencySummary as summary } from './support.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    pushes: { type: 'string', default: '50' },
    'poll-samples': { type: 'string', default: '10' },
    'poll-interval': { type: 'string', default: '5s' },
    provider: { type: 'string', default: 'github' },
    // Pause between one push's Ready and the next push (ms): 0 is back-to-back.
    gap: { type: 'string', default: '0' },
  },
});
const root = join(import.meta.dirname, '..');
const SECRET = 'bench-webhook-secret';
const NS = 'bench';

async function main(): Promise<void> {
  const bin = await ensureControlPlaneBinaries({ log: (l) => console.error(l) });
  const tools = await resolveClientTools({ searchPath: false });
  const cluster = await startLocalCluster({ binDir: bin, controllerManager: false, log: () => {} });
  const fixture = await startGitFixture();
  const work = mkdtempSync(join(tmpdir(), 'converge-bench-hook-'));
  let op: OperatorProcess | undefined;
  const abort = new AbortController();
  try {
    const kubectl = (...args: string[]) =>
      run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args]);
    // Every CRD the operator watches (GitSource, Notifier), so no watch keeps retrying.
    await kubectl('apply', '--server-side', '-f', join(root, 'crds'));
    await kubectl(
      'wait',
      '--for=condition=Established',
      'crd/gitsources.gitops.converge.dev',
      'crd/notifiers.gitops.converge.dev',
    );
    await kubectl('create', 'namespace', NS);
    const http = await fixture.serveHttp();
    const repo = await fixture.createRepo('app');
    const names = repoNames(http.url('app'));
    let n = 0;
    const commit = () =>
      commitFiles(
        repo,
        {
          'app.yaml': JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'app', namespace: NS },
            data: { n: String(++n) },
          }),
        },
        `change ${n}`,
      );
    let head = await commit();

    writeFileSync(join(work, 'token'), SECRET);
    op = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath,
      kubectl: tools.kubectl,
      helm: tools.helm,
      args: ['--leader-elect=false', '--webhook-secret-file', join(work, 'token')],
    });
    const port = op.webhookPort!;
    const metricsPort = op.metricsPort;
    const log = () => op!.logs.join('\n');

    // Ready-at-revision times, from a watch (no polling delay in the measurement).
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
          const sha = s?.lastAppliedRevision?.split(':')[1];
          if (!ready || !sha || readyAt.has(sha)) return;
          const now = performance.now();
          readyAt.set(sha, now);
          waiters.get(sha)?.(now);
        },
      )
      .catch(() => {});
    const ready = (sha: string, timeoutMs = 120_000) =>
      new Promise<number>((resolve, reject) => {
        const at = readyAt.get(sha);
        if (at !== undefined) return resolve(at);
        const t = setTimeout(() => reject(new Error(`not Ready at ${sha} after ${timeoutMs} ms`)), timeoutMs);
        waiters.set(sha, (x) => {
          clearTimeout(t);
          resolve(x);
        });
      });
    const applySource = (interval: string) =>
      new Promise<void>((resolve, reject) => {
        const child = execFile(
          tools.kubectl,
          ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', '-'],
          (err) => (err ? reject(err) : resolve()),
        );
        child.stdin!.end(
          JSON.stringify({
            apiVersion: 'gitops.converge.dev/v1alpha1',
            kind: 'GitSource',
            metadata: { name: 'app', namespace: NS },
            spec: { url: http.url('app'), interval, wait: false, targetNamespace: NS },
          }),
        );
      });

    await applySource('1h');
    await ready(head);
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    };

    // Webhook samples.
    const hook: number[] = [];
    const pushes = Number(values.pushes);
    // The count is bumped just after the status write a watch sees: read it once it settles.
    const settled = async (name: string) => {
      let v = await metric(name);
      for (let last = NaN; v !== last;) {
        last = v;
        await new Promise((r) => setTimeout(r, 500));
        v = await metric(name);
      }
      return v;
    };
    const reconcilesBefore = await settled('converge_reconcile_total');
    for (let i = 0; i < pushes; i++) {
      if (Number(values.gap) > 0) await new Promise((r) => setTimeout(r, Number(values.gap)));
      const before = head;
      head = await commit();
      const t0 = performance.now();
      const res = await sendHook(
        port,
        pushRequest(
          values.provider as HookProvider,
          names,
          { ref: 'refs/heads/main', before, after: head },
          SECRET,
        ),
      );
      if (res.status !== 202) throw new Error(`webhook answered ${res.status} ${res.body}`);
      hook.push((await ready(head)) - t0);
    }
    const reconciles = (await settled('converge_reconcile_total')) - reconcilesBefore;

    // Poll samples: the same change, no webhook, interval --poll-interval.
    await applySource(values['poll-interval']);
    const byResult = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Object.fromEntries(
        [...text.matchAll(/^converge_reconcile_total\{result="(\w+)"\} (\S+)$/gm)].map((m) => [
          m[1]!,
          Number(m[2]),
        ]),
      );
    };
    const pollBefore = await byResult();
    const poll: number[] = [];
    const intervalMs = Number(/^(\d+)s$/.exec(values['poll-interval'])?.[1] ?? 5) * 1000;
    for (let i = 0; i < Number(values['poll-samples']); i++) {
      // A push lands at a random point of the poll cycle, as real ones do.
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      head = await commit();
      const t0 = performance.now();
      poll.push((await ready(head)) - t0);
    }

    console.log(
      `\n## Push webhook → Ready at the pushed revision (${values.provider} payload, wait: false, 2 cores, everything on one machine)`,
    );
    console.log(
      `webhook (interval 1h):          ${summary(hook)}  (${reconciles} reconciles for ${pushes} pushes)`,
    );
    const pollAfter = await byResult();
    const pollRuns = Object.entries(pollAfter)
      .map(([k, v]) => `${k} ${v - (pollBefore[k] ?? 0)}`)
      .join(', ');
    if (poll.length)
      console.log(
        `polling (interval ${values['poll-interval']}, no hook): ${summary(poll)}  (reconciles: ${pollRuns})`,
      );
    const msgs = new Map<string, number>();
    for (const m of log().matchAll(/"msg":"([^"]+)"/g)) msgs.set(m[1]!, (msgs.get(m[1]!) ?? 0) + 1);
    console.log(`operator log lines: ${[...msgs].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    client.close();
  } finally {
    abort.abort();
    await op?.stop();
    await fixture.close();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

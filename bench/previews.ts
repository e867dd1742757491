// Benchmark: pull-request push → preview comment updated, through Gitea's pull-request webhook,
// beside the raw baseline of Gitea delivering that webhook to a bare receiver. A real Gitea
// (scripts/build-gitea.sh), the real operator and a local control plane; the GitSource's interval is
// 1h, so only the webhook explains a fast update. Each sample: push a commit to the pull request's
// branch, time until (a) the bare receiver got Gitea's pull_request_sync for that head and (b) the
// operator's comment names that head.
// Run: npx tsx bench/previews.ts [--pushes 20]
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import {
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
  startOperatorProcess,
  type OperatorProcess,
} from '../src/localcluster/index.ts';
import { startGitea, type GiteaComment } from '../test/support/gitea.ts';
import { latencySummary as summary } from './support.ts';

const run = promisify(execFile);
const { values } = parseArgs({ options: { pushes: { type: 'string', default: '20' } } });
const root = join(import.meta.dirname, '..');
const SECRET = 'bench-previews-secret';
const NS = 'bench';

const configMap = (n: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: ${NS}\ndata:\n  n: "${n}"\n`;

async function main(): Promise<void> {
  const bin = await ensureControlPlaneBinaries({ log: (l) => console.error(l) });
  const tools = await resolveClientTools({ searchPath: false });
  const cluster = await startLocalCluster({ binDir: bin, controllerManager: false, log: () => {} });
  const gitea = await startGitea();
  const work = mkdtempSync(join(tmpdir(), 'converge-bench-prev-'));
  // The baseline: when Gitea's pull_request_sync for a head reaches a bare receiver.
  const delivered = new Map<string, number>();
  const bare = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        const sha = (JSON.parse(body) as { pull_request?: { head?: { sha?: string } } }).pull_request?.head
          ?.sha;
        if (sha && !delivered.has(sha)) delivered.set(sha, performance.now());
      } catch {
        // not a pull request event
      }
      res.end('ok');
    });
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  let op: OperatorProcess | undefined;
  try {
    const kubectl = (...args: string[]) =>
      run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args]);
    await kubectl('apply', '--server-side', '-f', join(root, 'crds'));
    await kubectl('wait', '--for=condition=Established', 'crd/gitsources.gitops.converge.dev');
    await kubectl('create', 'namespace', NS);
    await kubectl(
      'create',
      'secret',
      'generic',
      'pr-bot',
      '-n',
      NS,
      `--from-literal=token=${gitea.admin.token}`,
    );
    const admin = gitea.admin;
    const url = await gitea.createRepo(admin, 'fleet', { 'app/config.yaml': configMap(0) });
    writeFileSync(join(work, 'token'), SECRET);
    op = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath,
      kubectl: tools.kubectl,
      helm: tools.helm,
      args: [
        '--leader-elect=false',
        '--webhook-secret-file',
        join(work, 'token'),
        '--webhook-addr',
        '127.0.0.1:0',
      ],
    });
    const hook = (target: string) =>
      gitea.api('POST', `/repos/${admin.name}/fleet/hooks`, {
        type: 'gitea',
        active: true,
        events: ['pull_request', 'pull_request_sync'],
        config: { url: target, content_type: 'json', secret: SECRET },
      });
    await hook(`http://127.0.0.1:${op.webhookPort}/gitea`);
    await hook(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/`);
    const source = {
      apiVersion: 'gitops.converge.dev/v1alpha1',
      kind: 'GitSource',
      metadata: { name: 'web', namespace: NS },
      spec: {
        url,
        path: './app',
        interval: '1h',
        wait: false,
        previews: { provider: 'gitea', secretRef: { name: 'pr-bot' }, address: `${gitea.url}/api/v1` },
      },
    };
    const applied = execFile(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', '-']);
    applied.stdin!.end(JSON.stringify(source));
    await new Promise((r) => applied.once('exit', r));
    await kubectl('wait', '--for=condition=Ready', '-n', NS, 'gitsource/web', '--timeout=60s');

    let n = 1;
    let head = await gitea.commit(admin, 'fleet', 'feat', { 'app/config.yaml': configMap(n) });
    const pr = (
      await gitea.api<{ number: number }>('POST', `/repos/${admin.name}/fleet/pulls`, {
        head: 'feat',
        base: 'main',
        title: 'bench',
      })
    ).number;
    const commentNames = async (sha: string) => {
      const list = await gitea.api<GiteaComment[]>('GET', `/repos/${admin.name}/fleet/issues/${pr}/comments`);
      return list.some((c) => c.body.includes(`\`${sha.slice(0, 7)}\``));
    };
    const until = async (check: () => Promise<boolean> | boolean, what: string) => {
      const deadline = Date.now() + 60_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return performance.now();
    };
    await until(() => commentNames(head), 'the first comment');

    const toComment: number[] = [];
    const toDelivery: number[] = [];
    for (let i = 0; i < Number(values.pushes); i++) {
      n++;
      head = await gitea.commit(admin, 'fleet', 'feat', { 'app/config.yaml': configMap(n) });
      const pushed = performance.now();
      const commented = await until(() => commentNames(head), `the comment at ${head}`);
      toComment.push(commented - pushed);
      const at = delivered.get(head);
      if (at !== undefined) toDelivery.push(at - pushed);
    }
    console.log(`pull-request push → preview comment edited:      ${summary(toComment)}`);
    console.log(`baseline, push → Gitea's webhook at a bare server: ${summary(toDelivery)}`);
    console.log(`(the comment is polled every 20 ms through Gitea's API; the GitSource's interval is 1h)`);
  } finally {
    await op?.stop();
    bare.close();
    await gitea.close();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

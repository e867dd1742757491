// `npm run demo`: the whole loop on an embedded control plane (or the current kube context), narrated.
// Starts the control plane, installs the CRD, runs the operator, serves examples/app from a local git
// repository, and shows a first sync, a new commit (each rolled out: pods Ready before Converged) and
// a hand edit being corrected. The embedded cluster has kwok fake nodes, so pods run and roll out.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import {
  canRunPods,
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
  startOperatorProcess,
  type LocalCluster,
} from '../localcluster/index.ts';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const say = (text: string) => console.log(`\x1b[1m==>\x1b[0m ${text}`);
const detail = (text: string) => console.log(`    ${text}`);

interface Condition {
  type: string;
  status: string;
  reason: string;
}
interface Status {
  conditions?: Condition[];
  lastAppliedRevision?: string;
  changes?: string[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, keep: { type: 'boolean' } } });
  const cleanups: (() => Promise<void> | void)[] = [];
  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // keep cleaning up
      }
    }
  };
  const onSignal = () => {
    console.log('\ninterrupted; cleaning up');
    void cleanup().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    let kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG;
    // A real cluster runs pods; the embedded one does when kube-scheduler and kwok were built.
    let podsRun = true;
    if (kubeconfig) {
      say(`Using the cluster of ${kubeconfig}`);
    } else {
      say('Starting a local control plane (etcd, kube-apiserver, kube-controller-manager)');
      const bin = await ensureControlPlaneBinaries({
        kubebuilderAssets: process.env.KUBEBUILDER_ASSETS,
        log: detail,
      });
      podsRun = canRunPods(bin);
      if (podsRun) detail('with kube-scheduler and 3 kwok fake nodes: pods are scheduled and become Ready');
      else detail(`no kube-scheduler/kwok in ${bin}: pods will not run, so the GitSource uses wait: false`);
      const cluster: LocalCluster = await startLocalCluster({
        binDir: bin,
        nodes: podsRun ? 3 : 0,
        log: detail,
      });
      cleanups.push(() => cluster.stop());
      kubeconfig = cluster.kubeconfigPath;
    }
    const tools = await resolveClientTools({ searchPath: false });
    const kubectl = async (...args: string[]) =>
      (await run(tools.kubectl, ['--kubeconfig', kubeconfig!, ...args])).stdout;

    say('Installing the GitSource CRD');
    await kubectl('apply', '--server-side', '-f', join(root, 'crds', 'gitsource.yaml'));
    await kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/gitsources.gitops.converge.dev',
    );

    say('Creating a git repository from examples/app');
    const work = mkdtempSync(join(tmpdir(), 'converge-demo-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const repo = join(work, 'repo');
    cpSync(join(root, 'examples', 'app'), join(repo, 'app'), { recursive: true });
    const git = (...args: string[]) =>
      run('git', ['-C', repo, '-c', 'user.name=Demo', '-c', 'user.email=demo@example.invalid', ...args]);
    await git('init', '-q', '-b', 'main');
    await git('add', '.');
    await git('commit', '-q', '-m', 'Initial application');
    detail(`file://${repo}`);

    say('Starting the operator (converge run)');
    const opLog = join(work, 'operator.log');
    const operator = await startOperatorProcess({
      kubeconfig,
      kubectl: tools.kubectl,
      helm: tools.helm,
      logLevel: process.env.CONVERGE_DEMO_LOG_LEVEL ?? 'info',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
    });
    cleanups.push(async () => {
      writeFileSync(opLog, operator.logs.join('\n'));
      await operator.stop();
    });

    say('Applying a GitSource with kubectl');
    const gitsource = {
      apiVersion: 'gitops.converge.dev/v1alpha1',
      kind: 'GitSource',
      metadata: { name: 'web', namespace: 'default' },
      // wait: true holds Converged until the Deployment has rolled out (its pods Ready).
      spec: {
        url: `file://${repo}`,
        path: './app',
        interval: '5s',
        wait: podsRun,
        timeout: '2m',
        substitute: { CLUSTER: 'demo' },
      },
    };
    detail(`kubectl apply -f - <<< '${JSON.stringify(gitsource.spec)}'`);
    await runWithInput(
      tools.kubectl,
      ['--kubeconfig', kubeconfig, 'apply', '-f', '-'],
      JSON.stringify(gitsource),
    );

    const getStatus = async (): Promise<Status> =>
      JSON.parse(await kubectl('get', 'gitsource', 'web', '-n', 'default', '-o', 'json')).status ?? {};
    // The rollout as kubectl shows it, printed whenever it moves between a Diverged event (applied)
    // and the Converged one: pods Ready out of desired, and the (fake) nodes they run on.
    let shownRollout = '';
    let rollingOut = false;
    const rolloutProgress = async () => {
      if (!podsRun || !rollingOut) return;
      const r = await run(tools.kubectl, [
        '--kubeconfig',
        kubeconfig!,
        'get',
        'deployment',
        'web',
        '-n',
        'demo',
        '-o',
        'jsonpath={.spec.replicas} {.status.readyReplicas} {.status.updatedReplicas}',
      ]).catch(() => undefined);
      if (!r) return;
      const [want = '0', ready = '0', updated = '0'] = r.stdout.split(' ');
      const nodes = await run(tools.kubectl, [
        '--kubeconfig',
        kubeconfig!,
        'get',
        'pods',
        '-n',
        'demo',
        '-l',
        'app=web',
        '-o',
        'jsonpath={.items[*].spec.nodeName}',
      ]).catch(() => ({ stdout: '' }));
      const on = [...new Set(nodes.stdout.split(' ').filter(Boolean))].sort().join(', ');
      const line = `Rollout        deployment/web: ${ready || 0}/${want} pods Ready, ${updated || 0} updated${on ? ` (on ${on})` : ''}`;
      if (line !== shownRollout) detail(line);
      shownRollout = line;
    };
    // Narrate from the GitSource's Events: they are emitted once per transition, so none is missed.
    const shownEvents = new Set<string>();
    const newEvents = async () => {
      const out = await kubectl(
        'get',
        'events.v1.events.k8s.io',
        '-n',
        'default',
        '--field-selector',
        'regarding.name=web',
        '-o',
        'json',
      );
      const items = (
        JSON.parse(out) as {
          items: { metadata: { name: string }; reason: string; note: string; eventTime: string }[];
        }
      ).items;
      items.sort((a, b) => a.eventTime.localeCompare(b.eventTime));
      for (const e of items) {
        if (shownEvents.has(e.metadata.name)) continue;
        shownEvents.add(e.metadata.name);
        // Converged means the pods were Ready: show the rollout's last step before it.
        if (e.reason === 'Converged') await rolloutProgress();
        detail(`${e.reason.padEnd(14)} ${e.note}`);
        if (e.reason === 'Diverged') rollingOut = true;
        if (e.reason === 'Converged') rollingOut = false;
      }
    };
    const narrate = async (until: (s: Status) => boolean, timeoutMs = 60_000): Promise<Status> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await getStatus();
        await newEvents();
        await rolloutProgress();
        if (until(s)) return s;
        if (operator.child.exitCode !== null)
          throw new Error(`the operator exited:\n${operator.logs.join('\n').slice(-2000)}`);
        if (Date.now() > deadline) throw new Error('timed out waiting for the GitSource');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const ready = (rev?: string) => (s: Status) =>
      s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.reason === 'Succeeded') ===
        true &&
      (rev === undefined || (s.lastAppliedRevision ?? '').includes(rev));

    let t0 = Date.now();
    let s = await narrate(ready());
    say(`Converged in ${Date.now() - t0} ms at ${s.lastAppliedRevision}`);
    for (const line of s.changes ?? []) detail(line);
    console.log((await kubectl('get', 'gitsources', '-n', 'default')).trimEnd().replace(/^/gm, '    '));

    say('Committing a change: replicas 2 → 3 and a new greeting');
    const webPath = join(repo, 'app', 'web.yaml');
    writeFileSync(webPath, readFileSync(webPath, 'utf8').replace('replicas: 2', 'replicas: 3'));
    const cfgPath = join(repo, 'app', 'config.yaml');
    writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('hello from git', 'hello again'));
    await git('commit', '-q', '-am', 'Scale web to 3 and change the greeting');
    const sha = (await git('rev-parse', 'HEAD')).stdout.trim();
    detail(
      `commit ${sha.slice(0, 7)}; the operator polls every 5s (the requested-at annotation makes it immediate)`,
    );
    t0 = Date.now();
    s = await narrate(ready(sha));
    say(`Re-converged in ${Date.now() - t0} ms at ${s.lastAppliedRevision}`);
    for (const line of s.changes ?? []) detail(line);

    say('A hand edit: kubectl scale deployment/web --replicas=7 -n demo');
    await kubectl('scale', 'deployment/web', '--replicas=7', '-n', 'demo');
    t0 = Date.now();
    for (;;) {
      const replicas = Number(
        await kubectl('get', 'deployment', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.replicas}'),
      );
      if (replicas === 3) break;
      if (Date.now() - t0 > 30_000)
        throw new Error(
          `drift was not corrected within 30 s; operator log:\n${operator.logs.join('\n').slice(-3000)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
    say(`Drift corrected in ${Date.now() - t0} ms: replicas back to 3`);
    await new Promise((r) => setTimeout(r, 300));
    await newEvents();
    say(
      `Demo finished: Changed → Diverged → ${podsRun ? 'pods rolled out → ' : ''}Converged, a new commit, and a corrected hand edit.`,
    );
  } finally {
    await cleanup();
  }
}

function runWithInput(cmd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, (err) => (err ? reject(err) : resolve()));
    child.stdin?.end(input);
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

// Runs a real single-node control plane (etcd, kube-apiserver, kube-controller-manager, and with
// `nodes` kube-scheduler and kwok fake nodes) on loopback for tests, benchmarks and `npm run demo`,
// like controller-runtime's envtest, and stops it cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canRunPods, fakeNode, fakeNodeNames, kwokArgs, schedulerArgs } from './nodes.ts';

export interface LocalCluster {
  /** Admin kubeconfig (system:masters) for this cluster. */
  kubeconfigPath: string;
  server: string;
  /** Bearer token in the kubeconfig. */
  token: string;
  caFile: string;
  dir: string;
  startedInMs: number;
  /** Names of the fake (kwok) nodes (created; kwok marks them Ready within its first second); empty without `nodes`. */
  nodes: string[];
  /**
   * The kube-apiserver alone, for outage tests: `stop` kills it (connections refused), `start` runs
   * it again on the same port with the same certificates and tokens; `pause`/`resume` freeze it
   * (SIGSTOP: connections are accepted and never answered, a hung cluster).
   */
  apiServer: {
    stop(): Promise<void>;
    start(): Promise<void>;
    pause(): void;
    resume(): void;
  };
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  /** Directory with etcd, kube-apiserver and (optionally) kube-controller-manager, kube-scheduler, kwok. */
  binDir: string;
  /** Namespace deletion and garbage collection need it; most tests do. Rollouts need it too. */
  controllerManager?: boolean;
  /**
   * Fake nodes to create (default 0). With any, kube-scheduler and kwok run too, so pods are
   * scheduled and become Running/Ready, Jobs complete and rollouts finish (see hack/kwok/README.md
   * for the labels that make pods fail). Needs kube-scheduler and kwok in binDir (`canRunPods`).
   */
  nodes?: number;
  /**
   * Serve a real node (createRealNode in real-node.ts) instead of loopback-only clients: the API
   * server binds and advertises `address` (the host's end of the node's link, which the
   * `kubernetes` Service then points at), admits pods with ServiceAccount tokens, reaches kubelets
   * by InternalIP, and kube-scheduler runs without kwok. Off by default: the kwok tests keep the
   * loopback control plane.
   */
  realNode?: { address: string };
  log?: (line: string) => void;
  timeoutMs?: number;
}

/** The Service range of every local control plane (the `kubernetes` Service is its first address). */
export const SERVICE_CIDR = '10.0.0.0/24';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Builds (once per machine, cached) or locates the control-plane binaries. KUBEBUILDER_ASSETS wins
 * when given. The first build takes many minutes: its progress lines go to `log`.
 */
export async function ensureControlPlaneBinaries(opts: {
  kubebuilderAssets?: string | undefined;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}): Promise<string> {
  const log = opts.log ?? (() => {});
  const env = { ...(opts.env ?? process.env) };
  if (opts.kubebuilderAssets) env.KUBEBUILDER_ASSETS = opts.kubebuilderAssets;
  const script = join(repoRoot, 'scripts', 'build-control-plane.sh');
  const child = spawn('bash', [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  let partial = '';
  child.stderr.on('data', (b: Buffer) => {
    partial += b.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) log(line);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`building the control plane failed (exit ${code}); see the lines above`);
  const dir = stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(join(dir, 'kube-apiserver'))) throw new Error(`no kube-apiserver in ${dir}`);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  running.add(child);
  child.on('exit', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort so no etcd/apiserver outlives a crashed test run or demo.
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function probe(url: string, token: string, ca: string | undefined): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        headers: { Authorization: `Bearer ${token}` },
        // Before the serving cert exists there is nothing to verify against.
        ...(ca ? { ca } : { rejectUnauthorized: false }),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** One JSON request to the API server as the admin; throws on a non-2xx answer. */
function apiJson(
  api: { server: string; token: string; ca: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.server}${path}`,
      {
        method,
        ca: api.ca,
        headers: {
          Authorization: `Bearer ${api.token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code < 200 || code >= 300)
            reject(new Error(`${method} ${path}: HTTP ${code}: ${text.slice(0, 300)}`));
          else resolve(text ? JSON.parse(text) : undefined);
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const dir = mkdtempSync(join(tmpdir(), 'converge-cp-'));
  const children: ChildProcess[] = [];
  const launch = (name: string, args: string[]) => {
    // Appended: a restarted kube-apiserver keeps its earlier log.
    const out = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
    const child = spawn(join(opts.binDir, name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    trackChild(child);
    children.push(child);
    child.on('exit', (code, signal) => {
      if (!stopping && !apiServerDown)
        log(`${name} exited (code ${code}, signal ${signal}); log: ${join(dir, `${name}.log`)}`);
    });
    return child;
  };
  let stopping = false;
  let apiServerDown = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // A paused (SIGSTOP) process would not see SIGTERM.
    for (const child of children) if (child.exitCode === null) child.kill('SIGCONT');
    for (const child of [...children].reverse()) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };

  // The last lines of a process's log, for errors (the directory goes away with stop()).
  const tail = (name: string) => {
    try {
      return readFileSync(join(dir, `${name}.log`), 'utf8')
        .split('\n')
        .slice(-15)
        .join('\n');
    } catch {
      return '';
    }
  };
  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const certDir = join(dir, 'certs');

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    launch('etcd', [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    const address = opts.realNode?.address ?? '127.0.0.1';
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${apiPort}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      // Without a real node no kubelet runs, so pods never need tokens mounted (as in envtest).
      // TaintNodesByCondition would give each new node a not-ready taint that only the (disabled)
      // node-lifecycle controller removes; kwok and the kubelet mark their nodes Ready instead.
      ...(opts.realNode
        ? [
            '--disable-admission-plugins=TaintNodesByCondition',
            '--kubelet-preferred-address-types=InternalIP',
          ]
        : ['--disable-admission-plugins=ServiceAccount,TaintNodesByCondition']),
      '--allow-privileged=true',
      '--v=0',
    ];
    let apiServerChild = launch('kube-apiserver', apiServerArgs);

    const server = `https://${address}:${apiPort}`;
    const caFile = join(certDir, 'apiserver.crt');
    const waitReady = async () => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ca = existsSync(caFile) ? readFileSync(caFile, 'utf8') : undefined;
        if (ca && (await probe(`${server}/readyz`, token, ca)) === 200) break;
        if (children.some((c) => c.exitCode !== null)) {
          throw new Error(`control plane exited while starting:\n${tail('etcd')}\n${tail('kube-apiserver')}`);
        }
        if (Date.now() > deadline)
          throw new Error(`kube-apiserver not ready within ${timeoutMs} ms (logs in ${dir})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitReady();
    const apiServer = {
      async stop() {
        apiServerDown = true;
        apiServerChild.kill('SIGCONT');
        await stopChild(apiServerChild, 2000);
        children.splice(children.indexOf(apiServerChild), 1);
      },
      async start() {
        apiServerChild = launch('kube-apiserver', apiServerArgs);
        await waitReady();
        apiServerDown = false;
      },
      pause() {
        apiServerChild.kill('SIGSTOP');
      },
      resume() {
        apiServerChild.kill('SIGCONT');
      },
    };

    const ca = readFileSync(caFile);
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: local',
        '  cluster:',
        `    server: ${server}`,
        `    certificate-authority-data: ${ca.toString('base64')}`,
        'users:',
        '- name: admin',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: local',
        '  context: { cluster: local, user: admin, namespace: default }',
        'current-context: local',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );

    if (opts.controllerManager ?? true) {
      launch('kube-controller-manager', [
        `--kubeconfig=${kubeconfigPath}`,
        '--leader-elect=false',
        '--secure-port=0',
        `--service-account-private-key-file=${join(dir, 'sa.key')}`,
        // Namespace deletion, garbage collection and the workload controllers (deployment,
        // replicaset, job, statefulset, daemonset) are what tests rely on; no cloud, no real nodes.
        '--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route,-persistentvolume-binder,-attachdetach,-ttl,-bootstrapsigner,-tokencleaner',
        '--concurrent-gc-syncs=10',
        '--v=0',
      ]);
    }
    const nodes = fakeNodeNames(opts.nodes ?? 0);
    if (nodes.length > 0) {
      if (!canRunPods(opts.binDir))
        throw new Error(`fake nodes need kube-scheduler and kwok in ${opts.binDir}`);
      launch('kube-scheduler', schedulerArgs(kubeconfigPath));
      launch('kwok', kwokArgs(kubeconfigPath));
      const api = { server, token, ca: ca.toString() };
      await Promise.all(nodes.map((name) => apiJson(api, 'POST', '/api/v1/nodes', fakeNode(name))));
      // Not waiting for kwok to mark them Ready: they carry no taint, so the scheduler binds pods
      // at once, and kwok runs the pods bound to its nodes as soon as it is up.
    } else if (opts.realNode) {
      launch('kube-scheduler', schedulerArgs(kubeconfigPath));
    }
    const startedInMs = Date.now() - started;
    log(
      `control plane ready at ${server} in ${(startedInMs / 1000).toFixed(1)}s` +
        (nodes.length ? ` with ${nodes.length} fake nodes` : ''),
    );
    return { kubeconfigPath, server, token, caFile, dir, startedInMs, nodes, apiServer, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

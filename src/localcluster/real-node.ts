// A real node for the local control plane: containerd + runc, the bridge CNI, kubelet and kube-proxy,
// isolated in their own network, mount and PID namespaces so the host's iptables, routes, mounts and
// sysctls are never touched, and stopped without leaving a process, mount, cgroup or interface.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  KUBELET_SYSCTLS,
  cniConfig,
  containerdConfig,
  containerdSocket,
  kubeProxyConfig,
  kubeletConfig,
  readNodeHost,
  realNodeUnsupported,
  type NodeLayout,
} from './node-config.ts';

const exec = promisify(execFile);

/** Host commands the node runs; Debian's paths (scripts/setup.sh installs them). */
export const NODE_COMMANDS: Record<string, string> = {
  containerd: '/usr/bin/containerd',
  ctr: '/usr/bin/ctr',
  runc: '/usr/sbin/runc',
  'containernetworking-plugins (bridge)': '/usr/lib/cni/bridge',
  iptables: '/usr/sbin/iptables',
  unshare: '/usr/bin/unshare',
  setpriv: '/usr/bin/setpriv',
  nsenter: '/usr/bin/nsenter',
  ip: '/usr/sbin/ip',
};

/** Why a real node cannot run here (one line), or undefined. `binDir` needs kubelet, kube-proxy, pause. */
export function realNodeSkipReason(binDir: string): string | undefined {
  const reason = realNodeUnsupported(readNodeHost(NODE_COMMANDS));
  if (reason) return reason;
  for (const b of ['kubelet', 'kube-proxy', 'pause'])
    if (!existsSync(join(binDir, b))) return `no ${b} in ${binDir} (scripts/build-node.sh builds it)`;
  return undefined;
}

export interface RealNode {
  name: string;
  /** The host's address on the node's link: bind servers the pods must reach here. */
  hostIp: string;
  nodeIp: string;
  podCidr: string;
  dir: string;
  /** Starts containerd, imports the pause image, then kubelet and kube-proxy; resolves when the Node is Ready. */
  join(cluster: { server: string; token: string; caFile: string; kubectl: string }): Promise<void>;
  /** Imports an image archive (OCI or docker-archive) into the node's containerd. */
  importImage(archive: string): Promise<void>;
  /** Adds a second name to an imported image. */
  tagImage(source: string, target: string): Promise<void>;
  /** Kills everything in the node's namespaces, removes its cgroups and directory. Idempotent. */
  stop(): Promise<void>;
}

export interface RealNodeOptions {
  /** kubelet, kube-proxy and pause (scripts/build-node.sh). */
  binDir: string;
  /** The control plane's Service range, which kube-proxy programs. */
  serviceCidr: string;
  log?: (line: string) => void;
}

const live = new Set<() => void>();
process.on('exit', () => {
  for (const kill of live) kill();
});

/** Picks a /30 for the link and a /24 for pods in 10.213-214.x that no host interface uses. */
async function pickSubnets(): Promise<{ hostIp: string; nodeIp: string; podCidr: string }> {
  const { stdout } = await exec('ip', ['-o', '-4', 'addr', 'show']);
  for (let i = 0; i < 50; i++) {
    const x = randomBytes(1)[0]!;
    const link = `10.213.${x}.`;
    const pods = `10.214.${x}.`;
    if (stdout.includes(link) || stdout.includes(pods)) continue;
    return { hostIp: `${link}1`, nodeIp: `${link}2`, podCidr: `${pods}0/24` };
  }
  throw new Error('no free 10.213.x.0/30 for a real node');
}

/** The v1 hierarchies mounted under /sys/fs/cgroup (and the v2 one of a hybrid set-up). */
function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(
      (f) => f.length > 8 && f[4]!.startsWith('/sys/fs/cgroup/') && /^cgroup2?$/.test(f[f.indexOf('-') + 1]!),
    )
    .map((f) => f[4]!);
}

/** Removes a cgroup tree bottom-up (cgroup directories are removed with rmdir, never rm -r). */
function removeCgroupTree(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true }))
    if (entry.isDirectory()) removeCgroupTree(join(path, entry.name));
  rmdirSync(path);
}

/** PIDs still in a cgroup tree (processes of ours that have not died yet). */
function cgroupPids(path: string): number[] {
  if (!existsSync(path)) return [];
  const pids: number[] = [];
  const procs = join(path, 'cgroup.procs');
  if (existsSync(procs)) for (const p of readFileSync(procs, 'utf8').split('\n')) if (p) pids.push(Number(p));
  for (const entry of readdirSync(path, { withFileTypes: true }))
    if (entry.isDirectory()) pids.push(...cgroupPids(join(path, entry.name)));
  return pids;
}

// The node's first process (PID 1 of its PID namespace): it makes the mount namespace private,
// hides the host's /run, /var/lib and /var/log behind the node's own directories (containerd 1.6
// puts shim sockets under /run/containerd and libcni its cache under /var/lib/cni, whatever the
// config says; the kubelet links container logs under /var/log/containers), shows the kubelet its
// sysctls as files, keeps containerd's images in memory, then waits. It reaps orphaned shims; when
// it dies the kernel kills every process in the namespace, and the mounts go with it.
const HOLDER = `set -eu
dir=$1
mount --make-rprivate /
mkdir -p "$dir/run" "$dir/var-lib" "$dir/var-log" "$dir/sysctl"
mount --bind "$dir/run" /run
mount --bind "$dir/var-lib" /var/lib
mount --bind "$dir/var-log" /var/log
# containerd's content and snapshots (the unpacked images, ~1.5 GB) in memory: nothing to sync on
# import, and nothing to delete file by file afterwards (27 s on a busy disk): gone with the namespace.
mkdir -p "$dir/containerd"
mount -t tmpfs -o mode=0700 tmpfs "$dir/containerd"
for f in "$dir"/sysctl/*; do
  [ -e "$f" ] || continue
  mount --bind "$f" "/proc/sys/$(basename "$f" | tr . /)"
done
ip link set lo up
echo ready > "$dir/holder.ready"
trap 'exit 0' TERM
while :; do sleep 3600 & wait $! || true; done
`;

const STALE_MS = 60_000;

/**
 * Removes what a node killed without stop() left (its processes died with its PID namespace; its
 * cgroups and directory stay): any converge-node-<id> cgroup or cvg-node-<id>-* directory older
 * than a minute whose holder no longer runs. Returns the names removed.
 */
export function sweepStaleNodes(): string[] {
  const running = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const m = /cvg-node-([0-9a-f]{6})-/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      if (m) running.add(m[1]!);
    } catch {
      // Exited while listing.
    }
  }
  const old = (path: string) => Date.now() - statSync(path).mtimeMs > STALE_MS;
  const removed = new Set<string>();
  for (const mount of cgroupMounts()) {
    for (const entry of readdirSync(mount)) {
      const id = /^converge-node-([0-9a-f]{6})$/.exec(entry)?.[1];
      const path = join(mount, entry);
      if (!id || running.has(id) || !old(path) || cgroupPids(path).length > 0) continue;
      removeCgroupTree(path);
      removed.add(`converge-node-${id}`);
    }
  }
  for (const entry of readdirSync(tmpdir())) {
    const id = /^cvg-node-([0-9a-f]{6})-/.exec(entry)?.[1];
    const path = join(tmpdir(), entry);
    if (!id || running.has(id) || !old(path)) continue;
    rmSync(path, { recursive: true, force: true });
    removed.add(`converge-node-${id}`);
  }
  return [...removed];
}

export async function createRealNode(opts: RealNodeOptions): Promise<RealNode> {
  const log = opts.log ?? (() => {});
  const swept = sweepStaleNodes();
  if (swept.length) log(`removed what killed nodes left behind: ${swept.join(', ')}`);
  const id = randomBytes(3).toString('hex');
  const name = `converge-node-${id}`;
  // The id in the path lets sweepStaleNodes tell a live node (its holder's command line names it).
  const dir = mkdtempSync(join(tmpdir(), `cvg-node-${id}-`));
  const net = await pickSubnets();
  const layout: NodeLayout = {
    name,
    dir,
    ...net,
    linkPrefix: 30,
    serviceCidr: opts.serviceCidr,
    cgroupRoot: `/${name}`,
    pauseImage: 'localhost/converge/pause:3.10',
  };
  const hostLink = `cvg-${id}`;
  const cgroups = cgroupMounts().map((m) => join(m, name));
  const children: ChildProcess[] = [];
  let holder: ChildProcess | undefined;
  let holderPid = 0;
  let stopped = false;

  const killAll = () => {
    if (holderPid) {
      try {
        process.kill(holderPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    // Before the holder is known (a failed start), unshare's --kill-child takes it down.
    holder?.kill('SIGKILL');
  };
  live.add(killAll);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const t0 = Date.now();
    let t = t0;
    const phases: string[] = [];
    const mark = (what: string) => {
      phases.push(`${what} ${((Date.now() - t) / 1000).toFixed(1)}s`);
      t = Date.now();
    };
    // No graceful shutdown to wait for: PID 1 of the namespace dies, and the kernel kills every
    // process in it (kubelet, kube-proxy, containerd, shims, containers) and frees its mounts.
    killAll();
    const exited = (c: ChildProcess) =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => c.once('exit', () => resolve()));
    await Promise.all([...children, ...(holder ? [holder] : [])].map(exited));
    live.delete(killAll);
    // Their cgroups empty as the kernel reaps them.
    const deadline = Date.now() + 20_000;
    while (cgroups.some((c) => cgroupPids(c).length > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    mark('processes');
    const errors: string[] = [];
    for (const c of cgroups) {
      try {
        removeCgroupTree(c);
      } catch (err) {
        errors.push(`${c}: ${(err as Error).message}`);
      }
    }
    // The veth pair goes with the network namespace; this covers a holder that never got it.
    await exec('ip', ['link', 'del', hostLink]).catch(() => {});
    mark('cgroups');
    rmSync(dir, { recursive: true, force: true });
    mark('files');
    if (errors.length) throw new Error(`real node ${name}: cgroups left behind: ${errors.join('; ')}`);
    log(`real node ${name} stopped in ${((Date.now() - t0) / 1000).toFixed(1)}s (${phases.join(', ')})`);
  };

  const inNode = (args: string[]) => ['-t', String(holderPid), '-n', '-m', '-p', '--', ...args];
  const run = async (args: string[]) => {
    try {
      return await exec('nsenter', inNode(args), { maxBuffer: 16 << 20 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${args.join(' ')} in node ${name}: ${e.stderr?.trim() || e.message}`, { cause: err });
    }
  };
  const launch = (label: string, args: string[]) => {
    const out = createWriteStream(join(dir, `${label}.log`));
    const child = spawn('nsenter', inNode(args), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    child.on('exit', (code, signal) => {
      if (!stopped)
        log(`${label} exited (code ${code}, signal ${signal}); log: ${join(dir, `${label}.log`)}`);
    });
    children.push(child);
    return child;
  };
  const tail = (label: string) => {
    try {
      return readFileSync(join(dir, `${label}.log`), 'utf8')
        .split('\n')
        .slice(-20)
        .join('\n');
    } catch {
      return '';
    }
  };

  try {
    for (const c of cgroups) mkdirSync(c, { recursive: true });
    mkdirSync(join(dir, 'sysctl'), { recursive: true });
    for (const [key, value] of Object.entries(KUBELET_SYSCTLS))
      writeFileSync(join(dir, 'sysctl', key.replaceAll('/', '.')), `${value}\n`);
    writeFileSync(join(dir, 'holder.sh'), HOLDER);
    // If this process dies without stop() (a crash, Ctrl-C), unshare gets SIGKILL (pdeathsig) and
    // --kill-child passes it to the holder, whose death empties the whole PID namespace.
    holder = spawn(
      'setpriv',
      [
        '--pdeathsig=KILL',
        '--',
        'unshare',
        '--net',
        '--mount',
        '--pid',
        '--fork',
        '--kill-child=SIGKILL',
        '--propagation=private',
        '--mount-proc',
        '--',
        'bash',
        join(dir, 'holder.sh'),
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const holderOut = createWriteStream(join(dir, 'holder.log'));
    holder.stdout!.pipe(holderOut);
    holder.stderr!.pipe(holderOut);
    const deadline = Date.now() + 10_000;
    while (!existsSync(join(dir, 'holder.ready'))) {
      if (holder.exitCode !== null) throw new Error(`node namespaces failed:\n${tail('holder')}`);
      if (Date.now() > deadline) throw new Error(`node namespaces not ready in 10 s:\n${tail('holder')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // unshare --fork: the holder is unshare's only child.
    holderPid = Number(
      readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8').trim().split(' ')[0],
    );
    if (!holderPid) throw new Error('node namespaces: no holder process');

    await exec('ip', [
      'link',
      'add',
      hostLink,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      String(holderPid),
    ]);
    await exec('ip', ['addr', 'add', `${layout.hostIp}/${layout.linkPrefix}`, 'dev', hostLink]);
    await exec('ip', ['link', 'set', hostLink, 'up']);
    await run(['ip', 'addr', 'add', `${layout.nodeIp}/${layout.linkPrefix}`, 'dev', 'eth0']);
    await run(['ip', 'link', 'set', 'eth0', 'up']);
    await run(['ip', 'route', 'add', 'default', 'via', layout.hostIp]);

    mkdirSync(join(dir, 'cni'), { recursive: true });
    writeFileSync(join(dir, 'cni', '10-converge.conflist'), cniConfig(layout));
    writeFileSync(join(dir, 'containerd.toml'), containerdConfig(layout));
    launch('containerd', ['containerd', '--config', join(dir, 'containerd.toml'), '--log-level', 'warn']);
    const sock = containerdSocket(layout);
    const cDeadline = Date.now() + 30_000;
    for (;;) {
      if (
        existsSync(sock) &&
        (await run(['ctr', '--address', sock, 'version']).then(
          () => true,
          () => false,
        ))
      )
        break;
      if (Date.now() > cDeadline) throw new Error(`containerd did not start:\n${tail('containerd')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await importPause(run, sock, opts.binDir, dir, layout.pauseImage);
    log(
      `real node ${name}: containerd up at ${sock}, link ${layout.hostIp} <-> ${layout.nodeIp}, pods ${layout.podCidr}`,
    );
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }

  const join_ = async (cluster: { server: string; token: string; caFile: string; kubectl: string }) => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{ name: local, cluster: { server: '${cluster.server}', certificate-authority: '${cluster.caFile}' } }]`,
        `users: [{ name: node, user: { token: '${cluster.token}' } }]`,
        'contexts: [{ name: local, context: { cluster: local, user: node } }]',
        'current-context: local',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    writeFileSync(join(dir, 'kubelet.yaml'), kubeletConfig(layout));
    writeFileSync(join(dir, 'kube-proxy.yaml'), kubeProxyConfig(layout, kubeconfig));
    launch('kubelet', [
      join(opts.binDir, 'kubelet'),
      `--config=${join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${join(dir, 'kubelet')}`,
      `--hostname-override=${name}`,
      `--node-ip=${layout.nodeIp}`,
      '--v=1',
    ]);
    launch('kube-proxy', [
      join(opts.binDir, 'kube-proxy'),
      `--config=${join(dir, 'kube-proxy.yaml')}`,
      '--v=1',
    ]);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const ready = await exec(cluster.kubectl, [
        '--kubeconfig',
        kubeconfig,
        'get',
        'node',
        name,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]).then(
        (r) => r.stdout.trim() === 'True',
        () => false,
      );
      if (ready) break;
      const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
      if (dead)
        throw new Error(`real node ${name}: a component exited:\n${tail('kubelet')}\n${tail('kube-proxy')}`);
      if (Date.now() > deadline) throw new Error(`real node ${name} not Ready in 90 s:\n${tail('kubelet')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    log(`real node ${name} Ready`);
  };

  return {
    name,
    hostIp: layout.hostIp,
    nodeIp: layout.nodeIp,
    podCidr: layout.podCidr,
    dir,
    join: join_,
    importImage: async (archive) => {
      await run(['ctr', '--address', containerdSocket(layout), '-n', 'k8s.io', 'images', 'import', archive]);
    },
    tagImage: async (source, target) => {
      await run([
        'ctr',
        '--address',
        containerdSocket(layout),
        '-n',
        'k8s.io',
        'images',
        'tag',
        '--force',
        source,
        target,
      ]);
    },
    stop,
  };
}

/**
 * No registry holds a pause image here: make a one-layer OCI archive of the static pause binary
 * (built from Kubernetes' build/pause/linux/pause.c) and import it under the sandbox image name.
 */
async function importPause(
  run: (args: string[]) => Promise<{ stdout: string }>,
  sock: string,
  binDir: string,
  dir: string,
  image: string,
): Promise<void> {
  const archive = join(dir, 'pause.tar');
  await writePauseArchive(join(binDir, 'pause'), archive, image);
  await run(['ctr', '--address', sock, '-n', 'k8s.io', 'images', 'import', archive]);
}

/** A one-layer OCI image archive holding `binary` as /pause, named `image` for `ctr images import`. */
export async function writePauseArchive(binary: string, archive: string, image: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'cvg-pause-'));
  try {
    const rootfs = join(work, 'rootfs');
    const layout = join(work, 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    mkdirSync(rootfs);
    mkdirSync(blobs, { recursive: true });
    copyFileSync(binary, join(rootfs, 'pause'));
    chmodSync(join(rootfs, 'pause'), 0o755);
    const layerTar = join(work, 'layer.tar');
    await exec('tar', [
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-C',
      rootfs,
      '-cf',
      layerTar,
      'pause',
    ]);
    const blob = (data: Buffer) => {
      const digest = createHash('sha256').update(data).digest('hex');
      writeFileSync(join(blobs, digest), data);
      return { digest: `sha256:${digest}`, size: data.length };
    };
    const layer = blob(readFileSync(layerTar));
    const config = blob(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Entrypoint: ['/pause'], User: '65535:65535' },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
        }),
      ),
    );
    const manifest = blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        }),
      ),
    );
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            annotations: {
              'io.containerd.image.name': image,
              'org.opencontainers.image.ref.name': image.split(':').pop(),
            },
          },
        ],
      }),
    );
    await exec('tar', ['-C', layout, '-cf', archive, '.']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

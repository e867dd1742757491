// What a real node could leave on the host, read before and after it runs: node processes, mounts,
// cgroups, network namespaces, links and bridges, iptables/nftables rules and the kubelet's sysctls.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KUBELET_SYSCTLS } from '../../src/localcluster/node-config.ts';

const run = promisify(execFile);
const NODE_COMMS = /^(containerd|containerd-shim.*|kubelet|kube-proxy|pause|runc)$/;

export interface HostState {
  /** Node processes (containerd, shims, kubelet, kube-proxy, pause, runc) as "pid comm". */
  processes: string[];
  /** Mount points of this (the host's) mount namespace. */
  mounts: string[];
  /** Cgroups directly under each hierarchy's root. */
  cgroups: string[];
  netns: string;
  /** Network interfaces (name and kind), bridges included. */
  links: string[];
  iptables: string;
  iptablesLegacy: string;
  nftables: string;
  sysctls: Record<string, string>;
}

const out = async (cmd: string, args: string[]) =>
  run(cmd, args).then(
    (r) => r.stdout,
    (err: { stderr?: string }) => `error: ${err.stderr ?? ''}`,
  );

/** Rules without comments (dates) and chain packet counters, which change with any traffic. */
const withoutCounters = (save: string) => save.replace(/^#.*$/gm, '').replace(/ \[\d+:\d+\]$/gm, '');

export async function readHostState(): Promise<HostState> {
  const processes: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (NODE_COMMS.test(comm)) processes.push(`${pid} ${comm}`);
    } catch {
      // Exited while listing.
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!)
    .sort();
  const cgroups: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', h);
    if (!existsSync(join(dir, 'cgroup.procs'))) continue;
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) cgroups.push(`${h}/${e.name}`);
  }
  const links = (await out('ip', ['-o', '-d', 'link', 'show']))
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, name] = /^\d+: ([^:@]+)/.exec(l) ?? [];
      const kind = / (bridge|veth|vxlan|dummy|ifb) /.exec(l)?.[1] ?? '';
      return `${name} ${kind}`.trim();
    })
    .sort();
  const sysctls: Record<string, string> = {};
  for (const key of [
    ...Object.keys(KUBELET_SYSCTLS),
    'net/ipv4/ip_forward',
    'net/ipv4/conf/all/route_localnet',
  ]) {
    try {
      sysctls[key] = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
    } catch {
      sysctls[key] = 'unreadable';
    }
  }
  return {
    processes: processes.sort(),
    mounts,
    cgroups: cgroups.sort(),
    netns: await out('ip', ['netns', 'list']),
    links,
    iptables: withoutCounters(await out('iptables-save', [])),
    iptablesLegacy: withoutCounters(await out('iptables-legacy-save', [])),
    nftables: await out('nft', ['list', 'ruleset']),
    sysctls,
  };
}

// The real test node's configuration as plain data: containerd, CNI, kubelet and kube-proxy config
// files, the sysctls the kubelet insists on, and the preflight that says why a machine cannot run it.
import { existsSync, readFileSync } from 'node:fs';

/** Where one node lives: its directory, addresses and cgroup (all unique per node). */
export interface NodeLayout {
  name: string;
  /** Everything the node writes (containerd root and state, kubelet root, CNI state, logs). */
  dir: string;
  /** Host end of the node's veth pair: the API server and test servers listen here. */
  hostIp: string;
  /** The node's InternalIP (its end of the veth pair). */
  nodeIp: string;
  /** Prefix length of the veth pair's subnet. */
  linkPrefix: number;
  /** The pods' subnet on the node's bridge. */
  podCidr: string;
  /** The control plane's Service range (kube-proxy programs it). */
  serviceCidr: string;
  /** Parent of every cgroup the kubelet makes, in each v1 hierarchy (`/converge-node-…`). */
  cgroupRoot: string;
  /** Name of the sandbox (pause) image containerd runs for every pod. */
  pauseImage: string;
}

export const containerdSocket = (l: NodeLayout) => `${l.dir}/containerd.sock`;

/**
 * containerd 1.6 (Debian bookworm) for the CRI: every path under the node's directory, runc with
 * cgroupfs (crun refuses this machine's hybrid cgroups), and no OOM score below containerd's own
 * (lowering it needs CAP_SYS_RESOURCE, which this kind of machine does not grant).
 */
export function containerdConfig(l: NodeLayout): string {
  return `version = 2
root = "${l.dir}/containerd"
state = "${l.dir}/containerd-state"
# The opt plugin would create /opt/containerd on the host; the others are unused snapshotters.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${containerdSocket(l)}"

[ttrpc]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${l.pauseImage}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "runc"
        Root = "${l.dir}/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${l.dir}/cni"
    max_conf_num = 1
`;
}

/** The bridge CNI: pods on one bridge with real IPs, masqueraded when they leave the node. */
export function cniConfig(l: NodeLayout): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'converge',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: l.podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: `${l.dir}/cni-ipam`,
          },
        },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(l: NodeLayout): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine mounts cgroup v1 controllers beside a v2 hierarchy (hybrid).
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: ${l.cgroupRoot}
containerRuntimeEndpoint: unix://${containerdSocket(l)}
address: ${l.nodeIp}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
# A test node on a private link: the API server reads logs without client certificates.
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
failSwapOn: false
# Lowering an OOM score needs CAP_SYS_RESOURCE.
oomScoreAdj: 0
resolvConf: /etc/resolv.conf
# The disk and memory are shared with the rest of the machine: evict only when they are nearly gone.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
serializeImagePulls: false
`;
}

export function kubeProxyConfig(l: NodeLayout, kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${kubeconfig}
mode: iptables
clusterCIDR: ${l.podCidr}
hostnameOverride: ${l.name}
bindAddress: ${l.nodeIp}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
oomScoreAdj: 0
# nf_conntrack_max is machine-wide: leave it alone.
conntrack:
  maxPerCore: 0
  min: 0
`;
}

/**
 * The sysctls the kubelet sets at start (pkg/kubelet/cm setupKernelTunables) and their values.
 * The node's mount namespace shows the kubelet files with these values over /proc/sys, so it has
 * nothing to change on the host.
 */
export const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

/** What the node needs from the host beyond binaries: kept apart so a skip can say exactly why. */
export interface NodeHost {
  uid: number;
  filesystems: string;
  commands: Record<string, boolean>;
}

/** Why this machine cannot run a real node, or undefined when it can. */
export function realNodeUnsupported(host: NodeHost): string | undefined {
  if (host.uid !== 0)
    return `needs root (uid ${host.uid}): the kubelet mounts volumes and runc makes cgroups`;
  if (!/\toverlay$/m.test(host.filesystems))
    return 'the kernel has no overlay filesystem (containerd unpacks images with it)';
  const missing = Object.entries(host.commands)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  if (missing.length > 0)
    return `missing ${missing.join(', ')} (scripts/setup.sh installs them: containerd runc containernetworking-plugins iptables buildah)`;
  return undefined;
}

/** The host facts realNodeUnsupported judges, read from this machine. */
export function readNodeHost(commandPaths: Record<string, string>): NodeHost {
  let filesystems = '';
  try {
    filesystems = readFileSync('/proc/filesystems', 'utf8');
  } catch {
    // Not Linux: no overlay either.
  }
  return {
    uid: process.getuid?.() ?? -1,
    filesystems,
    commands: Object.fromEntries(Object.entries(commandPaths).map(([n, p]) => [n, existsSync(p)])),
  };
}

// The real node's configuration as data: every path stays in the node's directory, the traps of
// this kind of machine are handled, and a machine that cannot run it is told why in one line.
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  KUBELET_SYSCTLS,
  cniConfig,
  containerdConfig,
  kubeProxyConfig,
  kubeletConfig,
  realNodeUnsupported,
  type NodeLayout,
} from '../../../src/localcluster/node-config.ts';

const layout: NodeLayout = {
  name: 'converge-node-abc123',
  dir: '/tmp/cvg-node-abc123-x',
  hostIp: '10.213.7.1',
  nodeIp: '10.213.7.2',
  linkPrefix: 30,
  podCidr: '10.214.7.0/24',
  serviceCidr: '10.0.0.0/24',
  cgroupRoot: '/converge-node-abc123',
  pauseImage: 'localhost/converge/pause:3.10',
};

describe('real node configuration', () => {
  it('containerd keeps its state in the node directory, runs runc with cgroupfs, and never lowers OOM scores', () => {
    const toml = containerdConfig(layout);
    for (const key of ['root', 'state', 'address', 'Root', 'conf_dir'])
      expect(toml).toMatch(new RegExp(`${key} = "/tmp/cvg-node-abc123-x/`));
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('SystemdCgroup = false');
    expect(toml).toContain('sandbox_image = "localhost/converge/pause:3.10"');
    // The opt plugin would write /opt/containerd on the host.
    expect(toml).toContain('"io.containerd.internal.v1.opt"');
  });

  it('the kubelet accepts hybrid cgroup v1, uses cgroupfs under its own cgroup root, and sets no OOM score', () => {
    const config = yaml.load(kubeletConfig(layout)) as Record<string, unknown>;
    expect(config).toMatchObject({
      kind: 'KubeletConfiguration',
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: '/converge-node-abc123',
      containerRuntimeEndpoint: 'unix:///tmp/cvg-node-abc123-x/containerd.sock',
      address: '10.213.7.2',
      oomScoreAdj: 0,
    });
  });

  it('kube-proxy leaves the machine-wide conntrack table size alone', () => {
    const config = yaml.load(kubeProxyConfig(layout, '/k')) as Record<string, unknown>;
    expect(config).toMatchObject({
      mode: 'iptables',
      clusterCIDR: '10.214.7.0/24',
      hostnameOverride: 'converge-node-abc123',
      conntrack: { maxPerCore: 0 },
      oomScoreAdj: 0,
    });
  });

  it('the bridge CNI gives pods the node subnet and keeps IPAM state in the node directory', () => {
    const conf = JSON.parse(cniConfig(layout)) as {
      plugins: Array<{ type: string; ipam: { ranges: Array<Array<{ subnet: string }>>; dataDir: string } }>;
    };
    expect(conf.plugins[0]!.type).toBe('bridge');
    expect(conf.plugins[0]!.ipam.ranges[0]![0]!.subnet).toBe('10.214.7.0/24');
    expect(conf.plugins[0]!.ipam.dataDir).toBe('/tmp/cvg-node-abc123-x/cni-ipam');
  });

  it('names the sysctls the kubelet sets, with the values it wants', () => {
    expect(KUBELET_SYSCTLS).toMatchObject({ 'vm/overcommit_memory': '1', 'kernel/panic': '10' });
  });
});

describe('realNodeUnsupported', () => {
  const ok = { uid: 0, filesystems: 'nodev\tproc\n\toverlay\n', commands: { containerd: true, runc: true } };
  it('is undefined on a machine that can run a node', () => {
    expect(realNodeUnsupported(ok)).toBeUndefined();
  });
  it('says why in one line otherwise', () => {
    expect(realNodeUnsupported({ ...ok, uid: 1000 })).toMatch(/^needs root \(uid 1000\)/);
    expect(realNodeUnsupported({ ...ok, filesystems: 'nodev\tproc\n' })).toMatch(/no overlay filesystem/);
    expect(realNodeUnsupported({ ...ok, commands: { containerd: false, runc: true } })).toMatch(
      /^missing containerd \(scripts\/setup.sh/,
    );
  });
});

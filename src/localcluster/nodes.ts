// Fake nodes for the local control plane: kube-scheduler binds pods, kwok plays the kubelet of a
// few nodes (annotation kwok.x-k8s.io/node: fake) so pods run and rollouts finish; no containers.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** kwok Stage files: kwok's "fast" node and pod stages plus Converge's failure stages (see its README). */
export const kwokStagesDir = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'hack',
  'kwok',
  'stages',
);

/** Whether `binDir` has what fake nodes need (KUBEBUILDER_ASSETS usually has neither). */
export function canRunPods(binDir: string): boolean {
  return existsSync(join(binDir, 'kube-scheduler')) && existsSync(join(binDir, 'kwok'));
}

export const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export function fakeNodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
}

/** A Node kwok manages; its status (Ready, capacity, addresses) is kwok's node-initialize stage. */
export function fakeNode(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [FAKE_NODE_ANNOTATION]: 'fake' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    spec: {},
  };
}

export function schedulerArgs(kubeconfig: string): string[] {
  return [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=0'];
}

export function kwokArgs(kubeconfig: string, stagesDir = kwokStagesDir): string[] {
  const stages = readdirSync(stagesDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `--config=${join(stagesDir, f)}`);
  return [
    `--kubeconfig=${kubeconfig}`,
    '--manage-all-nodes=false',
    `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
    // No node-lifecycle controller runs, so no one reads leases or heartbeats: skip them.
    '--node-lease-duration-seconds=0',
    '--cidr=10.244.0.0/16',
    '--node-ip=10.240.0.1',
    '--v=WARN',
    ...stages,
  ];
}

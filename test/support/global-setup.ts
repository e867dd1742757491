// vitest globalSetup for the "cluster" project: one real control plane shared by every test file,
// with fake kwok nodes (pods run) when the binaries exist, and the GitSource, Notifier and ImagePolicy CRDs
// installed by real kubectl. Each test isolates itself in its own namespace.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import {
  canRunPods,
  ensureControlPlaneBinaries,
  resolveClientTools,
  startLocalCluster,
} from '../../src/localcluster/index.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

export default async function setup(project: TestProject) {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const binDir = await ensureControlPlaneBinaries({ kubebuilderAssets: process.env.KUBEBUILDER_ASSETS, log });
  const tools = await resolveClientTools({
    kubectl: process.env.CONVERGE_KUBECTL,
    helm: process.env.CONVERGE_HELM,
    // Tests pin the bundled kubectl/helm versions unless told otherwise.
    searchPath: false,
  });
  const podsRun = canRunPods(binDir);
  // Without them (KUBEBUILDER_ASSETS from setup-envtest) the build script has said so in one line.
  const cluster = await startLocalCluster({ binDir, controllerManager: true, nodes: podsRun ? 3 : 0, log });
  try {
    const kubectl = (...args: string[]) =>
      run(tools.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args]);
    await kubectl(
      'apply',
      '--server-side',
      '-f',
      join(root, 'crds', 'gitsource.yaml'),
      '-f',
      join(root, 'crds', 'notifier.yaml'),
      '-f',
      join(root, 'crds', 'imagepolicy.yaml'),
    );
    await kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/gitsources.gitops.converge.dev',
      'crd/notifiers.gitops.converge.dev',
      'crd/imagepolicies.gitops.converge.dev',
    );
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  project.provide('kubeconfig', cluster.kubeconfigPath);
  project.provide('kubectl', tools.kubectl);
  project.provide('helm', tools.helm);
  project.provide('controlPlaneBin', binDir);
  project.provide('podsRun', podsRun);
  return async () => {
    await cluster.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    helm: string;
    controlPlaneBin: string;
    /** kube-scheduler and kwok fake nodes run: pods become Running/Ready, rollouts finish. */
    podsRun: boolean;
  }
}

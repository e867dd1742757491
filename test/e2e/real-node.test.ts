// Journey: Converge installed as users install it. The image built from the Dockerfile, a real node
// (containerd + runc, bridge CNI, kubelet, kube-proxy) joined to its own control plane, and
// `helm install` of deploy/helm/converge: the operator pod takes the Lease, converges a GitSource
// whose Deployment's real pods become Ready, follows a commit, corrects a `kubectl edit`, hands the
// Lease over on `helm upgrade`, delivers a Notifier, and `helm uninstall` leaves nothing behind;
// then the same with rbac.mode: tenant. The machine is compared before and after.
//
// Its own control plane: the shared one listens on loopback only, which the node's pods (in their
// own network namespace) cannot reach; this one listens on the host's end of the node's link.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  SERVICE_CIDR,
  createRealNode,
  ensureControlPlaneBinaries,
  realNodeSkipReason,
  startLocalCluster,
  type LocalCluster,
  type RealNode,
} from '../../src/localcluster/index.ts';
import { eventually, kubectl, kubectlOk, useOwnCluster } from '../support/cluster.ts';
import { startFakeServices, type FakeServices } from '../support/fake-services.ts';
import { commitFiles, startGitFixture, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { applyGitSource, eventsFor, waitForCondition } from '../support/gitops.ts';
import { readHostState, type HostState } from '../support/host-state.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'deploy', 'helm', 'converge');
const IMAGE = 'localhost/converge';
const HMAC_KEY = 'real-node-hmac-key-5c1e';

// The node's binaries: built by scripts/setup.sh; a machine without them (or without root or
// overlayfs) skips the journey with one line saying why.
const binDir = await ensureControlPlaneBinaries({ kubebuilderAssets: process.env.KUBEBUILDER_ASSETS });
const nodeBins = await run('bash', [join(root, 'scripts', 'build-node.sh')]).then(
  (r) => r.stdout.trim().split('\n').pop()!,
  (err: { stderr?: string }) => `build failed: ${err.stderr ?? ''}`,
);
const canBuild = ['/usr/bin/buildah', '/usr/bin/docker', '/usr/local/bin/docker'].some((p) => existsSync(p));
const skip = nodeBins.startsWith('build failed')
  ? nodeBins
  : (realNodeSkipReason(nodeBins) ??
    (canBuild ? undefined : 'neither buildah nor docker to build the image'));
if (skip) console.warn(`[real-node] journey skipped: ${skip}`);

let before: HostState;
let work: string;
let node: RealNode | undefined;
let cluster: LocalCluster | undefined;
let fixture: GitFixture | undefined;
let http: HttpGitServer;
let receiver: FakeServices | undefined;
const timings: Record<string, number> = {};
const log = (line: string) => process.stderr.write(`[real-node] ${line}\n`);

const helm = (args: string[]) =>
  run(inject('helm'), ['--kubeconfig', cluster!.kubeconfigPath, ...args], { maxBuffer: 16 << 20 }).catch(
    (err: { stderr?: string; message: string }) => {
      throw new Error(`helm ${args.join(' ')}: ${err.stderr || err.message}`);
    },
  );

/** The image build: progress lines pass through; the archive is what the node imports. */
async function buildImage(archive: string): Promise<void> {
  const child = spawn(
    'bash',
    [join(root, 'scripts', 'build-image.sh'), '--tag', 'converge:e2e', '--archive', archive],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let tail = '';
  child.stderr.on('data', (b: Buffer) => {
    const text = b.toString();
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (/^\[image\]|^STEP|^\[\d\/\d\] STEP/.test(line)) log(line);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`scripts/build-image.sh failed (${code}):\n${tail}`);
}

const lease = async (ns: string) =>
  JSON.parse(await kubectlOk(['get', 'lease', 'converge-leader', '-n', ns, '-o', 'json'])) as {
    spec: { holderIdentity?: string };
  };

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers: Array<{ image: string }> };
  status: { podIP?: string; phase?: string; conditions?: Array<{ type: string; status: string }> };
}

async function pods(ns: string, selector: string): Promise<Pod[]> {
  return (
    JSON.parse(await kubectlOk(['get', 'pods', '-n', ns, '-l', selector, '-o', 'json'])) as { items: Pod[] }
  ).items;
}
/** Objects of a Helm release still present: everything the chart labels, in any namespace. */
async function leftovers(release: string): Promise<string[]> {
  const kinds =
    'deployments,replicasets,pods,services,serviceaccounts,configmaps,secrets,roles,rolebindings,clusterroles,clusterrolebindings,ingresses,networkpolicies';
  const out = await kubectlOk([
    'get',
    kinds,
    '-A',
    '-l',
    `app.kubernetes.io/instance=${release}`,
    '-o',
    'name',
  ]);
  return out.split('\n').filter(Boolean);
}
const ready = (p: Pod) =>
  p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** A real app: the converge image's Node.js serving HTTP, Ready only once its probe answers. */
function webApp(name: string, replicas: number, version: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'web',
              image: `${IMAGE}:e2e`,
              imagePullPolicy: 'Never',
              command: [
                'node',
                '-e',
                "require('http').createServer((q,s)=>s.end(process.env.VERSION)).listen(8000)",
              ],
              env: [{ name: 'VERSION', value: version }],
              readinessProbe: { httpGet: { path: '/', port: 8000 }, periodSeconds: 1 },
              securityContext: {
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
              },
            },
          ],
        },
      },
    },
  });
}

describe.skipIf(skip)('real node: the image, the chart and a kubelet', () => {
  beforeAll(async () => {
    before = await readHostState();
    work = mkdtempSync(join(tmpdir(), 'cvg-e2e-node-'));
    let t = Date.now();
    await buildImage(join(work, 'converge.oci'));
    timings.imageBuildS = (Date.now() - t) / 1000;
    t = Date.now();
    node = await createRealNode({ binDir: nodeBins, serviceCidr: SERVICE_CIDR, log });
    cluster = await startLocalCluster({ binDir, realNode: { address: node.hostIp }, log });
    useOwnCluster(cluster.kubeconfigPath);
    await node.join({
      server: cluster.server,
      token: cluster.token,
      caFile: cluster.caFile,
      kubectl: inject('kubectl'),
    });
    await node.importImage(join(work, 'converge.oci'));
    // The upgrade's "new version": the same build under a second tag.
    await node.tagImage(`${IMAGE}:e2e`, `${IMAGE}:e2e-2`);
    timings.nodeStartS = (Date.now() - t) / 1000;
    fixture = await startGitFixture();
    http = await fixture.serveHttp({ host: node.hostIp });
    receiver = await startFakeServices(
      { token: 'unused', username: 'u', password: 'p', hmacKey: HMAC_KEY },
      node.hostIp,
    );
  }, 1_200_000);

  afterAll(async () => {
    useOwnCluster(undefined);
    await receiver?.close();
    await fixture?.close();
    await node?.stop();
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    log(`timings: ${JSON.stringify(timings)}`);
  }, 120_000);

  it('pods get real IPs on the node and reach the API server through the kubernetes Service', async () => {
    const t = Date.now();
    await kubectlOk(['create', 'namespace', 'probe']);
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'api', namespace: 'probe', labels: { app: 'api' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'api',
              image: `${IMAGE}:e2e`,
              imagePullPolicy: 'Never',
              // The ServiceAccount token and CA kubelet mounts, to https://$KUBERNETES_SERVICE_HOST.
              command: [
                'node',
                '-e',
                `const fs=require('fs'),https=require('https');const d='/var/run/secrets/kubernetes.io/serviceaccount/';
                 https.get({host:process.env.KUBERNETES_SERVICE_HOST,port:process.env.KUBERNETES_SERVICE_PORT,path:'/version',
                   ca:fs.readFileSync(d+'ca.crt'),headers:{authorization:'Bearer '+fs.readFileSync(d+'token','utf8')}},
                   r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>{console.log(process.env.KUBERNETES_SERVICE_HOST,r.statusCode,JSON.parse(b).gitVersion);process.exit(r.statusCode===200?0:1)})}).on('error',e=>{console.error(e.message);process.exit(2)})`,
              ],
            },
          ],
        },
      }),
    );
    const pod = await eventually(
      async () => {
        const [p] = await pods('probe', 'app=api');
        return p && ['Succeeded', 'Failed'].includes(p.status.phase ?? '') ? p : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the API probe pod to finish' },
    );
    const logs = await kubectlOk(['logs', '-n', 'probe', 'api']);
    expect({ phase: pod.status.phase, logs: logs.trim() }).toEqual({
      phase: 'Succeeded',
      logs: '10.0.0.1 200 v1.34.3',
    });
    expect(pod.spec.nodeName).toBe(node!.name);
    expect(pod.status.podIP).toMatch(new RegExp(`^${node!.podCidr.split('.').slice(0, 3).join('\\.')}\\.`));
    await kubectlOk(['delete', 'namespace', 'probe', '--wait=false']);
    timings.probePodS = (Date.now() - t) / 1000;
  }, 90_000);

  it('the image runs converge version, git, ssh, kubectl and helm as uid 65532 on a read-only root', async () => {
    await kubectlOk(['create', 'namespace', 'tools']);
    const locked = {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    };
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'tools', namespace: 'tools', labels: { app: 'tools' } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          // The image's own ENTRYPOINT with `version`, then the tools it ships, as the chart runs them.
          initContainers: [
            {
              name: 'version',
              image: `${IMAGE}:e2e`,
              imagePullPolicy: 'Never',
              args: ['version'],
              securityContext: locked,
            },
          ],
          containers: [
            {
              name: 'tools',
              image: `${IMAGE}:e2e`,
              imagePullPolicy: 'Never',
              command: [
                'sh',
                '-c',
                'id -u && git --version && ssh -V 2>&1 && kubectl version --client=true && helm version --short && if touch /app/x 2>/dev/null; then echo root-writable; else echo root-read-only; fi',
              ],
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              securityContext: locked,
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      }),
    );
    const pod = await eventually(
      async () => {
        const [p] = await pods('tools', 'app=tools');
        return p && ['Succeeded', 'Failed'].includes(p.status.phase ?? '') ? p : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the tools pod to finish' },
    );
    const version = await kubectlOk(['logs', '-n', 'tools', 'tools', '-c', 'version']);
    const tools = await kubectlOk(['logs', '-n', 'tools', 'tools', '-c', 'tools']);
    expect(pod.status.phase, tools).toBe('Succeeded');
    expect(version).toMatch(/^converge \d+\.\d+\.\d+/);
    const lines = tools.trim().split('\n');
    expect(lines[0]).toBe('65532');
    expect(tools).toMatch(/git version 2\./);
    expect(tools).toMatch(/OpenSSH_/);
    expect(tools).toMatch(/Client Version: v1\./);
    expect(tools).toMatch(/v\d+\.\d+\.\d+\+g/);
    expect(lines.at(-1)).toBe('root-read-only');
    await kubectlOk(['delete', 'namespace', 'tools', '--wait=false']);
  }, 90_000);

  it('helm install → Lease → GitSource with real pods → commit → kubectl edit → helm upgrade → Notifier → helm uninstall', async () => {
    const t0 = Date.now();
    const ns = 'converge-system';
    const app = 'shop';
    const operatorPods = () => pods(ns, 'app.kubernetes.io/instance=converge');

    // Installed as the README says: only image.* and replicas set.
    await helm([
      'install',
      'converge',
      chart,
      '-n',
      ns,
      '--create-namespace',
      '--set',
      `image.repository=${IMAGE}`,
      '--set',
      'image.tag=e2e',
      '--set',
      'replicas=2',
      '--wait',
      '--timeout',
      '3m',
    ]);
    const first = await operatorPods();
    expect(first.map((p) => [ready(p), p.spec.nodeName, p.spec.containers[0]!.image])).toEqual([
      [true, node!.name, `${IMAGE}:e2e`],
      [true, node!.name, `${IMAGE}:e2e`],
    ]);
    const leader = await eventually(async () => (await lease(ns)).spec.holderIdentity, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'an operator pod to hold the Lease',
    });
    expect(first.map((p) => p.metadata.name)).toContain(leader);
    timings.installS = (Date.now() - t0) / 1000;

    // A GitSource on the git server the pod reaches over the node's link; its Deployment's pods
    // are real containers, Ready only when their HTTP probe answers.
    await kubectlOk(['create', 'namespace', app]);
    const repo = await fixture!.createRepo('shop');
    const files = (color: string) => ({
      'web.yaml': webApp('web', 2, 'v1'),
      'settings.yaml': JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings' },
        data: { color },
      }),
    });
    const sha1 = await commitFiles(repo, files('blue'), 'v1');
    await applyGitSource(app, 'web', {
      url: http.url('shop'),
      interval: '5s',
      retryInterval: '5s',
      targetNamespace: app,
    });
    await waitForCondition(app, 'web', 'Ready', 'True', { revision: sha1!, timeoutMs: 90_000 });
    const web = await pods(app, 'app=web');
    expect(web.map((p) => [ready(p), p.spec.nodeName])).toEqual([
      [true, node!.name],
      [true, node!.name],
    ]);
    const prefix = node!.podCidr.split('.').slice(0, 3).join('.') + '.';
    for (const p of web) expect(p.status.podIP?.startsWith(prefix)).toBe(true);
    timings.firstSyncS = (Date.now() - t0) / 1000;

    // A commit converges.
    const sha2 = await commitFiles(repo, files('green'), 'v2');
    await waitForCondition(app, 'web', 'Ready', 'True', { revision: sha2!, timeoutMs: 60_000 });
    const settings = async () =>
      JSON.parse(await kubectlOk(['get', 'configmap', 'settings', '-n', app, '-o', 'json'])) as {
        data: { color: string };
        metadata: { resourceVersion: string };
      };
    expect((await settings()).data.color).toBe('green');

    // A hand edit (kubectl edit, with a scripted editor) is put back.
    const edited = await run(
      inject('kubectl'),
      ['--kubeconfig', cluster!.kubeconfigPath, 'edit', 'configmap', 'settings', '-n', app],
      {
        env: { ...process.env, KUBE_EDITOR: 'sed -i -e s/green/purple/' },
      },
    );
    expect(edited.stdout).toContain('edited');
    await eventually(async () => (await settings()).data.color === 'green', {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the edit to be corrected',
    });
    timings.driftS = (Date.now() - t0) / 1000;

    // helm upgrade to a second image tag: the new pods take the Lease; the commit is not applied again.
    const changedBefore = (await eventsFor(app, 'web')).filter((e) => e.reason === 'Changed').length;
    const settingsVersion = (await settings()).metadata.resourceVersion;
    const webPods = web.map((p) => p.metadata.name).sort();
    await helm([
      'upgrade',
      'converge',
      chart,
      '-n',
      ns,
      '--reuse-values',
      '--set',
      'image.tag=e2e-2',
      '--wait',
      '--timeout',
      '3m',
    ]);
    const second = await eventually(
      async () => {
        const ps = await operatorPods();
        return ps.length === 2 &&
          ps.every((p) => p.spec.containers[0]!.image === `${IMAGE}:e2e-2` && ready(p))
          ? ps
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'two Ready pods of the upgraded image' },
    );
    const newLeader = await eventually(
      async () => {
        const h = (await lease(ns)).spec.holderIdentity;
        return h && second.some((p) => p.metadata.name === h) ? h : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'an upgraded pod to hold the Lease' },
    );
    expect(newLeader).not.toBe(leader);
    // The new leader has reconciled (a requested pass is handled) and found nothing to change.
    await kubectlOk([
      'annotate',
      '--overwrite',
      'gitsource/web',
      '-n',
      app,
      `gitops.converge.dev/requested-at=${Date.now()}`,
    ]);
    await eventually(
      async () => {
        const gs = JSON.parse(await kubectlOk(['get', 'gitsource', 'web', '-n', app, '-o', 'json'])) as {
          metadata: { annotations: Record<string, string> };
          status: { lastHandledReconcileAt?: string };
        };
        return (
          gs.status.lastHandledReconcileAt === gs.metadata.annotations['gitops.converge.dev/requested-at']
        );
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the new leader to handle a requested reconcile' },
    );
    expect((await eventsFor(app, 'web')).filter((e) => e.reason === 'Changed').length).toBe(changedBefore);
    expect((await settings()).metadata.resourceVersion).toBe(settingsVersion);
    expect((await pods(app, 'app=web')).map((p) => p.metadata.name).sort()).toEqual(webPods);
    timings.upgradeS = (Date.now() - t0) / 1000;

    // A Notifier delivers to a receiver the pod reaches (a CloudEvent, HMAC-signed).
    await kubectlOk([
      'create',
      'secret',
      'generic',
      'hook',
      '-n',
      app,
      `--from-literal=address=${receiver!.url}/hook`,
      `--from-literal=key=${HMAC_KEY}`,
    ]);
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'Notifier',
        metadata: { name: 'hook', namespace: app },
        spec: { type: 'webhook', secretRef: { name: 'hook' } },
      }),
    );
    await eventually(
      async () =>
        (
          JSON.parse(await kubectlOk(['get', 'notifier', 'hook', '-n', app, '-o', 'json'])) as {
            status?: { conditions?: Array<{ type: string; status: string }> };
          }
        ).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      { timeoutMs: 30_000, intervalMs: 250, what: 'Notifier hook Ready' },
    );
    const sha3 = await commitFiles(repo, files('red'), 'v3');
    await waitForCondition(app, 'web', 'Ready', 'True', { revision: sha3!, timeoutMs: 60_000 });
    const delivered = await eventually(
      () =>
        receiver!.webhookEvents.find((e) =>
          (e.data as { revision?: string } | undefined)?.revision?.includes(sha3!),
        ),
      { timeoutMs: 30_000, intervalMs: 250, what: 'a CloudEvent for v3' },
    );
    expect(delivered.subject).toBe(`${app}/web`);
    timings.notifyS = (Date.now() - t0) / 1000;

    // helm uninstall: the operator's objects go (the CRDs stay, as Helm documents for crds/).
    await helm(['uninstall', 'converge', '-n', ns, '--wait', '--timeout', '2m']);
    await eventually(async () => (await operatorPods()).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'operator pods gone',
    });
    // The Lease converge-leader is the operator's, not the chart's (it is made at run time), so it stays.
    expect(await leftovers('converge')).toEqual([]);
    expect((await kubectlOk(['get', 'crd', '-o', 'name'])).split('\n').filter(Boolean).sort()).toEqual([
      'customresourcedefinition.apiextensions.k8s.io/gitsources.gitops.converge.dev',
      'customresourcedefinition.apiextensions.k8s.io/imagepolicies.gitops.converge.dev',
      'customresourcedefinition.apiextensions.k8s.io/notifiers.gitops.converge.dev',
    ]);
    // The app stays: uninstalling the operator does not delete what it applied.
    expect((await settings()).data.color).toBe('red');
    timings.journeyS = (Date.now() - t0) / 1000;
  }, 240_000);

  it('rbac.mode: tenant applies with the tenant ServiceAccount and is refused outside its namespace', async () => {
    const t0 = Date.now();
    const ns = 'converge-tenant';
    const team = 'team-a';
    await kubectlOk(['create', 'namespace', team]);
    await helm([
      'install',
      'tenant',
      chart,
      '-n',
      ns,
      '--create-namespace',
      '--set',
      `image.repository=${IMAGE}`,
      '--set',
      'image.tag=e2e',
      '--set',
      'replicas=1',
      '--set',
      'rbac.mode=tenant',
      '--set',
      `rbac.tenantNamespaces={${team}}`,
      '--wait',
      '--timeout',
      '3m',
    ]);
    await eventually(async () => (await lease(ns)).spec.holderIdentity, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the tenant operator to hold the Lease',
    });

    const repo = await fixture!.createRepo('team');
    const sha = await commitFiles(repo, { 'web.yaml': webApp('api', 1, 't1') }, 'team v1');
    await applyGitSource(team, 'api', {
      url: http.url('team'),
      interval: '5s',
      retryInterval: '5s',
      serviceAccountName: 'converge-deployer',
    });
    await waitForCondition(team, 'api', 'Ready', 'True', { revision: sha!, timeoutMs: 90_000 });
    expect((await pods(team, 'app=api')).map(ready)).toEqual([true]);

    // An object outside the tenant namespace: refused by RBAC, reported on the GitSource.
    const escape = await fixture!.createRepo('escape');
    await commitFiles(
      escape,
      {
        'cm.yaml': JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'x', namespace: 'default' },
          data: { a: 'b' },
        }),
      },
      'escape',
    );
    await applyGitSource(team, 'escape', {
      url: http.url('escape'),
      interval: '5s',
      retryInterval: '5s',
      serviceAccountName: 'converge-deployer',
    });
    const refused = await waitForCondition(team, 'escape', 'Ready', 'False', { timeoutMs: 60_000 });
    expect(refused.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(/forbidden/i);
    expect((await kubectl(['get', 'configmap', 'x', '-n', 'default'])).code).not.toBe(0);

    await helm(['uninstall', 'tenant', '-n', ns, '--wait', '--timeout', '2m']);
    await eventually(async () => (await pods(ns, 'app.kubernetes.io/instance=tenant')).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'tenant operator pods gone',
    });
    expect(await leftovers('tenant')).toEqual([]);
    timings.tenantS = (Date.now() - t0) / 1000;
  }, 240_000);

  it('leaves the machine as it was found', async () => {
    await receiver?.close();
    await fixture?.close();
    let t = Date.now();
    await node!.stop();
    timings.nodeStopS = (Date.now() - t) / 1000;
    t = Date.now();
    await cluster!.stop();
    timings.controlPlaneStopS = (Date.now() - t) / 1000;
    const after = await readHostState();
    const added = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
    expect({
      processes: added(before.processes, after.processes),
      mounts: added(before.mounts, after.mounts),
      cgroups: added(before.cgroups, after.cgroups),
      links: added(before.links, after.links),
      netns: after.netns,
      iptables: after.iptables,
      iptablesLegacy: after.iptablesLegacy,
      nftables: after.nftables,
      sysctls: after.sysctls,
    }).toEqual({
      processes: [],
      mounts: [],
      cgroups: [],
      links: [],
      netns: before.netns,
      iptables: before.iptables,
      iptablesLegacy: before.iptablesLegacy,
      nftables: before.nftables,
      sysctls: before.sysctls,
    });
  }, 120_000);
});

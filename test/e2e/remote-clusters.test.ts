// Journey: one operator in the management cluster applies GitSources to a second, real control plane
// named by a kubeconfig Secret: apply, prune and drift there; an exec kubeconfig refused; a rotated
// token picked up without a restart; the remote API server killed mid-apply and brought back.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../../src/localcluster/index.ts';
import { configMap } from '../support/apps.ts';
import { converge } from '../support/cli.ts';
import { createNamespace, deleteNamespace, eventually, kubectl, kubectlOk } from '../support/cluster.ts';
import {
  commitFiles,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
} from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  eventsFor,
  getGitSource,
  inventoryIds,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';

let remote: LocalCluster;
let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;
let operator: OperatorProcess;
/** Tokens that must never show up in logs, Events or status. */
const secrets: string[] = [];

/** Real kubectl against the remote cluster (admin). */
function rk(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(
      inject('kubectl'),
      ['--kubeconfig', remote.kubeconfigPath, ...args],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function rkOk(args: string[], input?: string): Promise<string> {
  const r = await rk(args, input);
  if (r.code !== 0) throw new Error(`remote kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Names of the ConfigMaps in a remote namespace. */
async function remoteConfigMaps(namespace: string): Promise<string[]> {
  const r = await rk(['get', 'configmaps', '-n', namespace, '-l', 'gitops.converge.dev/name', '-o', 'name']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace('configmap/', ''))
    .sort();
}

/** The remote admin kubeconfig with another user token (or exec), as a Secret value. */
function kubeconfigWith(user: Record<string, unknown>): string {
  const doc = yaml.load(readFileSync(remote.kubeconfigPath, 'utf8')) as {
    users: Array<{ name: string; user: Record<string, unknown> }>;
  };
  doc.users[0]!.user = user;
  return yaml.dump(doc);
}

async function putSecret(name: string, kubeconfig: string): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns },
      stringData: { value: kubeconfig },
    }),
  );
}

const names = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `cm-${String(from + i).padStart(3, '0')}`);

const manifests = (list: string[]) =>
  Object.fromEntries(list.map((n) => [`big/${n}.yaml`, configMap(n, { n })]));

beforeAll(async () => {
  // One extra control plane for this file: no controller manager, no nodes (ConfigMaps need neither).
  [remote, ns, fixture] = await Promise.all([
    startLocalCluster({ binDir: inject('controlPlaneBin'), controllerManager: false, nodes: 0 }),
    createNamespace('remote'),
    startGitFixture(),
  ]);
  secrets.push(remote.token);
  [http, repo] = await Promise.all([fixture.serveHttp(), fixture.createRepo('fleet')]);
  await rkOk(['create', 'namespace', 'remote-app']);
  await commitFiles(
    repo,
    {
      'app/a.yaml': configMap('a', { greeting: 'hello' }),
      'app/b.yaml': configMap('b', { greeting: 'hi' }),
      'local/l.yaml': configMap('l', { v: '1' }),
      ...manifests(names(0, 150)),
    },
    'fleet',
  );
  await putSecret('remote-kubeconfig', readFileSync(remote.kubeconfigPath, 'utf8'));
  operator = await startOperator({ namespace: ns });
}, 240_000);

afterAll(async () => {
  // Nothing secret in the operator's log, whatever happened.
  const logs = operator?.logs.join('\n') ?? '';
  await operator?.stop();
  await fixture?.close();
  await deleteNamespace(ns);
  await remote?.stop();
  for (const s of secrets) expect(logs).not.toContain(s);
});

const remoteSpec = (path: string, extra: Record<string, unknown> = {}) => ({
  url: http.url('fleet'),
  path,
  interval: '5s',
  retryInterval: '1s',
  wait: false,
  targetNamespace: 'remote-app',
  kubeConfig: { secretRef: { name: 'remote-kubeconfig' } },
  ...extra,
});

describe('remote clusters', () => {
  it('applies, corrects drift and prunes in the remote cluster; status and inventory stay here', async () => {
    await applyGitSource(ns, 'app', remoteSpec('app'));
    const gs = await waitForCondition(ns, 'app', 'Ready', 'True', { timeoutMs: 60_000 });
    expect(gs.status as Record<string, unknown>).toMatchObject({
      cluster: { server: `${remote.server}/`, context: 'local' },
    });
    expect(await remoteConfigMaps('remote-app')).toEqual(['a', 'b']);
    expect(inventoryIds(gs)).toHaveLength(2);
    // Applied there, not here: the management cluster has no such namespace.
    expect((await kubectl(['get', 'namespace', 'remote-app'])).code).not.toBe(0);
    const live = JSON.parse(await rkOk(['get', 'configmap', 'a', '-n', 'remote-app', '-o', 'json'])) as {
      metadata: { labels: Record<string, string> };
    };
    expect(live.metadata.labels).toMatchObject({
      'gitops.converge.dev/name': 'app',
      'gitops.converge.dev/namespace': ns,
    });

    // A hand edit in the remote cluster is seen by its drift watch and corrected.
    await rkOk([
      'patch',
      'configmap',
      'a',
      '-n',
      'remote-app',
      '--type=merge',
      '-p',
      '{"data":{"greeting":"edited"}}',
    ]);
    await eventually(
      async () =>
        JSON.parse(await rkOk(['get', 'configmap', 'a', '-n', 'remote-app', '-o', 'json'])).data.greeting ===
        'hello',
      { timeoutMs: 15_000, what: 'drift corrected in the remote cluster' },
    );

    // The CLI: get shows the cluster; diff plans against it (no change); tree reads objects there.
    const get = await converge(['get', '-n', ns]);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/CLUSTER/);
    expect(get.stdout).toContain(`local@${new URL(remote.server).host}`);
    const diff = await converge(['diff', 'app', '-n', ns]);
    expect(diff.code, diff.stderr + diff.stdout).toBe(0);
    const tree = await converge(['tree', 'app', '-n', ns]);
    expect(tree.code).toBe(0);
    expect(tree.stdout).toMatch(/ConfigMap[\s\S]*a[\s\S]*Current/);
    expect(tree.stdout).toContain(remote.server);

    // A file removed from Git is pruned in the remote cluster.
    await commitFiles(repo, { 'app/b.yaml': null }, 'drop b');
    await eventually(async () => (await remoteConfigMaps('remote-app')).join(',') === 'a', {
      timeoutMs: 30_000,
      what: 'b pruned in the remote cluster',
    });
    await waitForCondition(ns, 'app', 'Ready', 'True');
  });

  it('refuses a kubeconfig with an exec plugin unless the operator allows it', async () => {
    const marker = join(tmpdir(), `converge-exec-${process.pid}-${Date.now()}`);
    await putSecret(
      'exec-kubeconfig',
      kubeconfigWith({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: '/bin/sh',
          args: [
            '-c',
            `touch ${marker}; echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"x"}}'`,
          ],
        },
      }),
    );
    await applyGitSource(
      ns,
      'exec',
      remoteSpec('app', { kubeConfig: { secretRef: { name: 'exec-kubeconfig' } } }),
    );
    const gs = await waitForCondition(ns, 'exec', 'Ready', 'False', { reason: 'InvalidKubeConfig' });
    expect(condition(gs, 'Stalled')?.status).toBe('True');
    expect(condition(gs, 'Ready')?.message).toMatch(
      new RegExp(
        `secret ${ns}/exec-kubeconfig key value, context "local": refused user.exec .*--allow-kubeconfig-exec`,
      ),
    );
    expect(existsSync(marker)).toBe(false);
    // A Secret that does not exist names it; it is never looked for in another namespace.
    await applyGitSource(ns, 'nosecret', remoteSpec('app', { kubeConfig: { secretRef: { name: 'nope' } } }));
    const missing = await waitForCondition(ns, 'nosecret', 'Ready', 'False', { reason: 'MissingSecret' });
    expect(condition(missing, 'Ready')?.message).toContain(
      `secret ${ns}/nope (spec.kubeConfig.secretRef.name) not found`,
    );
  });

  it('uses a rotated token without a restart, and closes the old client', async () => {
    await rkOk(['create', 'namespace', 'deployers']);
    await rkOk(['create', 'namespace', 'rot']);
    for (const sa of ['old', 'new']) {
      await rkOk(['create', 'serviceaccount', sa, '-n', 'deployers']);
      await rkOk([
        'create',
        'clusterrolebinding',
        `deployer-${sa}`,
        '--clusterrole=cluster-admin',
        `--serviceaccount=deployers:${sa}`,
      ]);
    }
    const token = async (sa: string) =>
      (await rkOk(['create', 'token', sa, '-n', 'deployers', '--duration=1h'])).trim();
    const [oldToken, newToken] = [await token('old'), await token('new')];
    secrets.push(oldToken, newToken);
    await putSecret('rotating', kubeconfigWith({ token: oldToken }));
    await commitFiles(repo, { 'rot/one.yaml': configMap('one', { v: '1' }) }, 'rot one');
    await applyGitSource(
      ns,
      'rot',
      remoteSpec('rot', { targetNamespace: 'rot', kubeConfig: { secretRef: { name: 'rotating' } } }),
    );
    await waitForCondition(ns, 'rot', 'Ready', 'True', { timeoutMs: 60_000 });

    // Rotate: the Secret gets the new token, then the old one stops working (its ServiceAccount goes).
    await putSecret('rotating', kubeconfigWith({ token: newToken }));
    await rkOk(['delete', 'serviceaccount', 'old', '-n', 'deployers']);
    const sha = await commitFiles(repo, { 'rot/two.yaml': configMap('two', { v: '2' }) }, 'rot two');
    await waitForCondition(ns, 'rot', 'Ready', 'True', { revision: sha, timeoutMs: 60_000 });
    expect(await remoteConfigMaps('rot')).toEqual(['one', 'two']);
    await eventually(
      () => operator.logs.some((l) => l.includes('closed a remote cluster no GitSource uses')),
      {
        what: 'the old client closed',
      },
    );
    // Neither token reached status or Events.
    const text = JSON.stringify([await getGitSource(ns, 'rot'), await eventsFor(ns, 'rot')]);
    for (const s of secrets) expect(text).not.toContain(s);
  });

  it('an API server killed mid-apply: only its GitSources fail, nothing is lost or pruned wrongly, it recovers', async () => {
    await rkOk(['create', 'namespace', 'big']);
    await applyGitSource(ns, 'big', remoteSpec('big', { targetNamespace: 'big' }));
    await applyGitSource(ns, 'local', {
      url: http.url('fleet'),
      path: 'local',
      interval: '5s',
      retryInterval: '1s',
      wait: false,
    });
    await Promise.all([
      waitForCondition(ns, 'big', 'Ready', 'True', { timeoutMs: 90_000 }),
      waitForCondition(ns, 'local', 'Ready', 'True', { timeoutMs: 60_000 }),
    ]);
    expect(await remoteConfigMaps('big')).toEqual(names(0, 150));

    // The next commit drops cm-000…049 and adds 300 more; the remote API server is killed mid-apply.
    const dropped = Object.fromEntries(names(0, 50).map((n) => [`big/${n}.yaml`, null]));
    await commitFiles(repo, { ...dropped, ...manifests(names(150, 450)) }, 'big move');
    await eventually(
      async () => {
        const gs = await getGitSource(ns, 'big');
        return condition(gs, 'Reconciling')?.message.startsWith('Applying') || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 20, what: 'the apply of the new commit under way' },
    );
    await remote.apiServer.stop();
    const failed = await waitForCondition(ns, 'big', 'Ready', 'False', {
      reason: 'ClusterUnreachable',
      timeoutMs: 60_000,
    });
    const message = condition(failed, 'Ready')!.message;
    expect(message).toContain(`cluster ${remote.server}/ (context local) unreachable`);
    // The inventory still holds every object the cluster may have: the old ones and the intended new ones.
    const inventory = inventoryIds(failed);
    for (const n of [...names(0, 450)]) expect(inventory.some((id) => id.startsWith(`big_${n}_`))).toBe(true);

    // Isolation: a GitSource of the management cluster converges a new commit meanwhile.
    const localSha = await commitFiles(repo, { 'local/l.yaml': configMap('l', { v: '2' }) }, 'local v2');
    await waitForCondition(ns, 'local', 'Ready', 'True', { revision: localSha, timeoutMs: 30_000 });
    expect(condition(await getGitSource(ns, 'big'), 'Ready')?.status).toBe('False');

    await remote.apiServer.start();
    // The head is the local commit now, which holds the big move too.
    await waitForCondition(ns, 'big', 'Ready', 'True', { revision: localSha, timeoutMs: 150_000 }).catch(
      async (err: unknown) => {
        const gs = await getGitSource(ns, 'big');
        throw new Error(`${String(err)}; conditions: ${JSON.stringify(gs?.status?.conditions)}`);
      },
    );
    // Exactly the new revision's objects: the 50 dropped ones pruned, none of the others.
    expect(await remoteConfigMaps('big')).toEqual(names(50, 450));
    const events = JSON.stringify(await eventsFor(ns, 'big'));
    for (const s of secrets) expect(events).not.toContain(s);
  }, 360_000);
});

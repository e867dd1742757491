// Journey: the operator process runs with nothing but a TokenRequest token of the Helm chart's
// ServiceAccount, so the chart's RBAC alone must let it reconcile; in tenant mode it must stop
// at the tenant namespaces, reported on the GitSource as an RBAC denial.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  kubectlOk,
  serviceAccountKubeconfig,
  uniqueName,
} from '../support/cluster.ts';
import { commitFiles, startGitFixture, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  getGitSource,
  getObject,
  type GitSourceObject,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap, service } from '../support/apps.ts';

const chart = join(import.meta.dirname, '..', '..', 'deploy', 'helm', 'converge');
const work = mkdtempSync(join(tmpdir(), 'converge-helm-rbac-'));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { maxBuffer: 16 << 20, env: { ...process.env, HOME: work } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const namespaces: string[] = [];
const releases: Array<[string, string]> = [];
const operators: OperatorProcess[] = [];
let fixture: GitFixture;
let http: HttpGitServer;

async function namespace(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix);
  namespaces.push(ns);
  return ns;
}

/** `helm install` into the shared cluster; the CRD is already there (globalSetup), hence --skip-crds. */
async function helmInstall(release: string, ns: string, values: string[]): Promise<string> {
  const r = await exec(inject('helm'), [
    'install',
    release,
    chart,
    '--kubeconfig',
    inject('kubeconfig'),
    '--namespace',
    ns,
    '--skip-crds',
    ...values,
  ]);
  if (r.code !== 0) throw new Error(`helm install ${release} exited ${r.code}: ${r.stderr}`);
  releases.push([release, ns]);
  expect(r.stdout).toMatch(/STATUS: deployed/);
  // The chart's ServiceAccount: <release>-converge unless the release name already says converge.
  return `${release}-converge`;
}

async function operatorAs(kubeconfig: string, watch: string, leaseNs: string): Promise<OperatorProcess> {
  const op = await startOperator({
    namespace: watch,
    kubeconfig,
    args: ['--leader-elect=true', '--lease-namespace', leaseNs],
  });
  operators.push(op);
  return op;
}

/**
 * Waits until Ready has `status`. Waiting for Ready=True gives up at once on Stalled=True (the
 * operator will not retry it on its own), and a failure lists the GitSource's conditions.
 */
async function waitReady(ns: string, name: string, status: 'True' | 'False'): Promise<GitSourceObject> {
  let last: GitSourceObject | undefined;
  const conditionsText = () =>
    (last?.status?.conditions ?? [])
      .map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`)
      .join('\n  ');
  const gs = await eventually(
    async () => {
      last = await getGitSource(ns, name);
      if (condition(last, 'Ready')?.status === status) return last;
      if (status === 'True' && condition(last, 'Stalled')?.status === 'True') return 'stalled' as const;
      return undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `${ns}/${name} Ready=${status}` },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; conditions:\n  ${conditionsText()}`, { cause: err });
  });
  if (gs === 'stalled')
    throw new Error(`${ns}/${name} stalled instead of Ready=True:\n  ${conditionsText()}`);
  return gs;
}

function withNamespace(manifest: string, ns: string): string {
  const obj = JSON.parse(manifest) as { metadata: Record<string, unknown> };
  obj.metadata.namespace = ns;
  return JSON.stringify(obj);
}

beforeAll(async () => {
  fixture = await startGitFixture();
  http = await fixture.serveHttp();
});

afterAll(async () => {
  await Promise.all(operators.map((op) => op.stop()));
  await Promise.all(
    releases.map(([release, ns]) =>
      exec(inject('helm'), ['uninstall', release, '--kubeconfig', inject('kubeconfig'), '--namespace', ns]),
    ),
  );
  await Promise.all(namespaces.map((ns) => deleteNamespace(ns)));
  await fixture?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("operator with the Helm chart's ServiceAccount token", () => {
  it('rbac.mode cluster-admin (default): reconciles a GitSource to Ready and holds the Lease', async () => {
    const [releaseNs, ns] = await Promise.all([namespace('cvrel'), namespace('cvapp')]);
    const sa = await helmInstall(uniqueName('cv'), releaseNs, []);
    const kc = await serviceAccountKubeconfig(work, releaseNs, sa);

    const repo = await fixture.createRepo(uniqueName('default'));
    await commitFiles(
      repo,
      { 'app.yaml': `${configMap('web-config', { greeting: 'hello' })}\n---\n${service('web')}` },
      'first',
    );
    const op = await operatorAs(kc, ns, releaseNs);
    await applyGitSource(ns, 'web', {
      url: http.url(repo.name),
      interval: '1m',
      targetNamespace: ns,
      wait: true,
    });

    const gs = await waitReady(ns, 'web', 'True');
    expect(gs.status?.summary).toMatchObject({ objects: 2, created: 2 });
    expect((await getObject(ns, 'configmap', 'web-config'))?.data).toEqual({ greeting: 'hello' });
    expect(await getObject(ns, 'service', 'web')).toBeDefined();

    const lease = JSON.parse(
      await kubectlOk(['get', 'lease', 'converge-leader', '-n', releaseNs, '-o', 'json']),
    ) as { spec: { holderIdentity: string } };
    const leader = op.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'became leader');
    expect(leader?.identity).toBeDefined();
    expect(lease.spec.holderIdentity).toBe(leader?.identity);
    expect(op.logs.join('\n')).not.toMatch(/forbidden/i);
  }, 90_000);

  it('rbac.mode tenant: applies as the deployer inside the tenant namespace, and outside it is RBACDenied', async () => {
    const [releaseNs, teamA, outside] = await Promise.all([
      namespace('cvtrel'),
      namespace('team-a'),
      namespace('outside'),
    ]);
    const sa = await helmInstall(uniqueName('cvt'), releaseNs, [
      '--set',
      'rbac.mode=tenant',
      '--set',
      `rbac.tenantNamespaces={${teamA}}`,
    ]);
    const kc = await serviceAccountKubeconfig(work, releaseNs, sa);
    const op = await operatorAs(kc, teamA, releaseNs);

    const inside = await fixture.createRepo(uniqueName('inside'));
    await commitFiles(
      inside,
      { 'cm.yaml': withNamespace(configMap('team-config', { team: 'a' }), teamA) },
      'first',
    );
    await applyGitSource(teamA, 'inside', {
      url: http.url(inside.name),
      interval: '5s',
      serviceAccountName: 'converge-deployer',
      wait: true,
    });
    const ok = await waitReady(teamA, 'inside', 'True');
    expect(ok.status?.summary).toMatchObject({ objects: 1, created: 1 });
    expect((await getObject(teamA, 'configmap', 'team-config'))?.data).toEqual({ team: 'a' });
    // The tenant operator may not watch ConfigMaps cluster-wide: status says drift is found by an
    // interval re-plan, and a hand edit is corrected within an interval or two all the same.
    expect(ok.status?.driftDetection).toBe('Interval');
    await kubectlOk(['patch', 'configmap', 'team-config', '-n', teamA, '-p', '{"data":{"team":"edited"}}']);
    const editedAt = Date.now();
    await eventually(
      async () => (await getObject(teamA, 'configmap', 'team-config'))?.data?.team === 'a' || undefined,
      { timeoutMs: 20_000, intervalMs: 200, what: 'the hand edit corrected by the interval re-plan' },
    );
    console.log(`tenant drift (interval 5s): corrected ${Date.now() - editedAt} ms after the edit`);

    const escape = await fixture.createRepo(uniqueName('escape'));
    await commitFiles(
      escape,
      { 'cm.yaml': withNamespace(configMap('escaped', { team: 'a' }), outside) },
      'first',
    );
    await applyGitSource(teamA, 'escape', {
      url: http.url(escape.name),
      interval: '1m',
      serviceAccountName: 'converge-deployer',
      wait: true,
    });
    const denied = await waitReady(teamA, 'escape', 'False');
    const ready = condition(denied, 'Ready')!;
    console.log(`tenant denial: ${ready.reason}: ${ready.message}`);
    // An RBAC denial is the user's to fix: RBACDenied (never a generic ApplyFailed) and Stalled.
    expect(ready.reason).toBe('RBACDenied');
    expect(ready.message).toMatch(new RegExp(`${outside}.*escaped|escaped.*${outside}`));
    expect(ready.message).toMatch(/forbidden/i);
    expect(condition(denied, 'Stalled')).toMatchObject({ status: 'True', reason: 'RBACDenied' });
    expect(await getObject(outside, 'configmap', 'escaped')).toBeUndefined();
    // The first source is untouched by the second one's failure.
    expect(condition(await waitReady(teamA, 'inside', 'True'), 'Ready')?.status).toBe('True');
    expect(op.child.exitCode).toBeNull(); // the operator survived the denial
  }, 120_000);
});

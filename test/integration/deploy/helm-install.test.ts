// `helm install` of the chart into the real control plane, then the chart's ServiceAccount, with a
// token from the TokenRequest API, checked against the real RBAC authorizer: it can do what the
// operator needs, and in tenant mode nothing outside the tenant namespaces (an RBAC 403).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, kubectlOk, serviceAccountKubeconfig, uniqueName } from '../../support/cluster.ts';

const chart = join(import.meta.dirname, '..', '..', '..', 'deploy', 'helm', 'converge');
const work = mkdtempSync(join(tmpdir(), 'converge-helm-'));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 16 << 20, env: { ...process.env, HOME: work } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function helmInstall(release: string, namespace: string, values: string[]): Promise<void> {
  // The globalSetup installed the CRD already; Helm would only skip it, so say so.
  const r = await exec(inject('helm'), [
    'install',
    release,
    chart,
    '--kubeconfig',
    inject('kubeconfig'),
    '--namespace',
    namespace,
    '--skip-crds',
    ...values,
  ]);
  // Any stderr is a failure too: it carries the API server's warnings, e.g. Pod Security violations.
  if (r.code !== 0 || r.stderr !== '') throw new Error(`helm install exited ${r.code}: ${r.stderr}`);
  expect(r.stdout).toMatch(/STATUS: deployed/);
  expect(r.stdout).toMatch(/kubectl .*wait --for=condition=Ready gitsource\/web/);
}

/** `kubectl auth can-i` as the ServiceAccount: a SelfSubjectAccessReview answered by the real authorizer. */
async function canI(kubeconfig: string, args: string[]): Promise<boolean> {
  const r = await exec(inject('kubectl'), ['--kubeconfig', kubeconfig, 'auth', 'can-i', ...args]);
  if (r.code !== 0 && r.stdout.trim() !== 'no') throw new Error(`can-i ${args.join(' ')}: ${r.stderr}`);
  return r.code === 0 && r.stdout.trim() === 'yes';
}

/** Asks all questions at once and returns the ones answered differently than expected. */
async function unexpectedAnswers(kubeconfig: string, checks: Array<[boolean, string[]]>): Promise<string[]> {
  const answers = await Promise.all(checks.map(([, args]) => canI(kubeconfig, args)));
  return checks.flatMap(([want, args], i) =>
    answers[i] === want ? [] : [`${want ? 'cannot' : 'can'} ${args.join(' ')}`],
  );
}

function configMap(name: string, namespace: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data: { k: 'v' },
  });
}

const namespaces: string[] = [];
const releases: Array<[string, string]> = [];

async function namespace(prefix: string, labels: string[] = []): Promise<string> {
  const name = uniqueName(prefix);
  await kubectlOk(['create', 'namespace', name]);
  if (labels.length) await kubectlOk(['label', 'namespace', name, ...labels]);
  namespaces.push(name);
  return name;
}

afterAll(async () => {
  await Promise.all(
    releases.map(([release, ns]) =>
      exec(inject('helm'), ['uninstall', release, '--kubeconfig', inject('kubeconfig'), '--namespace', ns]),
    ),
  );
  await Promise.all(
    namespaces.map((ns) =>
      exec(inject('kubectl'), [
        '--kubeconfig',
        inject('kubeconfig'),
        'delete',
        'namespace',
        ns,
        '--wait=false',
      ]),
    ),
  );
  rmSync(work, { recursive: true, force: true });
});

describe('helm install, rbac.mode cluster-admin (default)', () => {
  let ns: string;
  let release: string;
  let sa: string;
  beforeAll(async () => {
    // Enforcing the restricted Pod Security Standard proves the pod spec is hardened enough.
    ns = await namespace('conv', ['pod-security.kubernetes.io/enforce=restricted']);
    release = uniqueName('cv');
    sa = `${release}-converge`;
    await helmInstall(release, ns, []);
    releases.push([release, ns]);
  });

  it('creates the Deployment, whose 2 pods pass the restricted Pod Security Standard', async () => {
    const deploy = JSON.parse(await kubectlOk(['get', 'deployment', sa, '-n', ns, '-o', 'json']));
    expect(deploy.spec.replicas).toBe(2);
    // The pods only run on fake (kwok) nodes here, but the ReplicaSet controller creating them at
    // all means admission accepted the pod spec.
    const pods = await eventually(
      async () => {
        const list = JSON.parse(await kubectlOk(['get', 'pods', '-n', ns, '-o', 'json']));
        return list.items.length === 2 ? list.items : undefined;
      },
      { what: '2 operator pods', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(pods[0].spec.serviceAccountName).toBe(sa);
    const events = await kubectlOk([
      'get',
      'events',
      '-n',
      ns,
      '--field-selector',
      'reason=FailedCreate',
      '-o',
      'name',
    ]);
    expect(events.trim()).toBe('');
  });

  it("gives the chart's ServiceAccount what the operator needs", async () => {
    const kc = await serviceAccountKubeconfig(work, ns, sa, '10m');
    const other = uniqueName('anywhere');
    expect(
      await unexpectedAnswers(kc, [
        [true, ['list', 'gitsources.gitops.converge.dev', '--all-namespaces']],
        [true, ['watch', 'gitsources.gitops.converge.dev', '--all-namespaces']],
        [true, ['patch', 'gitsources.gitops.converge.dev', '-n', other]],
        [true, ['update', 'gitsources.gitops.converge.dev', '--subresource=status', '-n', other]],
        [true, ['update', 'gitsources.gitops.converge.dev', '--subresource=finalizers', '-n', other]],
        [true, ['watch', 'imagepolicies.gitops.converge.dev', '--all-namespaces']],
        [true, ['patch', 'imagepolicies.gitops.converge.dev', '--subresource=status', '-n', other]],
        [true, ['create', 'events.events.k8s.io', '-n', other]],
        [true, ['get', 'leases.coordination.k8s.io/converge-leader', '-n', ns]],
        [true, ['update', 'leases.coordination.k8s.io/converge-leader', '-n', ns]],
        [true, ['create', 'leases.coordination.k8s.io', '-n', ns]],
        [true, ['get', 'secrets', '-n', other]],
        [true, ['impersonate', 'serviceaccounts', '-n', other]],
        // cluster-admin mode: whatever a repository holds, anywhere.
        [true, ['create', 'configmaps', '-n', other]],
        [true, ['create', 'clusterroles.rbac.authorization.k8s.io']],
        [true, ['delete', 'namespaces']],
      ]),
    ).toEqual([]);
  });
});

describe('helm install, rbac.mode tenant', () => {
  let ns: string;
  let sa: string;
  let teamA: string;
  let teamB: string;
  let outside: string;
  let kc: string;
  beforeAll(async () => {
    [ns, teamA, teamB, outside] = await Promise.all([
      namespace('conv'),
      namespace('team-a'),
      namespace('team-b'),
      namespace('outside'),
    ]);
    const release = uniqueName('cvt');
    sa = `${release}-converge`;
    await helmInstall(release, ns, [
      '--set',
      'rbac.mode=tenant',
      '--set',
      `rbac.tenantNamespaces={${teamA},${teamB}}`,
    ]);
    releases.push([release, ns]);
    kc = await serviceAccountKubeconfig(work, ns, sa, '10m');
  });

  it('keeps what the operator itself needs, and Secrets and impersonation only in tenant namespaces', async () => {
    const deployer = (n: string) => ['--as', `system:serviceaccount:${n}:converge-deployer`];
    expect(
      await unexpectedAnswers(kc, [
        [true, ['list', 'gitsources.gitops.converge.dev', '--all-namespaces']],
        [true, ['watch', 'gitsources.gitops.converge.dev', '--all-namespaces']],
        [true, ['update', 'gitsources.gitops.converge.dev', '--subresource=status', '-n', outside]],
        [true, ['update', 'gitsources.gitops.converge.dev', '--subresource=finalizers', '-n', outside]],
        [true, ['create', 'events.events.k8s.io', '-n', outside]],
        [true, ['update', 'leases.coordination.k8s.io/converge-leader', '-n', ns]],
        [false, ['get', 'leases.coordination.k8s.io/converge-leader', '-n', teamA]],
        [true, ['get', 'secrets', '-n', teamA]],
        [true, ['get', 'secrets', '-n', teamB]],
        [false, ['list', 'secrets', '-n', teamA]],
        [false, ['get', 'secrets', '-n', outside]],
        [false, ['get', 'secrets', '-n', ns]],
        [true, ['impersonate', 'serviceaccounts/converge-deployer', '-n', teamA]],
        [false, ['impersonate', 'serviceaccounts', '-n', outside]],
        [false, ['impersonate', 'serviceaccounts', '-n', ns]],
        // The operator's own identity writes nothing a repository holds, anywhere.
        [false, ['create', 'configmaps', '-n', teamA]],
        [false, ['create', 'configmaps', '-n', outside]],
        [false, ['create', 'namespaces']],
        [false, ['create', 'clusterrolebindings.rbac.authorization.k8s.io']],
        // Impersonating a tenant's deployer: everything namespaced there, nothing elsewhere.
        [true, ['create', 'configmaps', '-n', teamA, ...deployer(teamA)]],
        [true, ['delete', 'deployments.apps', '-n', teamA, ...deployer(teamA)]],
        [true, ['patch', 'gitsources.gitops.converge.dev', '-n', teamA, ...deployer(teamA)]],
        [false, ['create', 'configmaps', '-n', teamB, ...deployer(teamA)]],
        [false, ['create', 'configmaps', '-n', outside, ...deployer(teamA)]],
        [false, ['create', 'namespaces', ...deployer(teamA)]],
        [false, ['impersonate', 'serviceaccounts', '-n', teamA, ...deployer(teamA)]],
      ]),
    ).toEqual([]);
  });

  it('applies as the deployer inside a tenant namespace; outside it the API server answers 403', async () => {
    const as = ['--kubeconfig', kc, '--as', `system:serviceaccount:${teamA}:converge-deployer`];
    const inside = await exec(
      inject('kubectl'),
      [...as, 'apply', '--server-side', '--field-manager=converge', '-f', '-'],
      configMap('web', teamA),
    );
    expect(inside.stderr).toBe('');
    expect(inside.code).toBe(0);
    expect(JSON.parse(await kubectlOk(['get', 'configmap', 'web', '-n', teamA, '-o', 'json'])).data).toEqual({
      k: 'v',
    });

    const denied = await exec(
      inject('kubectl'),
      [...as, 'apply', '--server-side', '--field-manager=converge', '-f', '-'],
      configMap('web', outside),
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(
      /forbidden.*system:serviceaccount:.*:converge-deployer.*cannot (get|patch) resource "configmaps".*namespace "outside-/i,
    );
    expect(
      (
        await exec(inject('kubectl'), [
          '--kubeconfig',
          inject('kubeconfig'),
          'get',
          'configmap',
          'web',
          '-n',
          outside,
        ])
      ).code,
    ).not.toBe(0);

    // Without impersonation the operator cannot write even in a tenant namespace.
    const self = await exec(
      inject('kubectl'),
      ['--kubeconfig', kc, 'apply', '--server-side', '-f', '-'],
      configMap('self', teamA),
    );
    expect(self.code).not.toBe(0);
    expect(self.stderr).toMatch(/forbidden/i);

    // Nor borrow an identity outside the tenant namespaces.
    const borrowed = await exec(inject('kubectl'), [
      '--kubeconfig',
      kc,
      '--as',
      `system:serviceaccount:${outside}:default`,
      'get',
      'configmaps',
      '-n',
      outside,
    ]);
    expect(borrowed.code).not.toBe(0);
    expect(borrowed.stderr).toMatch(/cannot impersonate resource "serviceaccounts"/);
  });
});

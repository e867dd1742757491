// The GitSource CRD against the real API server: valid specs accepted, invalid ones rejected naming
// the field, and real kubectl printing the columns users watch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, kubectl, kubectlOk } from '../../support/cluster.ts';

let ns: string;
beforeAll(async () => {
  ns = await createNamespace('crd');
});
afterAll(async () => deleteNamespace(ns));

function manifest(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'gitops.converge.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name, namespace: ns },
    spec,
  });
}

const url = 'https://git.example.com/org/fleet.git';

describe('GitSource CRD validation', () => {
  it('accepts a valid GitSource and fills defaults', async () => {
    await kubectlOk(
      ['apply', '-f', '-'],
      manifest('web', {
        url,
        ref: { branch: 'main' },
        path: './clusters/prod',
        interval: '1m',
        retryInterval: '15s',
        timeout: '2m',
        secretRef: { name: 'git-auth' },
        drift: 'Report',
        targetNamespace: 'apps',
        serviceAccountName: 'deployer',
        dependsOn: [{ name: 'infra' }],
        include: ['**/*.yaml'],
        exclude: ['**/test/**'],
        substitute: { CLUSTER: 'prod' },
        ignore: [{ target: { kind: 'Deployment', name: 'web' }, paths: ['/spec/replicas'] }],
        deletionPolicy: 'Delete',
        helm: { values: { replicaCount: 2, nested: { a: [1, 2] } } },
      }),
    );
    const got = JSON.parse(await kubectlOk(['get', 'gitsource', 'web', '-n', ns, '-o', 'json']));
    expect(got.spec).toMatchObject({
      prune: true,
      wait: true,
      suspend: false,
      force: false,
      drift: 'Report',
    });
    expect(got.spec.helm.values.nested.a).toEqual([1, 2]);

    const minimal = manifest('minimal', { url: 'git@github.com:org/fleet.git' });
    await kubectlOk(['apply', '-f', '-'], minimal);
    const m = JSON.parse(await kubectlOk(['get', 'gs', 'minimal', '-n', ns, '-o', 'json']));
    expect(m.spec).toMatchObject({ path: '.', interval: '1m', drift: 'Correct', deletionPolicy: 'Orphan' });
  });

  it.each([
    [
      'two refs at once',
      { url, ref: { branch: 'main', tag: 'v1' } },
      /spec\.ref.*exactly one of branch, tag, semver, commit or digest/,
    ],
    ['an empty ref', { url, ref: {} }, /spec\.ref.*exactly one of/],
    ['a bad duration', { url, interval: 'soon' }, /spec\.interval/],
    ['an interval under 5s', { url, interval: '1s' }, /spec\.interval.*at least 5s/],
    ['a retryInterval under 1s', { url, retryInterval: '500ms' }, /spec\.retryInterval.*at least 1s/],
    ['a zero retryInterval', { url, retryInterval: '0s' }, /spec\.retryInterval.*at least 1s/],
    ['a bad timeout', { url, timeout: '10' }, /spec\.timeout/],
    ['an absolute path', { url, path: '/etc' }, /spec\.path.*relative/],
    ['a ../ path', { url, path: 'apps/../../etc' }, /spec\.path.*'\.\.'/],
    ['an unknown drift mode', { url, drift: 'Fix' }, /spec\.drift.*Unsupported value: "Fix"/],
    ['an unknown deletion policy', { url, deletionPolicy: 'Keep' }, /spec\.deletionPolicy/],
    ['a missing url', { path: '.' }, /spec: .*one of url or chart is required/],
    ['a url with an unsupported scheme', { url: 'ftp://example.com/r.git' }, /spec\.url/],
    ['a short commit SHA', { url, ref: { commit: 'abc123' } }, /spec\.ref\.commit/],
    ['a bad target namespace', { url, targetNamespace: 'Not_A_Namespace' }, /spec\.targetNamespace/],
    [
      'an ignore path that is not a JSON pointer',
      { url, ignore: [{ target: {}, paths: ['spec.replicas'] }] },
      /spec\.ignore\[0\]\.paths\[0\]/,
    ],
  ])('rejects %s, naming the field', async (_what, spec, message) => {
    const r = await kubectl(['apply', '-f', '-'], manifest('bad', spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

describe('kubectl get gitsources', () => {
  it('prints READY, REVISION, STATUS, AGE and URL, SUSPENDED at -o wide', async () => {
    await kubectlOk(['apply', '-f', '-'], manifest('cols', { url, suspend: true }));
    const out = await kubectlOk(['get', 'gitsources', '-n', ns]);
    expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+REVISION\s+STATUS\s+AGE$/);
    const wide = await kubectlOk(['get', 'gs', '-n', ns, '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(
      /^NAME\s+READY\s+REVISION\s+STATUS\s+AGE\s+URL\s+SUSPENDED\s+CLUSTER$/,
    );
    expect(wide).toMatch(/cols\s+.*https:\/\/git\.example\.com\/org\/fleet\.git\s+true/);
    const byCategory = await kubectlOk(['get', 'gitops', '-n', ns, '-o', 'name']);
    expect(byCategory).toContain('gitsource.gitops.converge.dev/cols');
  });
});

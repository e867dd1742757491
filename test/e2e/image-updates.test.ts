// Journey: image updates. A tag pushed to a real registry (Debian's docker-registry, htpasswd) moves an
// ImagePolicy; the operator rewrites the marked fields in Git (HTTP with credentials), pushes a commit,
// and converges it: the Deployment rolls out to the new image. Bad input is named by file and line.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, kubectlOk } from '../support/cluster.ts';
import { commitFiles, headOf, run, type GitRepo, type HttpGitServer } from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  eventsFor,
  getGitSource,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { startRegistry, type TestRegistry } from '../support/image-registry.ts';

interface ImagePolicyObject {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    latestRef?: { tag: string; digest?: string };
    lastScan?: { tags: number; matched: number };
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

interface Workload {
  metadata: { generation: number };
  spec: { template: { spec: { containers: Array<{ image: string }> } } };
  status: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number };
}

const GIT_PASSWORD = 'git-imgupd-pw-51c3';
let journey: Journey | undefined;
let ns: string;
let registry: TestRegistry;
let git: HttpGitServer;

beforeAll(async () => {
  [journey, registry] = await Promise.all([startJourney('images'), startRegistry({ auth: 'htpasswd' })]);
  ns = journey.ns;
  git = await journey.fixture.serveHttp({ auth: { username: 'bot', password: GIT_PASSWORD } });
  await kubectlOk([
    'create',
    'secret',
    'generic',
    'git-auth',
    '-n',
    ns,
    '--from-literal=username=bot',
    `--from-literal=password=${GIT_PASSWORD}`,
  ]);
  await kubectlOk([
    'create',
    'secret',
    'docker-registry',
    'regcred',
    '-n',
    ns,
    `--docker-server=${registry.host}`,
    `--docker-username=${registry.username}`,
    `--docker-password=${registry.password}`,
  ]);
  await kubectlOk([
    'create',
    'secret',
    'docker-registry',
    'wrongcred',
    '-n',
    ns,
    `--docker-server=${registry.host}`,
    `--docker-username=${registry.username}`,
    '--docker-password=wrong',
  ]);
}, 120_000);

afterAll(async () => {
  if (journey) {
    // Nothing secret reached the operator's log.
    const logs = journey.operator.logs.join('\n');
    expect(logs).not.toContain(GIT_PASSWORD);
    expect(logs).not.toContain(registry.password);
  }
  await stopJourney(journey);
  await registry?.close();
});

async function applyPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'gitops.converge.dev/v1alpha1',
      kind: 'ImagePolicy',
      metadata: { name, namespace: ns },
      spec,
    }),
  );
}

async function policyCondition(name: string, reason: string): Promise<ImagePolicyObject> {
  return eventually(
    async () => {
      const p = await getObject<ImagePolicyObject>(ns, 'imagepolicy', name);
      const ready = p?.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.reason === reason ? p : undefined;
    },
    { timeoutMs: 30_000, what: `ImagePolicy ${name} Ready reason ${reason}` },
  );
}

const gitLog = (repo: GitRepo, ...args: string[]) => run('git', ['--git-dir', repo.path, 'log', ...args]);

const webYaml = (image: string) =>
  [
    '# The web tier. Converge rewrites only the marked fields below.',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  replicas: 2',
    '  selector:',
    '    matchLabels: { app: web }',
    '  template:',
    '    metadata:',
    '      labels: { app: web }',
    '    spec:',
    '      containers:',
    '        - name: web',
    `          image: ${image} # {"$imagepolicy": "NS:web"}`,
    '',
  ].join('\n');

describe('image updates', () => {
  it('ImagePolicy: latest tag and digest from the registry, and a clear Ready for each failure', async () => {
    const digest = await registry.push('team/web', '1.0.0');
    await registry.push('team/web', 'latest');
    await applyPolicy('web', {
      image: registry.image('team/web'),
      insecure: true,
      interval: '5s',
      secretRef: { name: 'regcred' },
      policy: { semver: { range: '>=1.0.0' } },
    });
    const p = await policyCondition('web', 'Succeeded');
    expect(p.status?.latestRef).toEqual({ tag: '1.0.0', digest });
    expect(p.status?.lastScan).toMatchObject({ tags: 2, matched: 1 });
    expect(await kubectlOk(['get', 'imgpol', 'web', '-n', ns])).toMatch(
      /IMAGE\s+LATEST\s+READY[\s\S]*team\/web\s+1\.0\.0\s+True/,
    );

    await applyPolicy('locked', {
      image: registry.image('team/web'),
      insecure: true,
      interval: '5s',
      secretRef: { name: 'wrongcred' },
      policy: { alphabetical: {} },
    });
    await applyPolicy('anonymous', {
      image: registry.image('team/web'),
      insecure: true,
      interval: '5s',
      policy: { alphabetical: {} },
    });
    await applyPolicy('none', {
      image: registry.image('team/web'),
      insecure: true,
      interval: '5s',
      secretRef: { name: 'regcred' },
      policy: { semver: { range: '>=9' } },
    });
    await applyPolicy('badregex', {
      image: registry.image('team/web'),
      insecure: true,
      interval: '5s',
      secretRef: { name: 'regcred' },
      policy: { numerical: {} },
      filterTags: { pattern: '^main-(?P<ts>[0-9+$', extract: '$ts' },
    });
    const locked = await policyCondition('locked', 'AuthenticationFailed');
    expect(locked.status?.conditions?.[0]?.message).toBe(
      `registry ${registry.host} rejected the credentials for ${registry.host} in spec.secretRef (HTTP 401)`,
    );
    const anonymous = await policyCondition('anonymous', 'AuthenticationFailed');
    expect(anonymous.status?.conditions?.[0]?.message).toMatch(
      /asks for credentials \(HTTP 401\): set spec.secretRef/,
    );
    const none = await policyCondition('none', 'NoMatchingTag');
    expect(none.status?.conditions?.[0]?.message).toBe(
      `no tag of ${registry.image('team/web')} is a semantic version in range ">=9" (the registry listed 2 tags)`,
    );
    const bad = await policyCondition('badregex', 'InvalidSpec');
    expect(bad.status?.conditions?.[0]?.message).toMatch(
      /^spec.filterTags.pattern "\^main-\(\?P<ts>\[0-9\+\$" is not a valid regular expression/,
    );
    // The CRD refuses two policies at once.
    const both = await kubectlOk(
      ['apply', '--dry-run=server', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: 'both', namespace: ns },
        spec: { image: 'r.example/x', policy: { semver: { range: '1' }, alphabetical: {} } },
      }),
    ).catch((e: Error) => e.message);
    expect(both).toMatch(/exactly one of semver, alphabetical or numerical must be set/);
  }, 90_000);

  it('journey: a tag pushed to the registry becomes a commit in Git, then a rolled-out Deployment', async () => {
    const repo = await journey!.fixture.createRepo('fleet');
    const image = registry.image('team/web');
    const first = await commitFiles(
      repo,
      {
        'deploy/web.yaml': webYaml(`${image}:0.9.0`).replace('NS:web', `${ns}:web`),
        'deploy/settings.yaml': [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata: { name: settings }',
          'data:',
          `  webTag: "0.9.0"   # {"$imagepolicy": "${ns}:web:tag"}`,
          `  webImage: '${image}'   # {"$imagepolicy": "${ns}:web:name"}`,
          '',
        ].join('\n'),
        // Bad input: a policy that does not exist, and one of another namespace. The other files still update.
        'deploy/extra.yaml': [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata: { name: extra }',
          'data:',
          `  a: "x" # {"$imagepolicy": "${ns}:missing"}`,
          `  b: "y" # {"$imagepolicy": "kube-system:web"}`,
          '',
        ].join('\n'),
      },
      'fleet',
    );
    // Its service account may apply in this namespace only, so reading another namespace's policy is denied.
    await kubectlOk(['create', 'serviceaccount', 'deployer', '-n', ns]);
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'deployer', namespace: ns },
        rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
      }),
    );
    await kubectlOk([
      'create',
      'rolebinding',
      'deployer',
      '-n',
      ns,
      '--role=deployer',
      `--serviceaccount=${ns}:deployer`,
    ]);
    await applyGitSource(ns, 'fleet', {
      url: git.url(repo.name),
      secretRef: { name: 'git-auth' },
      path: 'deploy',
      interval: '1m',
      timeout: '45s',
      targetNamespace: ns,
      serviceAccountName: 'deployer',
      wait: inject('podsRun'),
      imageUpdates: {
        author: { name: 'Converge', email: 'converge@example.com' },
        messageTemplate: 'Update images of {{source}}\n\n{{changes}}',
      },
    });

    // The first pass writes 1.0.0 into Git and converges that commit.
    const c1 = await eventually(
      async () => {
        const head = await headOf(repo);
        return head !== first ? head : undefined;
      },
      { timeoutMs: 30_000, what: 'the image update commit' },
    );
    await waitForCondition(ns, 'fleet', 'Ready', 'True', { revision: c1, timeoutMs: 60_000 });
    expect(await gitLog(repo, '-1', '--format=%an <%ae>%n%B', c1!)).toBe(
      [
        'Converge <converge@example.com>',
        `Update images of ${ns}/fleet`,
        '',
        `- deploy/settings.yaml:5: 0.9.0 → 1.0.0`,
        `- deploy/web.yaml:16: ${image}:0.9.0 → ${image}:1.0.0`,
        '',
        '',
      ].join('\n'),
    );
    // Only the marked bytes changed: quoting, spacing and comments are as they were.
    const settings = await run('git', ['--git-dir', repo.path, 'show', `${c1}:deploy/settings.yaml`]);
    expect(settings).toContain(
      `  webTag: "1.0.0"   # {"$imagepolicy": "${ns}:web:tag"}\n  webImage: '${image}'   #`,
    );
    const dep1 = (await getObject<Workload>(ns, 'deployment', 'web'))!;
    expect(dep1.spec.template.spec.containers[0]!.image).toBe(`${image}:1.0.0`);
    const gs1 = await waitForCondition(ns, 'fleet', 'ImagesUpdated', 'False', { reason: 'InvalidMarker' });
    const message = condition(gs1, 'ImagesUpdated')!.message;
    expect(message).toContain(`deploy/extra.yaml:5: ImagePolicy ${ns}/missing not found`);
    expect(message).toContain(
      `deploy/extra.yaml:6: ImagePolicy kube-system/web is in another namespace and service account ${ns}/deployer may not read it`,
    );

    // The journey: CI pushes 1.1.0; the policy moves, a commit lands in Git, the Deployment rolls out.
    const pushedAt = Date.now();
    const digest = await registry.push('team/web', '1.1.0');
    const c2 = await eventually(
      async () => {
        const head = await headOf(repo);
        return head !== c1 ? head : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, what: 'the commit of 1.1.0' },
    );
    const committedAt = Date.now();
    await waitForCondition(ns, 'fleet', 'Ready', 'True', { revision: c2, timeoutMs: 60_000 });
    const readyAt = Date.now();
    const dep2 = (await getObject<Workload>(ns, 'deployment', 'web'))!;
    expect(dep2.spec.template.spec.containers[0]!.image).toBe(`${image}:1.1.0`);
    if (inject('podsRun')) {
      expect(dep2.status).toMatchObject({
        observedGeneration: dep2.metadata.generation,
        updatedReplicas: 2,
        availableReplicas: 2,
      });
    }
    expect((await getObject<ImagePolicyObject>(ns, 'imagepolicy', 'web'))?.status?.latestRef).toEqual({
      tag: '1.1.0',
      digest,
    });
    expect(await gitLog(repo, '--format=%s', `${first}..${c2}`)).toBe(
      `Update images of ${ns}/fleet\n`.repeat(2),
    );
    const events = await eventsFor(ns, 'fleet');
    expect(events.filter((e) => e.reason === 'ImagesUpdated').map((e) => e.note)).toEqual([
      expect.stringMatching(new RegExp(`Pushed ${c1!.slice(0, 7)} to main`)),
      expect.stringMatching(new RegExp(`Pushed ${c2!.slice(0, 7)} to main`)),
    ]);
    process.stderr.write(
      `[image-updates] tag push → commit ${committedAt - pushedAt} ms; commit → Ready ${readyAt - committedAt} ms (pods run: ${inject('podsRun')})\n`,
    );

    // Nothing moved: later passes add no commit.
    const at = await requestReconcile(ns, 'fleet');
    await eventually(async () => (await getGitSource(ns, 'fleet'))?.status?.lastHandledReconcileAt === at, {
      what: 'the requested reconcile',
    });
    expect(await headOf(repo)).toBe(c2);
  }, 180_000);
});

// Image updates written to real git servers (smart HTTP with auth, SSH): the commit, no-change runs,
// a lost race redone on the new head, a refused push, two GitSources on one repository, bad input.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec, type GitSource, type GitSourceSpec } from '../../../src/api/index.ts';
import {
  createImageUpdater,
  createWriteBack,
  type ImageUpdater,
  type PolicyIndex,
  type PolicySnapshot,
  type WriteBack,
} from '../../../src/images/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { credentialsFromSecret, type GitCredentials } from '../../../src/source/index.ts';
import { captureLog } from '../../support/git-log.ts';
import {
  commitFiles,
  headOf,
  run,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
  type SshGitServer,
} from '../../support/git-server.ts';

const PASSWORD = 'pw-imgupd-5ecret-77a1';
const T = 30_000;

/** Policies as the ImagePolicy controller would hold them; `move` is a registry push. */
class Policies implements PolicyIndex {
  private readonly map = new Map<string, PolicySnapshot>();
  private v = 0;
  set(namespace: string, name: string, image: string, tag: string): void {
    this.map.set(`${namespace}/${name}`, { namespace, name, image, latest: { tag }, problem: undefined });
    this.v++;
  }
  get(namespace: string, name: string) {
    return this.map.get(`${namespace}/${name}`);
  }
  version() {
    return this.v;
  }
}

let fixture: GitFixture;
let http: HttpGitServer;
let ssh: SshGitServer;
let workDir: string;
const log = captureLog();
let n = 0;

const deployment = (image: string) =>
  [
    '# web: keep this comment',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: web',
    `          image: "${image}" # {"$imagepolicy": "apps:web"}`,
    '',
  ].join('\n');

function gitSource(url: string, extra: Record<string, unknown> = {}): { gs: GitSource; spec: GitSourceSpec } {
  const raw = {
    url,
    path: 'deploy',
    imageUpdates: { author: { name: 'Converge Bot', email: 'bot@example.com' } },
    ...extra,
  };
  const parsed = parseSpec(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  const gs = {
    apiVersion: 'gitops.converge.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name: `fleet${++n}`, namespace: 'apps', uid: `uid-${n}`, generation: 1 },
    spec: parsed.spec,
  } as GitSource;
  return { gs, spec: parsed.spec };
}

const git = (repo: GitRepo, ...args: string[]) => run('git', ['--git-dir', repo.path, ...args]);
const show = (repo: GitRepo, rev: string, file: string) => git(repo, 'show', `${rev}:${file}`);
// Same-namespace markers never ask the API server; cross-namespace ones are covered by the e2e test.
const noClient = {} as KubeClient;

function updaterFor(
  policies: PolicyIndex,
  writeBack?: WriteBack,
): { updater: ImageUpdater; writeBack: WriteBack } {
  const wb = writeBack ?? createWriteBack({ workDir, logger: log.logger });
  return { updater: createImageUpdater({ policies, writeBack: wb, logger: log.logger }), writeBack: wb };
}

const ctxOf = (s: { gs: GitSource; spec: GitSourceSpec }) => ({
  ...s,
  client: noClient,
  remainingMs: () => T,
});

beforeAll(async () => {
  fixture = await startGitFixture();
  http = await fixture.serveHttp({ auth: { username: 'bot', password: PASSWORD } });
  ssh = await fixture.serveSsh();
  workDir = await mkdtemp(join(tmpdir(), 'converge-imgupd-'));
}, 60_000);

afterAll(async () => {
  await fixture?.close();
  await rm(workDir, { recursive: true, force: true });
  expect(log.text()).not.toContain(PASSWORD);
});

describe('image updates written back to Git', () => {
  const creds: () => GitCredentials = () =>
    credentialsFromSecret({ username: 'bot', password: PASSWORD }, 'git-auth');

  it(
    'commits exactly the marked bytes over HTTP with auth, once; an unchanged run makes no commit',
    async () => {
      const repo = await fixture.createRepo('http-one');
      const other = 'kind: ConfigMap\nmetadata: {name: c}   # untouched\n';
      const first = await commitFiles(
        repo,
        {
          'deploy/web.yaml': deployment('r.example/team/web:1.0.0'),
          'deploy/other.yaml': other,
          'README.md': 'x',
        },
        'first',
      );
      const policies = new Policies();
      policies.set('apps', 'web', 'r.example/team/web', '1.1.0');
      const { updater } = updaterFor(policies);
      const s = gitSource(http.url(repo.name));
      const out = await updater.update(ctxOf(s), { credentials: creds(), trackedCommit: first });
      expect(out.report).toMatchObject({ status: 'True', reason: 'Pushed' });
      expect(out.pushed).toMatchObject({ branch: 'main', tracked: true });
      const head = await headOf(repo);
      expect(head).toBe(out.pushed!.commit);
      expect(await show(repo, head!, 'deploy/web.yaml')).toBe(deployment('r.example/team/web:1.1.0'));
      expect(await show(repo, head!, 'deploy/other.yaml')).toBe(other);
      expect(await git(repo, 'log', '-1', '--format=%an <%ae>|%cn|%P|%B', head!)).toBe(
        `Converge Bot <bot@example.com>|Converge Bot|${first}|Update images\n\n- deploy/web.yaml:11: r.example/team/web:1.0.0 → r.example/team/web:1.1.0\n\n`,
      );
      expect(await git(repo, 'diff', '--stat', first, head!)).toMatch(
        /1 file changed, 1 insertion\(\+\), 1 deletion\(-\)/,
      );

      // Nothing moved: no git call at all. A new policy version with the same tag: a fetch, no commit.
      expect(await updater.update(ctxOf(s), { credentials: creds(), trackedCommit: head })).toEqual({
        ran: false,
      });
      policies.set('apps', 'web', 'r.example/team/web', '1.1.0');
      const again = await updater.update(ctxOf(s), { credentials: creds(), trackedCommit: head });
      expect(again.report).toEqual({
        status: 'True',
        reason: 'UpToDate',
        message: '1 marker in 1 file up to date',
      });
      expect(await headOf(repo)).toBe(head);
    },
    T,
  );

  it(
    'pushes over SSH to a review branch, starting it from the tracked branch',
    async () => {
      const repo = await fixture.createRepo('ssh-one');
      const first = await commitFiles(
        repo,
        { 'deploy/web.yaml': deployment('r.example/team/web:1.0.0') },
        'first',
      );
      const policies = new Policies();
      policies.set('apps', 'web', 'r.example/team/web', '2.0.0');
      const { updater } = updaterFor(policies);
      const s = gitSource(ssh.url(repo.name), {
        imageUpdates: {
          author: { name: 'Bot', email: 'b@example.com' },
          messageTemplate: 'chore: {{count}} image update(s) for {{source}}\n\n{{changes}}',
          push: { branch: 'images' },
        },
      });
      const credentials = credentialsFromSecret(
        { identity: ssh.identity, known_hosts: ssh.knownHosts },
        'ssh-auth',
      );
      const out = await updater.update(ctxOf(s), { credentials, trackedCommit: first });
      expect(out.pushed).toMatchObject({ branch: 'images', tracked: false });
      expect(await headOf(repo, 'main')).toBe(first);
      const head = (await headOf(repo, 'images'))!;
      expect(await git(repo, 'log', '-1', '--format=%P %s', head)).toBe(
        `${first} chore: 1 image update(s) for apps/${s.gs.metadata.name}\n`,
      );
      // The next update builds on the review branch, not on main again.
      policies.set('apps', 'web', 'r.example/team/web', '2.0.1');
      const next = await updater.update(ctxOf(s), { credentials, trackedCommit: first });
      expect(next.pushed?.branch).toBe('images');
      expect(await git(repo, 'rev-parse', `${next.pushed!.commit}^`)).toBe(`${head}\n`);
    },
    T,
  );

  it(
    'redoes the edit on the new head when another writer pushed first (never forcing)',
    async () => {
      const repo = await fixture.createRepo('race');
      const first = await commitFiles(
        repo,
        { 'deploy/web.yaml': deployment('r.example/team/web:1.0.0') },
        'first',
      );
      const wb = createWriteBack({ workDir, logger: log.logger });
      let edits = 0;
      let theirs = '';
      const result = await wb.write({
        owner: 'race',
        url: http.url(repo.name),
        credentials: creds(),
        baseBranch: 'main',
        pushBranch: 'main',
        author: { name: 'Bot', email: 'b@example.com' },
        deadline: Date.now() + T,
        message: () => 'update\n',
        async edit(root) {
          edits++;
          // While we edit, someone else pushes a commit to main: our first push loses the race.
          if (edits === 1) theirs = await commitFiles(repo, { 'deploy/theirs.yaml': 'a: 1\n' }, 'theirs');
          await writeFile(join(root, 'deploy/web.yaml'), deployment(`r.example/team/web:1.0.${edits}`));
          return { files: ['deploy/web.yaml'] };
        },
      });
      expect(edits).toBe(2);
      expect(result.attempts).toBe(2);
      expect(result.base).toBe(theirs);
      expect(await headOf(repo)).toBe(result.commit);
      expect(await git(repo, 'rev-list', '--parents', '-n', '1', result.commit!)).toBe(
        `${result.commit} ${theirs}\n`,
      );
      expect(await git(repo, 'rev-list', '--count', 'main')).toBe('3\n');
      expect(await show(repo, 'main', 'deploy/theirs.yaml')).toBe('a: 1\n');
      expect(first).not.toBe(theirs);
      // The checkout goes with its GitSource.
      const before = (await readdir(workDir)).length;
      await wb.forget('race');
      expect((await readdir(workDir)).length).toBe(before - 1);
    },
    T,
  );

  it(
    'reports a push the server refuses and leaves the branch as it was',
    async () => {
      const repo = await fixture.createRepo('protected');
      const first = await commitFiles(
        repo,
        { 'deploy/web.yaml': deployment('r.example/team/web:1.0.0') },
        'first',
      );
      await writeFile(
        join(repo.path, 'hooks', 'pre-receive'),
        '#!/bin/sh\necho "main is protected" >&2\nexit 1\n',
        { mode: 0o755 },
      );
      const policies = new Policies();
      policies.set('apps', 'web', 'r.example/team/web', '1.1.0');
      const { updater } = updaterFor(policies);
      const s = gitSource(http.url(repo.name));
      const out = await updater.update(ctxOf(s), { credentials: creds(), trackedCommit: first });
      expect(out.pushed).toBeUndefined();
      expect(out.report).toMatchObject({ status: 'False', reason: 'PushRejected' });
      expect(out.report!.message).toMatch(
        /^the server refused the push to main: .*pre-receive hook declined.*; retried at the next interval$/,
      );
      expect(await headOf(repo)).toBe(first);
      // A refused push is not remembered as done: the next run tries again.
      const retry = await updater.update(ctxOf(s), { credentials: creds(), trackedCommit: first });
      expect(retry.ran).toBe(true);
    },
    T,
  );

  it(
    'serialises two GitSources on one repository: both commits land, neither loses a race',
    async () => {
      const repo = await fixture.createRepo('shared');
      const first = await commitFiles(
        repo,
        {
          'a/web.yaml': deployment('r.example/team/web:1.0.0'),
          'b/web.yaml': deployment('r.example/team/web:1.0.0'),
        },
        'first',
      );
      const policies = new Policies();
      policies.set('apps', 'web', 'r.example/team/web', '3.0.0');
      const { updater, writeBack } = updaterFor(policies, createWriteBack({ workDir, logger: log.logger }));
      const a = gitSource(http.url(repo.name), { path: 'a' });
      const b = gitSource(http.url(repo.name), { path: 'b' });
      const [ra, rb] = await Promise.all([
        updater.update(ctxOf(a), { credentials: creds(), trackedCommit: first }),
        updater.update(ctxOf(b), { credentials: creds(), trackedCommit: first }),
      ]);
      expect([ra.report?.reason, rb.report?.reason]).toEqual(['Pushed', 'Pushed']);
      // One fetch each: the second started after the first had pushed, on its commit.
      expect(writeBack.stats().fetches).toBe(2);
      expect(await git(repo, 'rev-list', '--count', 'main')).toBe('3\n');
      expect(await show(repo, 'main', 'a/web.yaml')).toBe(deployment('r.example/team/web:3.0.0'));
      expect(await show(repo, 'main', 'b/web.yaml')).toBe(deployment('r.example/team/web:3.0.0'));
    },
    T,
  );

  it(
    'names each bad marker by file and line and still updates the other files; a bad template commits nothing',
    async () => {
      const repo = await fixture.createRepo('bad-input');
      const first = await commitFiles(
        repo,
        {
          'deploy/web.yaml': deployment('r.example/team/web:1.0.0'),
          'deploy/gone.yaml': 'image: x:1 # {"$imagepolicy": "apps:gone"}\n',
          'deploy/count.yaml': 'replicas: 3 # {"$imagepolicy": "apps:web:tag"}\n',
          'deploy/broken.yaml': 'a: b # {"$imagepolicy": "apps:web"}\nc: [\n',
          'deploy/chart/templates/x.yaml': '{{ .Values.x }}: no markers, not YAML, not our business\n',
        },
        'first',
      );
      const policies = new Policies();
      policies.set('apps', 'web', 'r.example/team/web', '1.1.0');
      const { updater } = updaterFor(policies);
      const s = gitSource(http.url(repo.name));
      const out = await updater.update(ctxOf(s), { credentials: creds(), trackedCommit: first });
      expect(out.report?.status).toBe('False');
      expect(out.report?.reason).toBe('InvalidMarker');
      expect(out.report?.message).toMatch(
        /^3 markers not applied: deploy\/broken\.yaml:\d: not valid YAML.*; deploy\/count\.yaml:1: marker "apps:web" is on a number value \(3\), not a string: quote it; deploy\/gone\.yaml:1: ImagePolicy apps\/gone not found\. Pushed [0-9a-f]{7} to main: deploy\/web\.yaml: r\.example\/team\/web:1\.0\.0 → r\.example\/team\/web:1\.1\.0$/,
      );
      expect(await show(repo, 'main', 'deploy/web.yaml')).toBe(deployment('r.example/team/web:1.1.0'));

      const templated = gitSource(http.url(repo.name), {
        imageUpdates: { author: { name: 'B', email: 'b@e' }, messageTemplate: 'Update {{range .Changed}}' },
      });
      policies.set('apps', 'web', 'r.example/team/web', '1.2.0');
      const head = await headOf(repo);
      const bad = await updater.update(ctxOf(templated), { credentials: creds(), trackedCommit: head });
      expect(bad.report).toMatchObject({
        status: 'False',
        reason: 'InvalidSpec',
        message: expect.stringMatching(
          /^spec.imageUpdates.messageTemplate: unknown placeholder \{\{range \.Changed\}\}/,
        ),
      });
      expect(await headOf(repo)).toBe(head);
    },
    T,
  );
});

// Journey: the converge CLI as a user and a CI pipeline run it — the real process against the real API
// server: build and diff of a local directory with no operator, then get/tree/history/events, reconcile
// --wait (success and failure), rollback and resume-tracking, suspend/resume and check with the operator.
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import { inject } from 'vitest';
import { converge, startConverge } from '../support/cli.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  execFileAsync,
  kubectlOk,
} from '../support/cluster.ts';
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
  getGitSource,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

const root = join(import.meta.dirname, '..', '..');
let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;
let work: string;

const colours = (colour: string) => ({
  'app/config.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: palette',
    'data:',
    '  colour: ${COLOUR}',
    `  shade: ${colour}`,
    '',
  ].join('\n'),
});

function writeDir(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

beforeAll(async () => {
  ns = await createNamespace('cli');
  fixture = await startGitFixture();
  http = await fixture.serveHttp();
  repo = await fixture.createRepo('fleet');
  work = mkdtempSync(join(tmpdir(), 'converge-cli-test-'));
});

afterAll(async () => {
  await fixture?.close();
  await deleteNamespace(ns);
  rmSync(work, { recursive: true, force: true });
});

// Each CLI call is a fresh node process (a few seconds on a busy machine): generous per-test bounds.
describe('without an operator', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    // No operator watches this namespace yet: the GitSource only lends its spec to build and diff.
    await applyGitSource(ns, 'local', {
      url: http.url('fleet'),
      path: './app',
      targetNamespace: ns,
      substitute: { COLOUR: 'teal' },
      interval: '1h',
    });
  });
  // The operator started below must not take it up (it would compete with `web` for the same objects).
  afterAll(() => kubectlOk(['delete', 'gitsource', 'local', '-n', ns, '--wait=false']));

  it('build --path renders a local directory with no cluster at all', async () => {
    const dir = writeDir('plain', {
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: plain }\ndata: { a: "1" }\n',
    });
    const r = await converge(['build', '--path', dir, '-n', 'somewhere'], {
      noKubeconfig: true,
      env: { KUBECONFIG: '/nonexistent' },
    });
    expect(r.stderr).toContain('1 object(s) rendered');
    expect(r.code).toBe(0);
    const docs = yaml.loadAll(r.stdout) as { metadata: { name: string; namespace: string } }[];
    expect(docs.map((d) => d.metadata)).toEqual([{ name: 'plain', namespace: 'somewhere' }]);
  });

  it('build and diff NAME --path use the GitSource spec (substitution, target namespace); diff exits 1 with a unified diff, Secrets masked', async () => {
    const dir = writeDir('local', {
      ...colours('light'),
      'app/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata: { name: creds }\nstringData: { password: hunter2-new }\n`,
    });
    const built = await converge(['build', 'local', '-n', ns, '--path', join(dir, 'app')]);
    expect(built.code, built.stderr).toBe(0);
    const docs = yaml.loadAll(built.stdout) as {
      kind: string;
      metadata: { namespace: string };
      data?: Record<string, string>;
    }[];
    expect(docs.find((d) => d.kind === 'ConfigMap')).toMatchObject({
      metadata: { namespace: ns },
      data: { colour: 'teal', shade: 'light' },
    });

    // A live Secret with another value: the diff says it changes, and shows neither value.
    await kubectlOk([
      'create',
      'secret',
      'generic',
      'creds',
      '-n',
      ns,
      '--from-literal=password=hunter2-old',
    ]);
    const d = await converge(['diff', 'local', '-n', ns, '--path', join(dir, 'app')]);
    expect(d.stderr).toBe('');
    expect(d.code).toBe(1);
    expect(d.stdout).toContain(`--- ConfigMap/${ns}/palette (absent)`);
    expect(d.stdout).toContain('+  colour: teal');
    expect(d.stdout).toContain(`--- Secret/${ns}/creds (live)`);
    expect(d.stdout).toContain('-  password: "*** (before)"'.replace(/"/g, "'"));
    expect(d.stdout).not.toMatch(/hunter2|aHVudGVyMi/);
    expect(d.stdout).not.toContain('\x1b['); // no colour when stdout is not a terminal
    expect(d.stdout).toMatch(/1 to create, 1 to configure, 0 to prune/);
    const colored = await converge(['diff', 'local', '-n', ns, '--path', join(dir, 'app'), '--color']);
    expect(colored.stdout).toContain('\x1b[32m+  colour: teal\x1b[0m');
    // Nothing was written by the diff.
    expect(await getObject(ns, 'configmap', 'palette')).toBeUndefined();
  });

  it('diff exits 2 on errors, with one line naming what is wrong', async () => {
    const bad = writeDir('bad', { 'app/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n' });
    const r = await converge(['diff', 'local', '-n', ns, '--path', join(bad, 'app')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^converge: RenderFailed: .*broken\.yaml/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await converge(['diff', 'nope', '-n', ns, '--path', bad]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`converge: gitsource ${ns}/nope not found\n`);
    const unreachable = await converge(['get', '-n', ns], {
      noKubeconfig: true,
      env: { KUBECONFIG: writeKubeconfig('https://127.0.0.1:1') },
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(
      /^converge: cannot reach the API server at https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
  });
});

function writeKubeconfig(server: string): string {
  const path = join(work, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    path,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  return path;
}

describe('with the operator', { timeout: 240_000 }, () => {
  let operator: OperatorProcess | undefined;
  const commits: string[] = [];
  beforeAll(async () => {
    operator = await startOperator({ namespace: ns, args: ['--leader-elect=true', '--lease-namespace', ns] });
    commits.push(await commitFiles(repo, colours('light'), 'light'));
    await applyGitSource(ns, 'web', {
      url: http.url('fleet'),
      path: './app',
      targetNamespace: ns,
      substitute: { COLOUR: 'teal' },
      interval: '1h',
    });
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: commits[0], timeoutMs: 60_000 });
  }, 180_000);
  afterAll(async () => {
    await operator?.stop();
  });

  it('get, get -o json, get -A, tree, history, events', async () => {
    const table = await converge(['get', '-n', ns]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+READY\s+REASON\s+REVISION\s+LAST CHANGE\s+AGE\n/);
    expect(table.stdout).toMatch(
      new RegExp(`^web\\s+True\\s+Succeeded\\s+main@sha1:${commits[0]!.slice(0, 7)}\\s`, 'm'),
    );
    const json = await converge(['get', 'web', '-n', ns, '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      kind: 'GitSource',
      metadata: { name: 'web', namespace: ns },
    });
    const all = await converge(['get', '-A']);
    expect(all.stdout).toMatch(new RegExp(`^${ns}\\s+web\\s+True`, 'm'));

    const tree = await converge(['tree', 'web', '-n', ns]);
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toContain(`GitSource/${ns}/web (Ready=True Succeeded`);
    expect(tree.stdout).toMatch(/└── ConfigMap\n\s+└── palette\s+✓ Current/);

    const history = await converge(['history', 'web', '-n', ns]);
    expect(history.stdout).toMatch(
      new RegExp(`^\\*\\s+main@sha1:${commits[0]}\\s+${commits[0]!.slice(0, 7)}\\s+Succeeded`, 'm'),
    );
    const events = await converge(['events', 'web', '-n', ns]);
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+MESSAGE/);
    expect(events.stdout).toMatch(/Normal\s+Converged/);
  });

  it('build NAME fetches the applied revision; diff of it exits 0, of a changed local directory 1', async () => {
    const built = await converge(['build', 'web', '-n', ns]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toContain(`rendered from main@sha1:${commits[0]} of ${ns}/web`);
    expect(yaml.loadAll(built.stdout)).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'palette', namespace: ns },
        data: { colour: 'teal', shade: 'light' },
      },
    ]);

    const same = await converge(['diff', 'web', '-n', ns]);
    expect(same.stderr).toBe('');
    expect(same.stdout).toMatch(/no changes/);
    expect(same.code).toBe(0);
    const dir = writeDir('changed', colours('dark'));
    const changed = await converge(['diff', 'web', '-n', ns, '--path', join(dir, 'app')]);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('-  shade: light\n+  shade: dark');
  });

  it('reconcile --wait follows a new commit to Ready (0), and a broken one to its failure (1)', async () => {
    commits.push(await commitFiles(repo, colours('dark'), 'dark'));
    const ok = await converge(['reconcile', 'web', '-n', ns, '--wait', '--timeout', '60s']);
    expect(ok.stderr).toContain(`► reconcile requested for ${ns}/web`);
    expect(ok.stdout).toMatch(new RegExp(`^✔ ${ns}/web is Ready at main@sha1:${commits[1]!.slice(0, 7)}`));
    expect(ok.code).toBe(0);
    expect((await getObject<{ data: Record<string, string> }>(ns, 'configmap', 'palette'))?.data.shade).toBe(
      'dark',
    );

    commits.push(await commitFiles(repo, { 'app/config.yaml': 'kind: [broken\n' }, 'broken'));
    const failed = await converge(['reconcile', 'web', '-n', ns, '--wait', '--timeout', '60s']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`✗ ${ns}/web failed: RenderFailed: .*config\\.yaml`));

    commits.push(await commitFiles(repo, colours('bright'), 'bright'));
    const fixed = await converge(['reconcile', 'web', '-n', ns, '--wait', '--timeout', '60s']);
    expect(fixed.code, fixed.stderr).toBe(0);
  });

  it('rollback pins the previous applied commit; resume-tracking returns to the branch', async () => {
    const rb = await converge(['rollback', 'web', '-n', ns]);
    expect(rb.code, rb.stderr).toBe(0);
    // The newest applied revision before "bright" is "dark" (the broken one was never applied).
    expect(rb.stdout).toContain(`pinned to commit ${commits[1]!.slice(0, 7)}`);
    expect(rb.stdout).toContain(`resume-tracking web -n ${ns}`);
    const pinned = await getGitSource(ns, 'web');
    expect(pinned?.spec.ref).toEqual({ commit: commits[1] });
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: `sha1:${commits[1]}`, timeoutMs: 60_000 });
    expect((await getObject<{ data: Record<string, string> }>(ns, 'configmap', 'palette'))?.data.shade).toBe(
      'dark',
    );

    const back = await converge(['resume-tracking', 'web', '-n', ns]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('follows branch main again');
    const restored = await getGitSource(ns, 'web');
    expect(restored?.spec.ref).toEqual({ branch: 'main' });
    await waitForCondition(ns, 'web', 'Ready', 'True', {
      revision: `main@sha1:${commits[3]}`,
      timeoutMs: 60_000,
    });
    expect((await getObject<{ data: Record<string, string> }>(ns, 'configmap', 'palette'))?.data.shade).toBe(
      'bright',
    );

    const again = await converge(['resume-tracking', 'web', '-n', ns]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not rolled back/);
  });

  it('rollback refuses when the history holds no earlier applied revision', async () => {
    const other = await fixture.createRepo('single');
    await commitFiles(
      other,
      { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: single }\n' },
      'one',
    );
    await applyGitSource(ns, 'single', { url: http.url('single'), targetNamespace: ns, interval: '1h' });
    await waitForCondition(ns, 'single', 'Ready', 'True', { timeoutMs: 60_000 });
    const r = await converge(['rollback', 'single', '-n', ns]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^converge: cannot roll back ${ns}/single: no earlier applied revision`),
    );
  });

  it('resume-tracking converges the current head, though another GitSource shares the git cache', async () => {
    // A twin on the same URL and branch (another path) shares web's cache and its ls-remote answers.
    const head = await commitFiles(repo, { 'twin/cm.yaml': configMap('twin', { v: '1' }) }, 'twin');
    // web polls first: a GitSource created right after may take a cache's answer up to 5 s old
    // (a fleet created at once shares one ls-remote), which must not predate the commit here.
    const polled = await requestReconcile(ns, 'web');
    await eventually(async () => (await getGitSource(ns, 'web'))?.status?.lastHandledReconcileAt === polled, {
      timeoutMs: 60_000,
      what: 'web polled',
    });
    await applyGitSource(ns, 'twin', {
      url: http.url('fleet'),
      ref: { branch: 'main' },
      path: './twin',
      targetNamespace: ns,
      interval: '1h',
    });
    await waitForCondition(ns, 'twin', 'Ready', 'True', { revision: head, timeoutMs: 60_000 });
    // Both are at the head web now rolls back from.
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: head, timeoutMs: 60_000 });
    const rb = await converge(['rollback', 'web', '-n', ns]);
    expect(rb.code, rb.stderr).toBe(0);
    const pinned = ((await getGitSource(ns, 'web'))?.spec.ref as { commit: string }).commit;
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: `sha1:${pinned}`, timeoutMs: 60_000 });
    // twin polls the branch again: the cache's last answer is fresh, and names the old head.
    const asked = await requestReconcile(ns, 'twin');
    await eventually(async () => (await getGitSource(ns, 'twin'))?.status?.lastHandledReconcileAt === asked, {
      timeoutMs: 60_000,
      what: 'twin polled',
    });

    const fix = await commitFiles(repo, colours('fixed'), 'fix');
    const back = await converge(['resume-tracking', 'web', '-n', ns]);
    expect(back.code, back.stderr).toBe(0);
    const resumed = await waitForCondition(ns, 'web', 'Ready', 'True', {
      revision: `main@sha1:${fix}`,
      timeoutMs: 60_000,
    });
    // Straight from the pinned commit to the fix: the old head was never applied again.
    expect(resumed.status?.history?.slice(0, 2).map((h) => h.revision)).toEqual([
      `main@sha1:${fix}`,
      `sha1:${pinned}`,
    ]);
    expect((await getObject<{ data: Record<string, string> }>(ns, 'configmap', 'palette'))?.data.shade).toBe(
      'fixed',
    );
    // web's poll saw the branch move: twin learns of it at once, not at its next poll in an hour.
    await waitForCondition(ns, 'twin', 'Ready', 'True', { revision: fix, timeoutMs: 60_000 });
    await kubectlOk(['delete', 'gitsource', 'twin', '-n', ns]);
  });

  it('get shows no REVISION until one is applied; a fixed spec.url rewrites every condition', async () => {
    // A password in the URL passes the CRD's pattern and is refused by the operator.
    await applyGitSource(ns, 'fresh', {
      url: 'http://user:secret@127.0.0.1:9/fresh.git',
      targetNamespace: ns,
      interval: '5s',
      retryInterval: '5s',
    });
    await waitForCondition(ns, 'fresh', 'Ready', 'False', { reason: 'InvalidSpec', timeoutMs: 60_000 });
    // Fixed, to a repository that does not exist yet: a fetch failure, which leaves live objects
    // alone, so it keeps Converged; but not the InvalidSpec of the spec that is gone.
    await kubectlOk([
      'patch',
      'gitsource',
      'fresh',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { url: http.url('later') } }),
    ]);
    const failed = await eventually(
      async () => {
        const gs = await getGitSource(ns, 'fresh');
        const ready = condition(gs, 'Ready');
        return gs?.status?.observedGeneration === 2 && ready?.reason !== 'InvalidSpec' ? gs : undefined;
      },
      { timeoutMs: 60_000, what: 'fresh reconciled at generation 2' },
    );
    const ready = condition(failed, 'Ready')!;
    expect(['FetchFailed', 'RefNotFound']).toContain(ready.reason);
    expect(failed.status?.conditions?.map((c) => [c.type, c.observedGeneration])).toEqual(
      failed.status?.conditions?.map((c) => [c.type, 2]),
    );
    expect(condition(failed, 'Converged')).toMatchObject({
      status: 'False',
      reason: ready.reason,
      message: ready.message,
    });
    expect(JSON.stringify(failed.status)).not.toContain('InvalidSpec');

    // The repository appears with a broken commit: fetched, never applied, so no REVISION.
    const later = await fixture.createRepo('later');
    const broken = await commitFiles(later, { 'cm.yaml': 'kind: [broken\n' }, 'broken');
    const stalled = await waitForCondition(ns, 'fresh', 'Ready', 'False', {
      reason: 'RenderFailed',
      timeoutMs: 60_000,
    });
    expect(stalled.status?.revision).toBe(`main@sha1:${broken}`);
    expect(stalled.status?.lastAppliedRevision).toBeUndefined();
    const none = await converge(['get', 'fresh', '-n', ns]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/^fresh\s+False\s+RenderFailed\s+-\s/m);

    const good = await commitFiles(later, { 'cm.yaml': configMap('later', { v: '1' }) }, 'good');
    await waitForCondition(ns, 'fresh', 'Ready', 'True', { revision: good, timeoutMs: 60_000 });
    const shown = await converge(['get', 'fresh', '-n', ns]);
    expect(shown.stdout).toMatch(
      new RegExp(`^fresh\\s+True\\s+Succeeded\\s+main@sha1:${good.slice(0, 7)}\\s`, 'm'),
    );
    await kubectlOk(['delete', 'gitsource', 'fresh', '-n', ns]);
  });

  it('get -w streams a change; suspend, reconcile refused while suspended, resume', async () => {
    const watch = startConverge(['get', 'web', '-n', ns, '-w', '--kubeconfig', inject('kubeconfig')], {
      noKubeconfig: true,
    });
    try {
      await eventually(() => /^web\s+True/m.test(watch.output()), {
        timeoutMs: 30_000,
        what: 'the first row',
      });
      const s = await converge(['suspend', 'web', '-n', ns]);
      expect(s.code, s.stderr).toBe(0);
      await eventually(() => /^web\s+False\s+Suspended/m.test(watch.output()), {
        timeoutMs: 30_000,
        what: 'a Suspended row',
      });
    } finally {
      watch.child.kill('SIGINT');
    }
    const refused = await converge(['reconcile', 'web', '-n', ns, '--wait']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is suspended; resume it first/);
    const r = await converge(['resume', 'web', '-n', ns]);
    expect(r.code).toBe(0);
    await waitForCondition(ns, 'web', 'Ready', 'True', { timeoutMs: 60_000 });
  });

  it('check passes with the operator holding its Lease, and fails naming what to do without one', async () => {
    const ok = await converge(['check', '--lease-namespace', ns, '-n', ns]);
    expect(ok.stdout).toMatch(/^✓ API server .* is reachable/m);
    expect(ok.stdout).toMatch(/^✓ CRD gitsources\.gitops\.converge\.dev serves v1alpha1 and is Established/m);
    expect(ok.stdout).toMatch(/^✓ CRD schema matches this CLI's/m);
    expect(ok.stdout).toMatch(new RegExp(`^✓ operator .* holds Lease ${ns}/converge-leader`, 'm'));
    expect(ok.stdout).toMatch(/^! RBAC mode unknown/m); // no chart in this cluster
    expect(ok.stdout).toMatch(new RegExp(`^✓ you may list and patch GitSources in namespace ${ns}`, 'm'));
    expect(ok.code).toBe(0);
    const none = await converge(['check', '--lease-namespace', `${ns}-none`]);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(new RegExp(`^✗ no Lease ${ns}-none/converge-leader: .*helm install`, 'm'));
  });

  it('runs as a kubectl plugin: `kubectl converge get`', async () => {
    const bin = join(work, 'plugins');
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(root, 'bin', 'kubectl-converge.js'), join(bin, 'kubectl-converge'));
    const { stdout } = await execFileAsync(
      inject('kubectl'),
      ['converge', 'get', 'web', '-n', ns, '--kubeconfig', inject('kubeconfig')],
      { env: { PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: work } },
    );
    expect(stdout).toMatch(/^web\s+True/m);
    const help = await execFileAsync(inject('kubectl'), ['converge', '--help'], {
      env: { PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: work },
    });
    expect(help.stdout).toContain('Usage: kubectl converge COMMAND');
  });
});

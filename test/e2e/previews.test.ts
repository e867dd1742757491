// Journeys of pull-request previews against a real Gitea (pull requests, comments, statuses, forks
// and webhooks all real): open → one comment + status; push → the same comment edited; a pull request
// that renders nothing new here gets nothing; labels select, and a removed label adds nothing; Deploy
// runs a preview GitSource in its own namespace and prunes it on merge; a fork is diffed, never deployed.
// Intervals are 1h: every preview after the first pass is driven by Gitea's webhooks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap } from '../support/apps.ts';
import { createNamespace, deleteNamespace, eventually, kubectl, kubectlOk } from '../support/cluster.ts';
import {
  startGitea,
  type Gitea,
  type GiteaComment,
  type GiteaStatus,
  type GiteaUser,
} from '../support/gitea.ts';
import { getGitSource, waitForCondition } from '../support/gitops.ts';
import { LOOPBACK_CIDRS, startOperator, type OperatorProcess } from '../support/operator.ts';

const HOOK_SECRET = 'e2e-preview-hook-secret-7d1e';
let ns: string;
let deployNs: string;
let gitea: Gitea;
let admin: GiteaUser;
let repoUrl: string;
let operator: OperatorProcess;
let secretDir: string;
const REPO = 'fleet';

/** This file's operator watches every namespace, so it only takes GitSources carrying this file's label. */
const SHARD = { 'converge-e2e': 'previews' };
const applyGitSource = (namespace: string, name: string, spec: Record<string, unknown>) =>
  kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'gitops.converge.dev/v1alpha1',
      kind: 'GitSource',
      metadata: { name, namespace, labels: SHARD },
      spec,
    }),
  );

const marker = (namespace: string, name: string) => `<!-- converge-preview ${namespace}/${name} -->`;
const comments = (pr: number) =>
  gitea.api<GiteaComment[]>('GET', `/repos/${admin.name}/${REPO}/issues/${pr}/comments`);
const ours = async (pr: number, namespace: string, name: string) =>
  (await comments(pr)).filter((c) => c.body.startsWith(marker(namespace, name)));
const statuses = (sha: string) =>
  gitea.api<GiteaStatus[]>('GET', `/repos/${admin.name}/${REPO}/commits/${sha}/statuses?limit=50`);
const ourStatuses = async (sha: string, namespace: string, name: string) =>
  (await statuses(sha)).filter((s) => s.context === `converge/preview/${namespace}/${name}`);
const openPull = async (head: string, title: string, as: GiteaUser = admin) =>
  (
    await gitea.api<{ number: number }>(
      'POST',
      `/repos/${admin.name}/${REPO}/pulls`,
      { head, base: 'main', title },
      as,
    )
  ).number;
const preview = async (namespace: string, name: string, number: number) =>
  (await getGitSource(namespace, name))?.status?.previews?.find((p) => p.number === number);
const waitPreview = (
  namespace: string,
  name: string,
  number: number,
  ok: (p: { head: string; state: string }) => boolean,
  what: string,
) =>
  eventually(
    async () => {
      const p = await preview(namespace, name, number);
      return p && ok(p) ? p : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200, what },
  );

beforeAll(async () => {
  [ns, deployNs] = await Promise.all([createNamespace('prev'), createNamespace('prevdep')]);
  gitea = await startGitea();
  admin = gitea.admin;
  repoUrl = await gitea.createRepo(admin, REPO, {
    'app/config.yaml': configMap('web', { n: '1' }),
    'docs/readme.md': '# fleet\n',
  });
  secretDir = mkdtempSync(join(tmpdir(), 'converge-prev-'));
  writeFileSync(join(secretDir, 'token'), `${HOOK_SECRET}\n`);
  for (const n of [ns, deployNs])
    await kubectlOk([
      'create',
      'secret',
      'generic',
      'pr-bot',
      '-n',
      n,
      `--from-literal=token=${admin.token}`,
    ]);
  // Deploy mode applies as a ServiceAccount: admin in its own namespace, and (bound by the operator) in each preview's.
  await kubectlOk(['create', 'serviceaccount', 'deployer', '-n', deployNs]);
  await kubectlOk([
    'create',
    'rolebinding',
    'deployer',
    '-n',
    deployNs,
    '--clusterrole=admin',
    `--serviceaccount=${deployNs}:deployer`,
  ]);
  // The gitea Notifier's receiver is this loopback Gitea: allowed explicitly (loopback is denied by default).
  operator = await startOperator({
    notifyAllow: LOOPBACK_CIDRS,
    args: [
      '--leader-elect=false',
      '--webhook-secret-file',
      join(secretDir, 'token'),
      '--webhook-addr',
      '127.0.0.1:0',
    ],
  });
  const port = (await operator.webhookPort())!;
  await gitea.api('POST', `/repos/${admin.name}/${REPO}/hooks`, {
    type: 'gitea',
    active: true,
    events: ['push', 'pull_request', 'pull_request_sync', 'pull_request_label'],
    config: { url: `http://127.0.0.1:${port}/gitea`, content_type: 'json', secret: HOOK_SECRET },
  });
  const common = {
    url: repoUrl,
    ref: { branch: 'main' },
    path: './app',
    interval: '1h',
    wait: false,
  };
  await applyGitSource(ns, 'web', {
    ...common,
    targetNamespace: ns,
    previews: { provider: 'gitea', secretRef: { name: 'pr-bot' }, address: `${gitea.url}/api/v1` },
  });
  await applyGitSource(deployNs, 'dep', {
    ...common,
    serviceAccountName: 'deployer',
    previews: {
      provider: 'gitea',
      secretRef: { name: 'pr-bot' },
      address: `${gitea.url}/api/v1`,
      mode: 'Deploy',
      maxPreviews: 5,
    },
  });
  // The existing gitea commit-status Notifier, against the real Gitea (its statuses: converge/<ns>/<name>).
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'gitops.converge.dev/v1alpha1',
      kind: 'Notifier',
      metadata: { name: 'commits', namespace: ns },
      spec: { type: 'gitea', address: gitea.url, secretRef: { name: 'pr-bot' } },
    }),
  );
  await Promise.all([
    waitForCondition(ns, 'web', 'Ready', 'True', { timeoutMs: 60_000 }),
    waitForCondition(deployNs, 'dep', 'Ready', 'True', { timeoutMs: 60_000 }),
  ]);
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await gitea?.close();
  for (const n of [ns, deployNs]) if (n) await deleteNamespace(n);
  await kubectl(['delete', 'namespace', '-l', `gitops.converge.dev/namespace=${deployNs}`, '--wait=false']);
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

describe('pull request previews', () => {
  let feature: number;
  let head: string;

  it('an opened pull request gets one comment with the dry-run diff and a success status', async () => {
    head = await gitea.commit(admin, REPO, 'feat', {
      'app/config.yaml': configMap('web', { n: '2' }),
      'app/extra.yaml': configMap('extra', { added: 'yes' }),
    });
    feature = await openPull('feat', 'more config');
    await waitPreview(
      ns,
      'web',
      feature,
      (p) => p.head === head && p.state === 'Diffed',
      'web preview of the feature',
    );
    const mine = await ours(feature, ns, 'web');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toContain('**1 to create, 1 to configure, 0 to prune**');
    expect(mine[0]!.body).toContain(`ConfigMap/${ns}/extra`);
    expect(mine[0]!.body).toMatch(/-\s+'n': '1'/);
    expect(mine[0]!.body).toMatch(/\+\s+'n': '2'/);
    const st = await ourStatuses(head, ns, 'web');
    expect(st.map((s) => s.status)).toEqual(['success']);
    expect(st[0]!.description).toContain('1 to create, 1 to configure');
    // A preview is a dry-run: nothing of the head reached the cluster.
    expect((await kubectl(['get', 'configmap', 'extra', '-n', ns])).code).not.toBe(0);
  });

  it('a push to the pull request edits the same comment', async () => {
    const before = (await ours(feature, ns, 'web'))[0]!;
    const next = await gitea.commit(admin, REPO, 'feat', {
      'app/extra.yaml': configMap('extra', { added: 'twice' }),
    });
    await waitPreview(ns, 'web', feature, (p) => p.head === next && p.state === 'Diffed', 'the new head');
    const after = await ours(feature, ns, 'web');
    expect(after).toHaveLength(1);
    expect(after[0]!.id).toBe(before.id);
    expect(after[0]!.body).toContain(`\`${next.slice(0, 7)}\``);
    expect(after[0]!.body).toContain('twice');
    expect((await ourStatuses(next, ns, 'web')).map((s) => s.status)).toEqual(['success']);
    head = next;
  });

  it('a pull request that renders nothing new for this GitSource gets nothing', async () => {
    const docsHead = await gitea.commit(admin, REPO, 'docs', { 'docs/readme.md': '# fleet, documented\n' });
    const docs = await openPull('docs', 'docs only');
    const p = await waitPreview(ns, 'web', docs, (x) => x.head === docsHead, 'docs pull request seen');
    expect(p.state).toBe('Unaffected');
    expect(await ours(docs, ns, 'web')).toHaveLength(0);
    expect(await ourStatuses(docsHead, ns, 'web')).toHaveLength(0);
  });

  it('labels select pull requests; removing the label adds no comment and no status', async () => {
    await kubectlOk([
      'patch',
      'gitsource',
      'web',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { previews: { labels: ['preview'] } } }),
    ]);
    await eventually(async () => (await preview(ns, 'web', feature)) === undefined, {
      timeoutMs: 30_000,
      what: 'unlabelled pull request dropped',
    });
    const label = await gitea.api<{ id: number }>('POST', `/repos/${admin.name}/${REPO}/labels`, {
      name: 'preview',
      color: '#00aabb',
    });
    await gitea.api('POST', `/repos/${admin.name}/${REPO}/issues/${feature}/labels`, { labels: [label.id] });
    await waitPreview(
      ns,
      'web',
      feature,
      (p) => p.head === head && p.state === 'Diffed',
      'labelled pull request previewed',
    );
    expect(await ours(feature, ns, 'web')).toHaveLength(1);
    const statusCount = (await ourStatuses(head, ns, 'web')).length;
    await gitea.api('DELETE', `/repos/${admin.name}/${REPO}/issues/${feature}/labels/${label.id}`);
    await eventually(async () => (await preview(ns, 'web', feature)) === undefined, {
      timeoutMs: 30_000,
      what: 'label removal seen',
    });
    expect(await ours(feature, ns, 'web')).toHaveLength(1);
    expect(await ourStatuses(head, ns, 'web')).toHaveLength(statusCount);
  });

  it('Deploy runs the pull request in its own namespace as a preview GitSource', async () => {
    const p = await waitPreview(
      deployNs,
      'dep',
      feature,
      (x) => x.head === head && x.state === 'Deployed',
      'preview deployed',
    );
    expect(p).toMatchObject({ namespace: `dep-pr-${feature}` });
    const cm = JSON.parse(
      await kubectlOk(['get', 'configmap', 'extra', '-n', `dep-pr-${feature}`, '-o', 'json']),
    );
    expect(cm.data).toEqual({ added: 'twice' });
    const child = await getGitSource(deployNs, `dep-pr-${feature}`);
    expect(child?.spec?.ref).toEqual({ commit: head });
    const st = await ourStatuses(head, deployNs, 'dep');
    // pending while the preview GitSource converged, then success once it was Ready.
    expect(st.map((x) => x.status).sort()).toEqual(['pending', 'success']);
    expect(st.find((x) => x.status === 'success')!.description).toContain(`deployed into dep-pr-${feature}`);
  });

  it('a fork is diffed and never deployed', async () => {
    const forker = await gitea.createUser('forker');
    await gitea.api('POST', `/repos/${admin.name}/${REPO}/forks`, {}, forker);
    await eventually(
      () => gitea.api('GET', `/repos/${forker.name}/${REPO}`, undefined, forker).then(() => true),
      { what: 'fork made' },
    );
    const forkHead = await gitea.commit(forker, REPO, 'evil', {
      'app/evil.yaml': configMap('evil', { x: 'y' }),
    });
    const number = await openPull(`${forker.name}:evil`, 'from a fork', forker);
    const p = await waitPreview(
      deployNs,
      'dep',
      number,
      (x) => x.head === forkHead,
      'fork pull request seen',
    );
    expect(p.state).toBe('Skipped');
    const mine = await ours(number, deployNs, 'dep');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toContain('Not deployed: from a fork');
    expect(mine[0]!.body).toContain('evil');
    expect((await kubectl(['get', 'namespace', `dep-pr-${number}`])).code).not.toBe(0);
    expect(await getGitSource(deployNs, `dep-pr-${number}`)).toBeUndefined();
  });

  it('merging the pull request prunes its preview', async () => {
    await gitea.api('POST', `/repos/${admin.name}/${REPO}/pulls/${feature}/merge`, { Do: 'merge' });
    await eventually(async () => (await getGitSource(deployNs, `dep-pr-${feature}`)) === undefined, {
      timeoutMs: 60_000,
      what: 'preview GitSource deleted',
    });
    await eventually(
      async () => {
        const r = await kubectl(['get', 'namespace', `dep-pr-${feature}`, '-o', 'json']);
        return r.code !== 0 || !!JSON.parse(r.stdout).metadata.deletionTimestamp;
      },
      { timeoutMs: 30_000, what: 'preview namespace deleted' },
    );
    expect(await preview(deployNs, 'dep', feature)).toBeUndefined();
  });

  it('the gitea commit-status Notifier posts to the real Gitea when the merge converges', async () => {
    // The merge above pushed to main: Gitea's push webhook wakes web (interval 1h), which converges it.
    const branch = await gitea.api<{ commit: { id: string } }>(
      'GET',
      `/repos/${admin.name}/${REPO}/branches/main`,
    );
    const merged = branch.commit.id;
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: merged, timeoutMs: 60_000 });
    const mine = await eventually(
      async () => {
        const st = (await statuses(merged)).filter((x) => x.context === `converge/${ns}/web`);
        return st.some((x) => x.status === 'success') ? st : undefined;
      },
      { timeoutMs: 30_000, what: 'the Notifier’s success status on the merge commit' },
    );
    expect(mine.map((x) => x.status).sort()).toEqual(['pending', 'success']);
  }, 90_000);
});

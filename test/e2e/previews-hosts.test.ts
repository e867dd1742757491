// Pull-request previews against GitHub's and GitLab's documented APIs (a loopback fake checking auth
// and content types, as the notification tests do) with the real git fixture and operator: pages of
// pull requests followed, only those into the tracked branch previewed, one comment created then
// edited on a new head, one commit status per head.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap } from '../support/apps.ts';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import { startFakePrHost, type FakePrHost } from '../support/fake-pr-hosts.ts';
import { commitFiles, startGitFixture, type GitFixture, type HttpGitServer } from '../support/git-server.ts';
import { applyGitSource, waitForCondition } from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';

const TOKEN = 'fake-host-token-31c9';
let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let operator: OperatorProcess;
const hosts: FakePrHost[] = [];

beforeAll(async () => {
  ns = await createNamespace('prhost');
  fixture = await startGitFixture();
  http = await fixture.serveHttp();
  await kubectlOk(['create', 'secret', 'generic', 'pr-bot', '-n', ns, `--from-literal=token=${TOKEN}`]);
  operator = await startOperator({ namespace: ns });
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  for (const h of hosts) await h.close();
  await fixture?.close();
  await deleteNamespace(ns);
});

describe.each(['github', 'gitlab'] as const)('%s', (kind) => {
  it('previews the pull request into main: one comment, edited on a new head, and a status per head', async () => {
    const repo = await fixture.createRepo(`${kind}-org/fleet`);
    await commitFiles(repo, { 'app/config.yaml': configMap(`${kind}-web`, { n: '1' }) }, 'initial');
    const main = await commitFiles(
      repo,
      { 'app/config.yaml': configMap(`${kind}-web`, { n: '1', m: 'x' }) },
      'main',
    );
    const head = await commitFiles(
      repo,
      { 'app/config.yaml': configMap(`${kind}-web`, { n: '2', m: 'x' }) },
      'feature',
      { branch: 'feat', parent: main },
    );
    const host = await startFakePrHost(kind, `${kind}-org`, 'fleet', TOKEN);
    hosts.push(host);
    host.pulls = [
      { number: 3, head: 'c'.repeat(40), base: 'dev' },
      { number: 7, head, base: 'main' },
    ];
    await applyGitSource(ns, kind, {
      url: http.url(`${kind}-org/fleet`),
      path: './app',
      interval: '5s',
      targetNamespace: ns,
      wait: false,
      previews: {
        provider: kind,
        secretRef: { name: 'pr-bot' },
        address: kind === 'github' ? host.url : `${host.url}/api/v4`,
      },
    });
    await waitForCondition(ns, kind, 'Ready', 'True', { timeoutMs: 60_000 });
    const first = await eventually(() => host.comments.get(7)?.[0], {
      timeoutMs: 60_000,
      what: 'a comment',
    }).catch((err: unknown) => {
      throw new Error(
        `${String(err)}; requests: ${host.requests.join(', ')}; logs: ${operator.logs
          .filter((l) => l.includes('preview'))
          .slice(-5)
          .join('\n')}`,
      );
    });
    expect(first.body.startsWith(`<!-- converge-preview ${ns}/${kind} -->`)).toBe(true);
    expect(first.body).toContain('**0 to create, 1 to configure, 0 to prune**');
    expect(host.comments.get(3)).toBeUndefined();
    await eventually(() => host.statuses.find((s) => s.sha === head), { what: 'a status' });
    expect(host.statuses.filter((s) => s.sha === head)).toMatchObject([
      { state: 'success', context: `converge/preview/${ns}/${kind}` },
    ]);
    if (kind === 'github')
      expect(host.requests.filter((r) => r.endsWith('/pulls')).length).toBeGreaterThan(1);

    const next = await commitFiles(
      repo,
      { 'app/config.yaml': configMap(`${kind}-web`, { n: '3', m: 'x' }) },
      'again',
      {
        branch: 'feat',
      },
    );
    host.pulls[1]!.head = next;
    await eventually(() => host.statuses.find((s) => s.sha === next), {
      timeoutMs: 30_000,
      what: 'the new head',
    });
    expect(host.comments.get(7)).toHaveLength(1);
    expect(host.comments.get(7)![0]!.id).toBe(first.id);
    expect(host.comments.get(7)![0]!.body).toContain(`\`${next.slice(0, 7)}\``);
    const posts = host.requests.filter((r) => r.startsWith('POST') && /comments|notes/.test(r));
    expect(posts).toHaveLength(1);
  }, 120_000);
});

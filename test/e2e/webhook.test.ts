// Journey: a push webhook converges a GitSource at once (interval 1h, so polling cannot explain it),
// for every provider's documented request; unsigned, wrongly signed, replayed and unmatched
// requests wake nothing and say nothing; a burst costs at most one extra reconcile.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import {
  commitFiles,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
} from '../support/git-server.ts';
import {
  applyGitSource,
  eventsFor,
  getGitSource,
  getObject,
  metricSum,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startOperator, type OperatorProcess } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';
import {
  pingRequest,
  pushRequest,
  repoNames,
  sendHook,
  type HookProvider,
  type RepoNames,
} from '../support/webhooks.ts';

const SECRET = 'e2e-webhook-secret-4f2c';
const NS_SECRET = 'e2e-namespace-secret-9a1b';
const UNAUTHORIZED = '{"error":"unauthorized"}';
const ACCEPTED = '{"status":"accepted"}';
const PROVIDERS: HookProvider[] = [
  'github',
  'gitlab',
  'bitbucket',
  'bitbucket-server',
  'gitea',
  'forgejo',
  'generic',
];

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let repo: GitRepo;
let names: RepoNames;
let operator: OperatorProcess;
let port: number;
let metricsPort: number;
let secretDir: string;
let head: string;
let n = 0;

/** A new commit on main changing the ConfigMap; returns its sha. */
async function commit(): Promise<string> {
  n++;
  head = await commitFiles(repo, { 'deploy/config.yaml': configMap('web', { n: String(n) }) }, `change ${n}`);
  return head;
}

const reconciles = () => metricSum(metricsPort, 'converge_reconcile_total');
const applied = async () => (await getGitSource(ns, 'web'))?.status?.lastAppliedRevision;

beforeAll(async () => {
  ns = await createNamespace('hook');
  fixture = await startGitFixture();
  [http, repo] = await Promise.all([fixture.serveHttp(), fixture.createRepo('app')]);
  names = repoNames(http.url('app'));
  secretDir = mkdtempSync(join(tmpdir(), 'converge-hook-'));
  writeFileSync(join(secretDir, 'token'), `${SECRET}\n`);
  await kubectlOk([
    'create',
    'secret',
    'generic',
    'converge-webhook',
    '-n',
    ns,
    `--from-literal=token=${NS_SECRET}`,
  ]);
  operator = await startOperator({
    namespace: ns,
    args: [
      '--leader-elect=false',
      '--webhook-secret-file',
      join(secretDir, 'token'),
      '--webhook-namespace-secret',
      'converge-webhook',
    ],
  });
  port = (await operator.webhookPort())!;
  metricsPort = await operator.metricsPort();
  const first = await commit();
  await commitFiles(repo, { 'pinned/config.yaml': configMap('pinned', { pinned: 'yes' }) }, 'pinned');
  const pinned = await commit();
  await applyGitSource(ns, 'web', {
    url: http.url('app'),
    path: './deploy',
    interval: '1h',
    targetNamespace: ns,
    wait: false,
  });
  await applyGitSource(ns, 'pinned', {
    url: http.url('app'),
    ref: { commit: pinned },
    path: './pinned',
    interval: '1h',
    targetNamespace: ns,
    wait: false,
  });
  await waitForCondition(ns, 'web', 'Ready', 'True', { revision: head });
  await waitForCondition(ns, 'pinned', 'Ready', 'True');
  expect(first).not.toBe(head);
});

afterAll(async () => {
  await operator?.stop();
  await fixture?.close();
  await deleteNamespace(ns);
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

describe('push webhooks', () => {
  it('serves the receiver on its own port', () => {
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(metricsPort);
  });

  it.each(PROVIDERS)('a signed %s push converges at once, one PushReceived Event', async (provider) => {
    const before = head;
    const c = await commit();
    const delivery = `${provider}-${c.slice(0, 12)}`;
    const started = performance.now();
    const res = await sendHook(
      port,
      pushRequest(provider, names, { ref: 'refs/heads/main', before, after: c }, SECRET, { delivery }),
    );
    expect(res).toEqual({ status: 202, body: ACCEPTED });
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: c, timeoutMs: 30_000 });
    console.log(
      `[webhook] ${provider}: Ready at the pushed revision ${Math.round(performance.now() - started)} ms after the POST`,
    );
    const cm = await getObject(ns, 'configmap', 'web');
    expect(cm?.data?.n).toBe(String(n));
    const mine = await eventually(async () => {
      const ev = (await eventsFor(ns, 'web')).filter(
        (e) => e.reason === 'PushReceived' && e.note?.includes(delivery),
      );
      return ev.length ? ev : undefined;
    });
    expect(mine).toHaveLength(1);
    // The generic body names no commit; the providers' payloads do.
    const sha = provider === 'generic' ? '' : ` \\(${c.slice(0, 7)}\\)`;
    const from = provider === 'forgejo' ? 'gitea' : provider;
    expect(mine[0]!.note).toMatch(
      new RegExp(`^Push to branch main${sha} received from ${from} \\(delivery ${delivery}\\)$`),
    );
  });

  it('answers wrong and missing signatures 401 with one body, and wakes nothing', async () => {
    const was = await applied();
    const c = await commit();
    const count = await reconciles();
    for (const provider of PROVIDERS) {
      for (const secret of ['wrong-secret', undefined]) {
        const res = await sendHook(
          port,
          pushRequest(provider, names, { ref: 'refs/heads/main', after: c }, secret),
        );
        expect(res, `${provider} ${secret ? 'wrong' : 'missing'} signature`).toEqual({
          status: 401,
          body: UNAUTHORIZED,
        });
      }
    }
    // A namespace's secret is valid only on its own path.
    const nsSigned = pushRequest('gitea', names, { ref: 'refs/heads/main', after: c }, NS_SECRET);
    expect(await sendHook(port, nsSigned)).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await sendHook(port, { ...nsSigned, path: '/gitea/default' })).toEqual({
      status: 401,
      body: UNAUTHORIZED,
    });
    expect(await reconciles()).toBe(count);
    expect(await applied()).toBe(was);
    expect(
      await metricSum(metricsPort, 'converge_webhook_requests_total', { result: /^unauthorized$/ }),
    ).toBeGreaterThanOrEqual(16);

    // The namespace secret on /gitea/<namespace> wakes sources of that namespace.
    expect(await sendHook(port, { ...nsSigned, path: `/gitea/${ns}` })).toEqual({
      status: 202,
      body: ACCEPTED,
    });
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: c, timeoutMs: 30_000 });
  });

  it('gives a matched and an unmatched repository the same answer', async () => {
    const c = await commit();
    const other = repoNames(http.url('not-followed'));
    const unmatched = await sendHook(
      port,
      pushRequest('github', other, { ref: 'refs/heads/main', after: c }, SECRET),
    );
    const devBranch = await sendHook(
      port,
      pushRequest('github', names, { ref: 'refs/heads/dev', after: c }, SECRET),
    );
    const matched = await sendHook(
      port,
      pushRequest('github', names, { ref: 'refs/heads/main', after: c }, SECRET),
    );
    expect(unmatched).toEqual(matched);
    expect(devBranch).toEqual(matched);
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: c, timeoutMs: 30_000 });
    expect(
      await metricSum(metricsPort, 'converge_webhook_requests_total', {
        provider: /^github$/,
        result: /^unmatched$/,
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await metricSum(metricsPort, 'converge_webhook_requests_total', {
        provider: /^github$/,
        result: /^matched$/,
      }),
    ).toBeGreaterThanOrEqual(1);
    // The pinned commit is never woken by a push.
    expect((await eventsFor(ns, 'pinned')).filter((e) => e.reason === 'PushReceived')).toEqual([]);
  });

  it('answers pings 200, other events 202, replays once, oversized bodies 413', async () => {
    for (const p of ['github', 'bitbucket-server', 'generic'] as const) {
      expect((await sendHook(port, pingRequest(p, names, SECRET))).status).toBe(200);
    }
    const pr = pushRequest('github', names, { ref: 'refs/heads/main', after: head }, SECRET);
    const other = await sendHook(port, {
      ...pr,
      headers: { ...pr.headers, 'x-github-event': 'issues' },
    });
    expect(other.status).toBe(202);

    const c = await commit();
    const once = pushRequest('gitlab', names, { ref: 'refs/heads/main', after: c }, SECRET, {
      delivery: `replay-${c}`,
    });
    expect((await sendHook(port, once)).status).toBe(202);
    expect(await sendHook(port, once)).toMatchObject({ status: 200 });
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: c, timeoutMs: 30_000 });
    const events = await eventually(async () => {
      const ev = (await eventsFor(ns, 'web')).filter((e) => e.note?.includes(`replay-${c}`));
      return ev.length ? ev : undefined;
    });
    expect(events).toHaveLength(1);

    const big = await fetch(`http://127.0.0.1:${port}/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(2 << 20),
    }).catch((err: unknown) => ({ status: `error ${String(err)}` }));
    expect(big.status).toBe(413);
    expect((await fetch(`http://127.0.0.1:${port}/svn`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('a burst of pushes costs at most two reconciles', async () => {
    const c = await commit();
    const count = await reconciles();
    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        sendHook(port, pushRequest('github', names, { ref: 'refs/heads/main', after: c }, SECRET)),
      ),
    );
    expect(burst.every((r) => r.status === 202)).toBe(true);
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: c, timeoutMs: 30_000 });
    // A marker: once the annotation is handled, any pass the burst queued behind it has run too
    // (one key never runs twice at once), so the count below is final; the marker adds one pass.
    const at = await requestReconcile(ns, 'web');
    await eventually(async () => (await getGitSource(ns, 'web'))?.status?.lastHandledReconcileAt === at, {
      timeoutMs: 30_000,
      what: 'requested-at handled',
    });
    const passes = (await reconciles()) - count;
    console.log(`[webhook] 10 pushes in a burst: ${passes} reconcile(s) including the marker`);
    expect(passes).toBeGreaterThanOrEqual(1);
    expect(passes).toBeLessThanOrEqual(3);
  });

  it('a standby replica hands the push to the leader through the requested-at annotation', async () => {
    // A Lease held elsewhere keeps the second process a standby; the first (no leader election) reconciles.
    const renew = new Date()
      .toISOString()
      .replace(/Z$/, '000Z')
      .replace(/\.(\d{3})000Z$/, '.$1000Z');
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'converge-leader', namespace: ns },
        spec: {
          holderIdentity: 'elsewhere',
          leaseDurationSeconds: 3600,
          renewTime: renew,
          acquireTime: renew,
        },
      }),
    );
    const standby = await startOperator({
      namespace: ns,
      args: [
        '--leader-elect=true',
        '--lease-namespace',
        ns,
        '--webhook-secret-file',
        join(secretDir, 'token'),
      ],
      env: { POD_NAME: 'standby' },
    });
    try {
      const standbyPort = (await standby.webhookPort())!;
      // Its cache must hold the GitSource before it can match the push.
      await eventually(async () => (await fetch(`http://127.0.0.1:${await standby.healthPort()}/readyz`)).ok);
      const c = await commit();
      const res = await sendHook(
        standbyPort,
        pushRequest('generic', names, { ref: 'refs/heads/main', after: c }, SECRET),
      );
      expect(res).toEqual({ status: 202, body: ACCEPTED });
      const gs = await waitForCondition(ns, 'web', 'Ready', 'True', { revision: c, timeoutMs: 30_000 });
      expect(gs.status?.lastHandledReconcileAt).toMatch(/^push-/);
      expect(await metricSum(await standby.metricsPort(), 'converge_leader')).toBe(0);
    } finally {
      await standby.stop();
    }
  });

  it('never logs a secret', () => {
    const logs = operator.logs.join('\n');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(NS_SECRET);
  });
});

// Journey: a restart changes nothing a user sees. The real operator runs, stops, and a new process
// starts against the same API server (a restart, a rollout); then a standby takes the Lease over from
// it (a leader hand-over). A converged GitSource and a failing one get no notification, no commit
// status, no Event and no status write from either; a commit after them is told once.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../support/cluster.ts';
import { startFakeServices, type FakeServices } from '../support/fake-services.ts';
import {
  commitFiles,
  startGitFixture,
  type GitFixture,
  type GitRepo,
  type HttpGitServer,
} from '../support/git-server.ts';
import { applyGitSource, eventsFor, getGitSource, metricSum, waitForCondition } from '../support/gitops.ts';
import { startOperator, type OperatorProcess, LOOPBACK_CIDRS } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

const run = promisify(execFile);
const TOKEN = 'gitea-token-restart-51c2';

let ns: string;
let fixture: GitFixture;
let http: HttpGitServer;
let fake: FakeServices;
const operators: OperatorProcess[] = [];

beforeAll(async () => {
  ns = await createNamespace('restart');
  fixture = await startGitFixture();
  [http, fake] = await Promise.all([
    fixture.serveHttp(),
    startFakeServices({ token: TOKEN, username: 'u', password: 'p' }),
  ]);
});

afterAll(async () => {
  for (const op of operators) await op.stop();
  await fake?.close();
  await fixture?.close();
  if (ns) await deleteNamespace(ns);
});

/** An operator that elects a leader on a Lease in the test namespace. */
async function operatorFor(): Promise<OperatorProcess> {
  // The Notifiers' receivers are loopback fakes: allowed explicitly (the default egress policy denies loopback).
  const op = await startOperator({
    namespace: ns,
    args: ['--leader-elect=true', '--lease-namespace', ns],
    notifyAllow: LOOPBACK_CIDRS,
  });
  operators.push(op);
  return op;
}

/** A bare repository at <repos>/org/fleet.git, so the URL names an owner and a repository (commit statuses). */
async function createOwnedRepo(reposDir: string): Promise<GitRepo> {
  const path = join(reposDir, 'org', 'fleet.git');
  await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', path]);
  return { name: 'org/fleet', path, fileUrl: `file://${path}` };
}

/** What a user of the two GitSources can see: Events, commit statuses, deliveries, status versions. */
async function visible() {
  const [web, broken, webEvents, brokenEvents] = await Promise.all([
    getGitSource(ns, 'web'),
    getGitSource(ns, 'broken'),
    eventsFor(ns, 'web'),
    eventsFor(ns, 'broken'),
  ]);
  const lines = (list: typeof webEvents) => list.map((e) => `${e.reason}: ${e.note ?? e.message ?? ''}`);
  return {
    events: { web: lines(webEvents), broken: lines(brokenEvents) },
    deliveries: fake.requests.map((r) => `${r.service} ${r.method} ${r.url}`),
    statuses: fake.statuses.map((s) => `${s.sha.slice(0, 7)} ${s.state}`),
    versions: [web?.metadata.resourceVersion, broken?.metadata.resourceVersion],
  };
}

/** The process has taken both GitSources up (one pass each) and then seen three more quiet intervals. */
async function settled(op: OperatorProcess, what: string): Promise<void> {
  const port = await op.metricsPort();
  const noops = () => metricSum(port, 'converge_reconcile_total', { result: /^noop$/ });
  const start = await noops();
  await eventually(async () => (await noops()) >= start + 6, {
    timeoutMs: 60_000,
    intervalMs: 500,
    what: `${what}: no-op passes of both GitSources`,
  });
}

describe('restart', () => {
  it('a restart and a leader hand-over tell nobody anything; the next commit is told once', async () => {
    const repo = await createOwnedRepo(fixture.reposDir);
    const broken = await fixture.createRepo('broken');
    const sha1 = await commitFiles(repo, { 'cm.yaml': configMap('restarted', { v: '1' }) }, 'v1');
    await commitFiles(broken, { 'cm.yaml': 'kind: ConfigMap\nmetadata: [\n' }, 'broken');
    await kubectlOk([
      'create',
      'secret',
      'generic',
      'gitea-token',
      '-n',
      ns,
      `--from-literal=token=${TOKEN}`,
    ]);
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'gitops.converge.dev/v1alpha1',
            kind: 'Notifier',
            metadata: { name: 'commits', namespace: ns },
            spec: { type: 'gitea', address: fake.url, secretRef: { name: 'gitea-token' } },
          },
          {
            apiVersion: 'gitops.converge.dev/v1alpha1',
            kind: 'Notifier',
            metadata: { name: 'hook', namespace: ns },
            spec: { type: 'webhook', address: `${fake.url}/hook` },
          },
        ],
      }),
    );
    let leader = await operatorFor();
    const common = { interval: '5s', retryInterval: '5s', targetNamespace: ns };
    await applyGitSource(ns, 'web', { url: http.url('org/fleet'), ...common });
    await applyGitSource(ns, 'broken', { url: http.url('broken'), ...common });
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: sha1, timeoutMs: 60_000 });
    await waitForCondition(ns, 'broken', 'Ready', 'False', { reason: 'RenderFailed', timeoutMs: 60_000 });
    await eventually(
      () =>
        fake.statuses.filter((s) => s.sha === sha1 && s.state === 'success').length === 1 &&
        fake.webhookEvents.some((e) => e.type === 'dev.converge.gitsource.failed'),
      { timeoutMs: 30_000, what: 'the first transitions delivered' },
    );
    await settled(leader, 'first process');
    const before = await visible();
    expect(before.statuses).toEqual([`${sha1.slice(0, 7)} pending`, `${sha1.slice(0, 7)} success`]);

    // A restart (a rollout does the same): stop, then a new process.
    await leader.stop();
    leader = await operatorFor();
    await settled(leader, 'after the restart');
    expect(await visible(), 'after a restart').toEqual(before);

    // A leader hand-over: a standby waits on the Lease and takes over when the leader stops.
    const standby = await operatorFor();
    await leader.stop();
    leader = standby;
    await settled(leader, 'after the hand-over');
    expect(await visible(), 'after a leader hand-over').toEqual(before);
    expect(
      await metricSum(await leader.metricsPort(), 'converge_notifications_total', {}),
      'nothing was sent by the new leader',
    ).toBe(0);

    // A real change after both: told once, as ever.
    const sha2 = await commitFiles(repo, { 'cm.yaml': configMap('restarted', { v: '2' }) }, 'v2');
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: sha2, timeoutMs: 60_000 });
    await eventually(() => fake.statuses.some((s) => s.sha === sha2 && s.state === 'success'), {
      timeoutMs: 30_000,
      what: 'success on v2',
    });
    await settled(leader, 'after v2');
    const after = await visible();
    expect(after.statuses.slice(before.statuses.length)).toEqual([
      `${sha2.slice(0, 7)} pending`,
      `${sha2.slice(0, 7)} success`,
    ]);
    expect(after.events.broken).toEqual(before.events.broken);
    expect(after.events.web.slice(before.events.web.length).map((e) => e.split(':')[0])).toEqual([
      'Changed',
      'Diverged',
      'Converged',
    ]);
    const hooks = fake.webhookEvents.filter((e) => JSON.stringify(e).includes(sha2)).map((e) => e.type);
    expect(hooks).toEqual([
      'dev.converge.gitsource.changed',
      'dev.converge.gitsource.diverged',
      'dev.converge.gitsource.converged',
    ]);
  }, 300_000);
});

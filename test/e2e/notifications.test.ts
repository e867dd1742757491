// Journey: Notifiers tell the outside world. A commit gets `pending` then `success` on the Git host;
// a broken commit gets `failure` and opens an Opsgenie alert; the fix closes it; nothing repeats
// over three intervals. The Git host and Opsgenie are loopback fakes that check each request.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubectlOk } from '../support/cluster.ts';
import { startFakeServices, type FakeServices } from '../support/fake-services.ts';
import { commitFiles, type GitRepo } from '../support/git-server.ts';
import { applyGitSource, eventsFor, metricSum, waitForCondition } from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';
import { LOOPBACK_CIDRS } from '../support/operator.ts';
import { configMap } from '../support/apps.ts';

const run = promisify(execFile);
const TOKEN = 'gitea-token-e2e-8d1f';
const GENIE_KEY = 'genie-key-e2e-77aa';

let journey: Journey | undefined;
let fake: FakeServices;
let gitea: FakeServices;

beforeAll(async () => {
  // The fakes listen on loopback, which the operator denies Notifiers unless told otherwise.
  journey = await startJourney('notify', { notifyAllow: LOOPBACK_CIDRS });
  // Two fakes, one per service, so each checks its own credential.
  [fake, gitea] = await Promise.all([
    startFakeServices({ token: GENIE_KEY, username: 'u', password: 'p' }),
    startFakeServices({ token: TOKEN, username: 'u', password: 'p' }),
  ]);
});

afterAll(async () => {
  await stopJourney(journey);
  await fake?.close();
  await gitea?.close();
});

interface NotifierObject {
  status?: {
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    lastDelivery?: { result: string; event: string; message: string };
    failedDeliveries?: number;
    openIncidents?: Array<{ source: string; key: string }>;
  };
}

async function getNotifier(ns: string, name: string): Promise<NotifierObject> {
  return JSON.parse(await kubectlOk(['get', 'notifier', name, '-n', ns, '-o', 'json'])) as NotifierObject;
}

/** A bare repository at <repos>/org/fleet.git, so the URL names an owner and a repository. */
async function createOwnedRepo(reposDir: string): Promise<GitRepo> {
  const path = join(reposDir, 'org', 'fleet.git');
  await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', path]);
  return { name: 'org/fleet', path, fileUrl: `file://${path}` };
}

const states = (sha: string) => gitea.statuses.filter((s) => s.sha === sha).map((s) => s.state);

describe('notifications', () => {
  it('commit statuses and an Opsgenie alert follow the GitSource, once per transition', async () => {
    const { ns, fixture, http, operator } = journey!;
    const repo = await createOwnedRepo(fixture.reposDir);
    const sha1 = await commitFiles(repo, { 'cm.yaml': configMap('notified', { v: '1' }) }, 'v1');

    await kubectlOk([
      'create',
      'secret',
      'generic',
      'gitea-token',
      '-n',
      ns,
      `--from-literal=token=${TOKEN}`,
    ]);
    await kubectlOk([
      'create',
      'secret',
      'generic',
      'opsgenie-key',
      '-n',
      ns,
      `--from-literal=token=${GENIE_KEY}`,
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
            spec: { type: 'gitea', address: gitea.url, secretRef: { name: 'gitea-token' } },
          },
          {
            apiVersion: 'gitops.converge.dev/v1alpha1',
            kind: 'Notifier',
            metadata: { name: 'oncall', namespace: ns },
            spec: { type: 'opsgenie', address: fake.url, secretRef: { name: 'opsgenie-key' } },
          },
        ],
      }),
    );
    // The operator has seen both Notifiers once it reports them Ready.
    for (const name of ['commits', 'oncall']) {
      await eventually(
        async () =>
          (await getNotifier(ns, name)).status?.conditions?.find((c) => c.type === 'Ready')?.status ===
          'True',
        { timeoutMs: 30_000, what: `Notifier ${name} Ready`, intervalMs: 200 },
      );
    }

    await applyGitSource(ns, 'web', {
      url: http.url('org/fleet'),
      interval: '5s',
      retryInterval: '5s',
      targetNamespace: ns,
    });
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: sha1!, timeoutMs: 60_000 });
    await eventually(() => states(sha1!).length >= 2, { timeoutMs: 30_000, what: 'statuses on v1' });
    expect(states(sha1!)).toEqual(['pending', 'success']);
    expect(gitea.statuses[0]).toMatchObject({ repo: 'org/fleet', context: `converge/${ns}/web` });

    // A broken commit: failure on it, and an alert.
    const sha2 = await commitFiles(repo, { 'cm.yaml': 'kind: ConfigMap\nmetadata: [\n' }, 'broken');
    await waitForCondition(ns, 'web', 'Ready', 'False', { reason: 'RenderFailed', timeoutMs: 60_000 });
    const alias = `converge/${ns}/web/RenderFailed`;
    await eventually(() => fake.alerts.get(alias)?.status === 'open', {
      timeoutMs: 30_000,
      what: 'alert open',
    });
    await eventually(() => states(sha2!).includes('failure'), { timeoutMs: 30_000, what: 'failure on v2' });
    expect(states(sha2!)).toEqual(['pending', 'failure']);
    expect((await getNotifier(ns, 'oncall')).status?.openIncidents).toEqual([
      { source: `${ns}/web`, key: alias },
    ]);

    // The fix closes the alert.
    const sha3 = await commitFiles(repo, { 'cm.yaml': configMap('notified', { v: '3' }) }, 'fix');
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: sha3!, timeoutMs: 60_000 });
    await eventually(() => fake.alerts.get(alias)?.status === 'closed', {
      timeoutMs: 30_000,
      what: 'alert closed',
    });
    await eventually(() => states(sha3!).length >= 2, {
      timeoutMs: 30_000,
      what: `statuses on v3 (so far: ${JSON.stringify(gitea.statuses)})`,
    });
    expect(states(sha3!)).toEqual(['pending', 'success']);

    // Three more intervals pass (counted as no-op reconciles): nothing is sent again.
    const sent = { gitea: gitea.requests.length, opsgenie: fake.requests.length };
    const metricsPort = await operator.metricsPort();
    const noops = await metricSum(metricsPort, 'converge_reconcile_total', { result: /^noop$/ });
    await eventually(
      async () =>
        (await metricSum(metricsPort, 'converge_reconcile_total', { result: /^noop$/ })) >= noops + 3,
      { timeoutMs: 45_000, intervalMs: 500, what: 'three no-op intervals' },
    );
    expect(gitea.requests.length).toBe(sent.gitea);
    expect(fake.requests.length).toBe(sent.opsgenie);
    expect(fake.requests.map((r) => r.url.split('?')[0])).toEqual([
      '/v2/alerts',
      `/v2/alerts/${encodeURIComponent(alias)}/close`,
    ]);
    expect(fake.alerts.get(alias)).toMatchObject({ status: 'closed', count: 1 });

    const oncall = await getNotifier(ns, 'oncall');
    expect(oncall.status).toMatchObject({
      failedDeliveries: 0,
      openIncidents: [],
      lastDelivery: { result: 'Delivered' },
    });
    expect(
      await metricSum(metricsPort, 'converge_notifications_total', { type: /^gitea$/, result: /^success$/ }),
    ).toBe(6);
    expect(
      await metricSum(metricsPort, 'converge_notifications_total', {
        type: /^opsgenie$/,
        result: /^success$/,
      }),
    ).toBe(2);
    // Tokens went to the services only.
    const logs = operator.logs.join('\n');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(GENIE_KEY);
    expect(JSON.stringify(await eventsFor(ns, 'web'))).not.toContain(TOKEN);
  }, 240_000);

  it('examples/notifiers are accepted by the API server as they are', async () => {
    const dir = join(import.meta.dirname, '..', '..', 'examples', 'notifiers');
    const out = await kubectlOk(['apply', '--dry-run=server', '-f', dir]);
    expect(out.match(/notifier\.gitops\.converge\.dev\/\S+ created/g)).toHaveLength(10);
  });

  it('a delivery the service refuses is recorded on the Notifier: status, Warning Event, metric', async () => {
    const { ns, fixture, http, operator } = journey!;
    const repo = await fixture.createRepo('refused');
    await commitFiles(repo, { 'cm.yaml': configMap('refused', { v: '1' }) }, 'v1');
    await kubectlOk(['create', 'secret', 'generic', 'bad-key', '-n', ns, '--from-literal=token=not-the-key']);
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'Notifier',
        metadata: { name: 'refused', namespace: ns },
        spec: {
          type: 'webhook',
          address: `${fake.url}/not-a-hook`,
          secretRef: { name: 'bad-key' },
          sources: { matchLabels: { notify: 'refused' } },
        },
      }),
    );
    await eventually(async () => (await getNotifier(ns, 'refused')).status?.conditions, {
      timeoutMs: 30_000,
      what: 'Notifier refused observed',
    });
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'GitSource',
        metadata: { name: 'refused', namespace: ns, labels: { notify: 'refused' } },
        spec: { url: http.url('refused'), interval: '5s', targetNamespace: ns },
      }),
    );
    const nf = await eventually(
      async () => {
        const n = await getNotifier(ns, 'refused');
        return (n.status?.failedDeliveries ?? 0) > 0 ? n : undefined;
      },
      { timeoutMs: 60_000, what: 'a failed delivery recorded' },
    );
    expect(nf.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'DeliveryFailed',
      message: expect.stringContaining('HTTP 404'),
    });
    const events = JSON.parse(
      await kubectlOk([
        'get',
        'events.v1.events.k8s.io',
        '-n',
        ns,
        '--field-selector',
        'regarding.name=refused,regarding.kind=Notifier',
        '-o',
        'json',
      ]),
    ) as { items: Array<{ reason: string; type: string; note: string }> };
    expect(events.items[0]).toMatchObject({ type: 'Warning', reason: 'DeliveryFailed' });
    expect(JSON.stringify(events.items)).not.toContain('not-the-key');
    const port = await operator.metricsPort();
    expect(
      await metricSum(port, 'converge_notifications_total', { type: /^webhook$/, result: /^failure$/ }),
    ).toBeGreaterThan(0);
  }, 120_000);

  it('a PagerDuty incident for an unreachable repository is resolved once it is reachable again', async () => {
    const { ns, fixture, http } = journey!;
    const repo = await fixture.createRepo('flaky');
    await commitFiles(repo, { 'cm.yaml': configMap('flaky', { v: '1' }) }, 'v1');
    await kubectlOk(['create', 'secret', 'generic', 'pd-key', '-n', ns, `--from-literal=token=${GENIE_KEY}`]);
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'Notifier',
        metadata: { name: 'pager', namespace: ns },
        spec: {
          type: 'pagerduty',
          address: fake.url,
          secretRef: { name: 'pd-key' },
          sources: { matchLabels: { notify: 'pager' } },
        },
      }),
    );
    await eventually(async () => (await getNotifier(ns, 'pager')).status?.conditions, {
      timeoutMs: 30_000,
      what: 'Notifier pager observed',
    });
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.converge.dev/v1alpha1',
        kind: 'GitSource',
        metadata: { name: 'flaky', namespace: ns, labels: { notify: 'pager' } },
        spec: { url: http.url('flaky'), interval: '5s', retryInterval: '5s', targetNamespace: ns },
      }),
    );
    await waitForCondition(ns, 'flaky', 'Ready', 'True', { timeoutMs: 60_000 });
    const key = `converge/${ns}/flaky/FetchFailed`;
    http.mode = 'error';
    try {
      await waitForCondition(ns, 'flaky', 'Ready', 'False', { reason: 'FetchFailed', timeoutMs: 60_000 });
      await eventually(() => fake.incidents.get(key)?.status === 'triggered', {
        timeoutMs: 30_000,
        what: 'incident triggered',
      });
    } finally {
      http.mode = 'ok';
    }
    // Same commit as before: only the fetch failed, and recovering from it must still be told.
    await waitForCondition(ns, 'flaky', 'Ready', 'True', { timeoutMs: 60_000 });
    await eventually(() => fake.incidents.get(key)?.status === 'resolved', {
      timeoutMs: 30_000,
      what: 'incident resolved',
    });
    expect(fake.incidents.get(key)?.count).toBe(1);
    expect((await getNotifier(ns, 'pager')).status?.openIncidents).toEqual([]);
  }, 180_000);
});

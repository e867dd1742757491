// Journey: a Notifier cannot make the operator call internal addresses. With the operator's default
// policy (no --notify-allow-cidrs), a Notifier pointed at a loopback receiver or at the cloud metadata
// address is refused at once, as a configuration error the Notifier's status explains; nothing is sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap } from '../support/apps.ts';
import { eventually, kubectlOk } from '../support/cluster.ts';
import { startFakeServices, type FakeServices } from '../support/fake-services.ts';
import { commitFiles } from '../support/git-server.ts';
import { applyGitSource, waitForCondition } from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';

let journey: Journey | undefined;
let fake: FakeServices;

beforeAll(async () => {
  // The default policy: the operator is started without an allow list.
  [journey, fake] = await Promise.all([
    startJourney('egress'),
    startFakeServices({ token: 't', username: 'u', password: 'p' }),
  ]);
});

afterAll(async () => {
  await stopJourney(journey);
  await fake?.close();
});

interface NotifierObject {
  status?: {
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    lastDelivery?: { result: string; message: string };
    failedDeliveries?: number;
  };
}

const getNotifier = async (ns: string, name: string) =>
  JSON.parse(await kubectlOk(['get', 'notifier', name, '-n', ns, '-o', 'json'])) as NotifierObject;

describe('Notifier egress policy', () => {
  it('refuses 127.0.0.1 and 169.254.169.254 by default, saying why and how to allow it', async () => {
    const { ns, fixture, http, operator } = journey!;
    // The Service range was found on the cluster (the test control plane's 10.0.0.0/24) and is denied too.
    const start = operator.logs.find((l) => l.includes('converge starting'));
    expect(JSON.parse(start!)).toMatchObject({
      notifyDeny: expect.arrayContaining(['127.0.0.0/8', '169.254.0.0/16', '10.0.0.0/24']),
      notifyAllow: [],
    });

    const repo = await fixture.createRepo('egress');
    const sha = await commitFiles(repo, { 'cm.yaml': configMap('egress', { v: '1' }) }, 'v1');
    const notifier = (name: string, address: string) => ({
      apiVersion: 'gitops.converge.dev/v1alpha1',
      kind: 'Notifier',
      metadata: { name, namespace: ns },
      spec: { type: 'webhook', address, events: ['Converged'] },
    });
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          notifier('loopback', `${fake.url}/hook`),
          notifier('metadata', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'),
        ],
      }),
    );
    for (const name of ['loopback', 'metadata'])
      await eventually(async () => (await getNotifier(ns, name)).status?.conditions, {
        timeoutMs: 30_000,
        what: `Notifier ${name} observed`,
      });
    await applyGitSource(ns, 'web', { url: http.url('egress'), interval: '5s', targetNamespace: ns });
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: sha!, timeoutMs: 60_000 });

    for (const [name, address, range] of [
      ['loopback', '127.0.0.1', '127.0.0.0/8'],
      ['metadata', '169.254.169.254', '169.254.0.0/16'],
    ] as const) {
      const nf = await eventually(
        async () => {
          const n = await getNotifier(ns, name);
          return (n.status?.failedDeliveries ?? 0) > 0 ? n : undefined;
        },
        { timeoutMs: 30_000, what: `Notifier ${name} refused` },
      );
      const ready = nf.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: 'InvalidConfiguration' });
      expect(ready?.message).toContain(
        `${address} is in ${range}, which the operator does not let Notifiers reach (--notify-deny-cidrs; ` +
          'an administrator can allow it with --notify-allow-cidrs)',
      );
      // Refused at once: one Converged, one failure, no retries.
      expect(nf.status?.failedDeliveries).toBe(1);
    }
    expect(fake.requests).toEqual([]);
  }, 120_000);
});

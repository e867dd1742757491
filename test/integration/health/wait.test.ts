// Health waits against the real API server: a Deployment made ready through its status, a failed Job, timeout, cancel.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConvergeError, refOf, type KubeObject } from '../../../src/api/index.ts';
import { waitForHealthy } from '../../../src/health/wait.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { createNamespace, deleteNamespace, eventually } from '../../support/cluster.ts';
import { configMap, converge, deployment, testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
const owner = { name: 'health', namespace: 'converge-tests' };

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('health');
});
afterEach(async () => {
  await deleteNamespace(ns);
});

const job = (name: string): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: ns },
  spec: {
    backoffLimit: 0,
    template: {
      spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'registry.invalid/j:1' }] },
    },
  },
});

describe('waitForHealthy', () => {
  it('waits for a Deployment until it is ready (no kubelet here: the test writes the status of its pods)', async () => {
    const web = deployment(ns, 'web', 2);
    await converge(client, [web, configMap(ns, 'c', { a: '1' })], { owner });
    const refs = [refOf(web), refOf(configMap(ns, 'c', {}))];
    const waiting = waitForHealthy(client, client.mapper, refs, { timeoutMs: 20_000, pollMs: 50 });
    let settled = false;
    void waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    // kube-controller-manager owns the Deployment's status and recomputes it from its pods, so the
    // test plays kubelet: it marks the pods the ReplicaSet created as running and ready.
    const pods = await eventually(
      async () => {
        const list = await client.list<KubeObject>(`/api/v1/namespaces/${ns}/pods`, {
          labelSelector: 'app=web',
        });
        return list.items.length === 2 ? list.items : undefined;
      },
      { what: 'two pods' },
    );
    const now = new Date().toISOString();
    for (const pod of pods) {
      await client.patchStatus(refOf(pod), {
        phase: 'Running',
        startTime: now,
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
          { type: 'Initialized', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
          { type: 'Ready', status: 'True', lastTransitionTime: now },
        ],
      });
    }
    const report = await waiting;
    expect(report.objects.map((o) => o.status)).toEqual(['Current', 'Current']);
  });

  it('fails fast on a failed Job, naming it and why', async () => {
    const j = job('migrate');
    await converge(client, [j], { owner });
    const started = Date.now();
    const waiting = waitForHealthy(client, client.mapper, [refOf(j)], {
      timeoutMs: 30_000,
      pollMs: 50,
    }).catch((e: unknown) => e);
    const now = new Date().toISOString();
    // The job controller needs these before a terminal condition is accepted on the status subresource.
    // It also races us (it may have just counted a pod as active): retry until our status sticks.
    await eventually(
      async () => {
        await client.patchStatus(refOf(j), {
          startTime: now,
          active: 0,
          failed: 1,
          conditions: [
            {
              type: 'FailureTarget',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
              lastProbeTime: now,
              lastTransitionTime: now,
            },
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
              lastProbeTime: now,
              lastTransitionTime: now,
            },
          ],
        });
        return true;
      },
      { timeoutMs: 10_000, what: 'the Job status patch' },
    );
    const err = await waiting;
    expect(err).toBeInstanceOf(ConvergeError);
    expect((err as ConvergeError).reason).toBe('HealthCheckFailed');
    expect((err as ConvergeError).message).toMatch(new RegExp(`Job ${ns}/migrate: .*BackoffLimitExceeded`));
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('times out naming what is not ready, and stops at once when aborted', async () => {
    const web = deployment(ns, 'slow', 1);
    await converge(client, [web], { owner });
    const err = await waitForHealthy(client, client.mapper, [refOf(web)], {
      timeoutMs: 400,
      pollMs: 50,
    }).catch((e: unknown) => e);
    expect((err as ConvergeError).reason).toBe('HealthCheckFailed');
    expect((err as ConvergeError).message).toMatch(
      new RegExp(`^timed out after 0s waiting for 1 object\\(s\\) to become ready: Deployment ${ns}/slow: `),
    );

    const abort = new AbortController();
    const waiting = waitForHealthy(client, client.mapper, [refOf(web)], {
      timeoutMs: 60_000,
      pollMs: 50,
      signal: abort.signal,
    }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 150));
    const t = Date.now();
    abort.abort(new Error('new revision'));
    expect(String(await waiting)).toMatch(/new revision/);
    expect(Date.now() - t).toBeLessThan(1000);
  });
});

// Health waits against the real API server and real rollouts on kwok nodes: a Deployment, Jobs, timeout, cancel.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { ConvergeError, refOf, type KubeObject } from '../../../src/api/index.ts';
import { waitForHealthy } from '../../../src/health/wait.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { createNamespace, deleteNamespace } from '../../support/cluster.ts';
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

/** The same object with `converge.dev/kwok: <behaviour>` on its pod template (see hack/kwok/README.md). */
function withPods(obj: KubeObject, behaviour: 'never-ready' | 'fail', image?: string): KubeObject {
  const copy = structuredClone(obj) as KubeObject & {
    spec: {
      template: { metadata?: { labels?: Record<string, string> }; spec: { containers: { image: string }[] } };
    };
  };
  const template = copy.spec.template;
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, 'converge.dev/kwok': behaviour },
  };
  if (image) template.spec.containers[0]!.image = image;
  return copy;
}

const withImage = (obj: KubeObject, image: string): KubeObject => {
  const copy = structuredClone(obj) as KubeObject & {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  copy.spec.template.spec.containers[0]!.image = image;
  return copy;
};

const podsRun = inject('podsRun');

describe('waitForHealthy', () => {
  it.runIf(podsRun)(
    'follows a real rollout: held while new pods are not Ready, done once they are',
    async () => {
      const web = deployment(ns, 'web', 2);
      await converge(client, [web, configMap(ns, 'c', { a: '1' })], { owner });
      const refs = [refOf(web), refOf(configMap(ns, 'c', {}))];
      // kwok nodes run the pods: the first rollout finishes on its own.
      const first = await waitForHealthy(client, client.mapper, refs, { timeoutMs: 30_000, pollMs: 50 });
      expect(first.objects.map((o) => o.status)).toEqual(['Current', 'Current']);

      // A new image whose pods never become Ready: the rollout stalls and the wait says where.
      await converge(client, [withPods(web, 'never-ready', 'registry.invalid/app:2')], { owner });
      const stuck = await waitForHealthy(client, client.mapper, [refOf(web)], {
        timeoutMs: 2_000,
        pollMs: 50,
      }).catch((e: unknown) => e);
      expect((stuck as ConvergeError).reason).toBe('HealthCheckFailed');
      expect((stuck as ConvergeError).message).toMatch(
        new RegExp(`Deployment ${ns}/web: .*(updated|available|old replicas)`),
      );

      // A good image: the rollout replaces every pod, and only then is the Deployment healthy.
      await converge(client, [withImage(web, 'registry.invalid/app:3')], { owner });
      const done = await waitForHealthy(client, client.mapper, [refOf(web)], {
        timeoutMs: 30_000,
        pollMs: 50,
      });
      expect(done.objects[0]?.status).toBe('Current');
      const pods = await client.list<
        KubeObject & {
          spec: { containers: { image: string }[] };
          status: { conditions?: { type: string; status: string }[] };
        }
      >(`/api/v1/namespaces/${ns}/pods`, { labelSelector: 'app=web' });
      const running = pods.items.filter((p) => !p.metadata['deletionTimestamp']);
      expect(running.map((p) => p.spec.containers[0]?.image)).toEqual([
        'registry.invalid/app:3',
        'registry.invalid/app:3',
      ]);
      for (const p of running)
        expect(p.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    },
  );

  it.runIf(podsRun)('a Job whose pods succeed is healthy once it completes', async () => {
    const j = job('once');
    await converge(client, [j], { owner });
    const report = await waitForHealthy(client, client.mapper, [refOf(j)], { timeoutMs: 30_000, pollMs: 50 });
    expect(report.objects[0]?.status).toBe('Current');
  });

  it.runIf(podsRun)('fails fast on a failed Job (its container exits 1), naming it and why', async () => {
    const j = withPods(job('migrate'), 'fail');
    await converge(client, [j], { owner });
    const err = await waitForHealthy(client, client.mapper, [refOf(j)], {
      timeoutMs: 60_000,
      pollMs: 50,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvergeError);
    expect((err as ConvergeError).reason).toBe('HealthCheckFailed');
    // Not the timeout: the Job's own failure ends the wait.
    expect((err as ConvergeError).message).toMatch(new RegExp(`Job ${ns}/migrate: .*BackoffLimitExceeded`));
  });

  it('times out naming what is not ready, and stops at once when aborted', async () => {
    const web = withPods(deployment(ns, 'slow', 1), 'never-ready');
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

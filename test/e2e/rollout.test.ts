// Journey: real rollouts on kwok fake nodes with `wait: true`. A new image rolls out before the
// GitSource is Converged; pods that never become Ready give HealthCheckFailed naming the workload
// within `timeout`; a failing Job fails the wait at once; StatefulSets and DaemonSets roll out.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { daemonSet, deployment, job, statefulSet } from '../support/apps.ts';
import { eventually, kubectlOk } from '../support/cluster.ts';
import { commitFiles, type GitRepo } from '../support/git-server.ts';
import {
  applyGitSource,
  condition,
  eventsFor,
  getGitSource,
  getObject,
  requestReconcile,
  waitForCondition,
} from '../support/gitops.ts';
import { startJourney, stopJourney, type Journey } from '../support/journey.ts';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { containers: { image: string }[] };
  status: { phase?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

interface Workload {
  metadata: { generation: number };
  spec: { replicas?: number };
  status: Record<string, number | string | undefined>;
}

let journey: Journey | undefined;
let ns: string;

beforeAll(async () => {
  if (!inject('podsRun')) return;
  journey = await startJourney('rollout');
  ns = journey.ns;
});
afterAll(() => stopJourney(journey));

async function podsOf(app: string): Promise<Pod[]> {
  const out = await kubectlOk(['get', 'pods', '-n', ns, '-l', `app=${app}`, '-o', 'json']);
  return (JSON.parse(out) as { items: Pod[] }).items.filter((p) => !p.metadata.deletionTimestamp);
}

const podReady = (p: Pod) => p.status.conditions?.find((c) => c.type === 'Ready');

async function source(name: string, repo: GitRepo, timeout: string): Promise<void> {
  await applyGitSource(ns, name, {
    url: journey!.http.url(repo.name),
    interval: '5s',
    timeout,
    wait: true,
    targetNamespace: ns,
  });
}

describe.runIf(inject('podsRun'))('rollouts on fake nodes', () => {
  it('a new image rolls out before the GitSource is Converged; pods that never get Ready fail the wait', async () => {
    const repo = await journey!.fixture.createRepo('web');
    const first = await commitFiles(
      repo,
      { 'web.yaml': deployment('web', 3, 'registry.invalid/web:1') },
      'v1',
    );
    await source('web', repo, '20s');
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: first, timeoutMs: 60_000 });
    expect((await getObject<Workload>(ns, 'deployment', 'web'))?.status['availableReplicas']).toBe(3);

    // A new image: Converged only once every pod runs it and is Ready.
    const second = await commitFiles(
      repo,
      { 'web.yaml': deployment('web', 3, 'registry.invalid/web:2') },
      'v2',
    );
    await requestReconcile(ns, 'web');
    const converged = await waitForCondition(ns, 'web', 'Ready', 'True', {
      revision: second,
      timeoutMs: 60_000,
    });
    expect(condition(converged, 'Converged')?.status).toBe('True');
    const dep = (await getObject<Workload>(ns, 'deployment', 'web'))!;
    expect(dep.status).toMatchObject({ observedGeneration: dep.metadata.generation, updatedReplicas: 3 });
    expect(dep.status['availableReplicas']).toBe(3);
    const pods = await eventually(
      async () => {
        const list = await podsOf('web');
        return list.length === 3 ? list : undefined;
      },
      { what: 'the old pods to be gone' },
    );
    expect(pods.map((p) => p.spec.containers[0]?.image)).toEqual(Array(3).fill('registry.invalid/web:2'));
    expect(pods.every((p) => podReady(p)?.status === 'True')).toBe(true);
    // The Converged event of this revision comes after the last pod became Ready (the pods' clock is
    // the same machine's; their condition times have whole seconds).
    const convergedAt = Date.parse(
      (await eventsFor(ns, 'web')).filter((e) => e.reason === 'Converged').at(-1)!.eventTime!,
    );
    const lastReady = Math.max(...pods.map((p) => Date.parse(podReady(p)!.lastTransitionTime!)));
    expect(lastReady).toBeLessThanOrEqual(convergedAt);

    // Pods of the next image never become Ready: the rollout stalls with the old pods serving, the
    // GitSource is not Converged meanwhile, and the wait ends at `timeout` naming the Deployment.
    const third = await commitFiles(
      repo,
      { 'web.yaml': deployment('web', 3, 'registry.invalid/web:3', 'never-ready') },
      'v3 never gets Ready',
    );
    await requestReconcile(ns, 'web');
    await eventually(
      async () => {
        const stuck = (await podsOf('web')).filter(
          (p) => p.spec.containers[0]?.image === 'registry.invalid/web:3',
        );
        return stuck.some((p) => p.status.phase === 'Running' && podReady(p)?.status === 'False');
      },
      { what: 'a new pod that runs but is not Ready', timeoutMs: 30_000 },
    );
    const waiting = await getGitSource(ns, 'web');
    expect(waiting?.status?.lastAttemptedRevision).toContain(third);
    expect(
      condition(waiting, 'Converged')?.status === 'True' &&
        waiting?.status?.lastAppliedRevision?.includes(third),
    ).toBe(false);
    const failed = await waitForCondition(ns, 'web', 'Ready', 'False', {
      reason: 'HealthCheckFailed',
      timeoutMs: 60_000,
    });
    expect(condition(failed, 'Ready')?.message).toMatch(
      new RegExp(`timed out after \\d+s .*Deployment ${ns}/web`),
    );
    expect((await getObject<Workload>(ns, 'deployment', 'web'))?.status['availableReplicas']).toBe(3);

    // A fixed image rolls out and the GitSource recovers.
    const fourth = await commitFiles(
      repo,
      { 'web.yaml': deployment('web', 3, 'registry.invalid/web:4') },
      'v4',
    );
    await requestReconcile(ns, 'web');
    await waitForCondition(ns, 'web', 'Ready', 'True', { revision: fourth, timeoutMs: 60_000 });
    const final = await podsOf('web');
    expect(final.every((p) => p.spec.containers[0]?.image === 'registry.invalid/web:4')).toBe(true);
  }, 240_000);

  it('a Job whose container exits 1 fails the wait at once, naming it', async () => {
    const repo = await journey!.fixture.createRepo('migrate');
    await commitFiles(
      repo,
      { 'job.yaml': job('migrate', 'registry.invalid/migrate:1', 'fail') },
      'a failing Job',
    );
    // A long timeout: the failure must end the wait, not the clock.
    await source('migrate', repo, '5m');
    const gs = await waitForCondition(ns, 'migrate', 'Ready', 'False', {
      reason: 'HealthCheckFailed',
      timeoutMs: 60_000,
    });
    const message = condition(gs, 'Ready')?.message ?? '';
    expect(message).toMatch(new RegExp(`Job ${ns}/migrate: .*BackoffLimitExceeded`));
    expect(message).not.toMatch(/timed out/);
  }, 120_000);

  it('a StatefulSet, a DaemonSet and a Job roll out, and roll out again on a new image', async () => {
    const nodes = (await kubectlOk(['get', 'nodes', '-l', 'type=kwok', '-o', 'name']))
      .trim()
      .split('\n').length;
    const repo = await journey!.fixture.createRepo('infra');
    const files = (tag: string) => ({
      'db.yaml': statefulSet('db', 2, `registry.invalid/db:${tag}`),
      'agent.yaml': daemonSet('agent', `registry.invalid/agent:${tag}`),
      [`job-${tag}.yaml`]: job(`seed-${tag}`, `registry.invalid/seed:${tag}`),
    });
    const first = await commitFiles(repo, files('1'), 'v1');
    await source('infra', repo, '60s');
    await waitForCondition(ns, 'infra', 'Ready', 'True', { revision: first, timeoutMs: 90_000 });
    const check = async (tag: string) => {
      const db = (await getObject<Workload>(ns, 'statefulset', 'db'))!;
      expect(db.status).toMatchObject({ readyReplicas: 2, updatedReplicas: 2 });
      expect(db.status['currentRevision']).toBe(db.status['updateRevision']);
      const agent = (await getObject<Workload>(ns, 'daemonset', 'agent'))!;
      expect(agent.status).toMatchObject({
        desiredNumberScheduled: nodes,
        numberReady: nodes,
        updatedNumberScheduled: nodes,
      });
      expect((await getObject<Workload>(ns, 'job', `seed-${tag}`))?.status['succeeded']).toBe(1);
      for (const app of ['db', 'agent'])
        for (const p of await podsOf(app))
          expect(p.spec.containers[0]?.image).toMatch(new RegExp(`:${tag}$`));
    };
    await check('1');

    const second = await commitFiles(repo, { ...files('2'), 'job-1.yaml': null }, 'v2');
    await requestReconcile(ns, 'infra');
    await waitForCondition(ns, 'infra', 'Ready', 'True', { revision: second, timeoutMs: 90_000 });
    await eventually(
      async () => (await podsOf('agent')).length === nodes && (await podsOf('db')).length === 2,
      {
        what: 'old pods gone',
      },
    );
    await check('2');
  }, 240_000);
});

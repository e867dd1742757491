// Plan and apply against the real API server: create, configure, unchanged without writes, field ownership, unknown fields, rejection.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConvergeError, type KubeObject } from '../../../src/api/index.ts';
import { applyChangeSet, ApplyError } from '../../../src/apply/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { changeLines, planChanges, summarize } from '../../../src/plan/index.ts';
import { createNamespace, deleteNamespace, kubectlOk } from '../../support/cluster.ts';
import { configMap, converge, deployment, testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
const owner = { name: 'web', namespace: 'converge-tests' };

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('plan');
});
afterEach(async () => {
  await deleteNamespace(ns);
});

const get = (path: string) =>
  client.get<KubeObject & { spec: Record<string, unknown>; data: Record<string, string> }>(path);

describe('plan and apply', () => {
  it('creates, then configures with a field diff, then makes no write when nothing changed', async () => {
    const desired = [configMap(ns, 'settings', { mode: 'a' }), deployment(ns, 'web', 2)];
    const first = await converge(client, desired, { owner });
    expect(summarize(first.changeSet)).toMatchObject({ created: 2, configured: 0, unchanged: 0 });
    expect(first.result.applied.map((a) => a.action)).toEqual(['created', 'created']);
    const cm = await get(`/api/v1/namespaces/${ns}/configmaps/settings`);
    expect(cm.metadata.labels).toMatchObject({
      'gitops.converge.dev/name': 'web',
      'gitops.converge.dev/namespace': 'converge-tests',
    });
    const managers = (cm.metadata.managedFields as { manager: string; operation: string }[]).map(
      (m) => `${m.manager}/${m.operation}`,
    );
    expect(managers).toEqual(['converge/Apply']);

    const second = await converge(
      client,
      [configMap(ns, 'settings', { mode: 'a' }), deployment(ns, 'web', 3)],
      { owner, inventory: first.inventory },
    );
    expect(summarize(second.changeSet)).toMatchObject({ created: 0, configured: 1, unchanged: 1 });
    expect(changeLines(second.changeSet)).toEqual([`Deployment/${ns}/web configured: /spec/replicas 2→3`]);
    expect((await get(`/apis/apps/v1/namespaces/${ns}/deployments/web`)).spec.replicas).toBe(3);

    const rvBefore = (await get(`/api/v1/namespaces/${ns}/configmaps/settings`)).metadata.resourceVersion;
    // The Deployment's resourceVersion moves with status writes by kube-controller-manager; ours would bump generation and our managedFields entry.
    const ours = (o: KubeObject) =>
      JSON.stringify([
        o.metadata.generation,
        (o.metadata.managedFields as { manager: string }[]).filter((m) => m.manager === 'converge'),
      ]);
    const deployBefore = ours(await get(`/apis/apps/v1/namespaces/${ns}/deployments/web`));
    client.stats.reset();
    const third = await converge(
      client,
      [configMap(ns, 'settings', { mode: 'a' }), deployment(ns, 'web', 3)],
      { owner, inventory: second.inventory },
    );
    expect(summarize(third.changeSet)).toMatchObject({ created: 0, configured: 0, unchanged: 2, pruned: 0 });
    expect(third.result.applied).toEqual([]);
    expect(client.stats.writes()).toBe(0);
    expect(Object.keys(client.stats.byVerb()).sort()).toEqual(['GET', 'PATCH(dry-run)']);
    expect((await get(`/api/v1/namespaces/${ns}/configmaps/settings`)).metadata.resourceVersion).toBe(
      rvBefore,
    );
    expect(ours(await get(`/apis/apps/v1/namespaces/${ns}/deployments/web`))).toBe(deployBefore);
  });

  it('plans objects that left Git as stale, from the previous inventory', async () => {
    const first = await converge(client, [configMap(ns, 'a', { x: '1' }), configMap(ns, 'b', { x: '1' })], {
      owner,
    });
    const plan = await planChanges(client, client.mapper, [configMap(ns, 'a', { x: '1' })], {
      owner,
      inventory: first.inventory,
    });
    expect(plan.stale.map((s) => s.id)).toEqual([`${ns}_b__ConfigMap`]);
    expect(changeLines(plan)).toEqual([`ConfigMap/${ns}/b pruned`]);
  });

  it('takes over a field another manager set, or leaves it alone under an ignore path', async () => {
    await converge(client, [deployment(ns, 'web', 2)], { owner });
    // Another manager (an HPA, a person with kubectl) owns replicas now.
    await kubectlOk(['-n', ns, 'scale', 'deployment/web', '--replicas=5']);
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
    expect((await get(path)).spec.replicas).toBe(5);

    const ignore = [{ target: { kind: 'Deployment', name: 'web' }, paths: ['/spec/replicas'] }];
    const ignored = await converge(client, [deployment(ns, 'web', 2)], { owner, ignore });
    expect(summarize(ignored.changeSet).unchanged).toBe(1);
    expect((await get(path)).spec.replicas).toBe(5);

    const taken = await converge(client, [deployment(ns, 'web', 2)], { owner });
    expect(changeLines(taken.changeSet)).toEqual([`Deployment/${ns}/web configured: /spec/replicas 5→2`]);
    expect((await get(path)).spec.replicas).toBe(2);
  });

  it('keeps ignored fields when other fields change, and does not remove them as their last owner', async () => {
    await converge(client, [deployment(ns, 'web', 4)], { owner });
    const ignore = [{ target: { kind: 'Deployment' }, paths: ['/spec/replicas'] }];
    const next = deployment(ns, 'web', 1);
    (next.spec as { minReadySeconds?: number }).minReadySeconds = 5;
    const r = await converge(client, [next], { owner, ignore });
    expect(changeLines(r.changeSet)).toEqual([`Deployment/${ns}/web configured: /spec/minReadySeconds +5`]);
    const live = await get(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
    expect(live.spec.replicas).toBe(4);
    expect(live.spec.minReadySeconds).toBe(5);
  });

  it('applies a recent core field intact (pod-level resources, beta in 1.34)', async () => {
    const podResources = { limits: { cpu: '500m', memory: '256Mi' } };
    await converge(client, [deployment(ns, 'web', 1, { resources: podResources })], { owner });
    const live = await get(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
    expect((live.spec.template as { spec: { resources: unknown } }).spec.resources).toEqual(podResources);
  });

  it('honours ssa: IfNotPresent: creates once, never overwrites', async () => {
    const seed = configMap(ns, 'seed', { v: '1' });
    seed.metadata.annotations = { 'gitops.converge.dev/ssa': 'IfNotPresent' };
    await converge(client, [seed], { owner });
    await kubectlOk(['-n', ns, 'patch', 'configmap/seed', '--type=merge', '-p', '{"data":{"v":"edited"}}']);
    const changed = { ...seed, data: { v: '2' } };
    client.stats.reset();
    const r = await converge(client, [changed], { owner });
    expect(summarize(r.changeSet).unchanged).toBe(1);
    expect(client.stats.writes()).toBe(0);
    expect((await get(`/api/v1/namespaces/${ns}/configmaps/seed`)).data.v).toBe('edited');
  });

  it('names an object the API server rejects, at plan or at apply, and reports what was applied before it', async () => {
    const before = await converge(
      client,
      [configMap(ns, 'good', { a: '1' }), configMap(ns, 'leaving', { a: '1' })],
      { owner },
    );
    const bad = deployment(ns, 'broken', -1);
    // Existing object (ours: another owner's would be refused before any dry-run): the dry-run in the plan rejects it.
    await converge(client, [deployment(ns, 'broken', 1)], { owner });
    const err = await planChanges(client, client.mapper, [configMap(ns, 'good', { a: '1' }), bad], {
      owner,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvergeError);
    expect((err as ConvergeError).reason).toBe('ApplyFailed');
    expect((err as ConvergeError).message).toMatch(new RegExp(`^Deployment/${ns}/broken: .*spec.replicas`));

    // New object: planned as a create, rejected by the apply, which reports it and says nothing may be pruned.
    const fresh = deployment(ns, 'fresh-broken', -1);
    const plan = await planChanges(
      client,
      client.mapper,
      [configMap(ns, 'good', { a: '1' }), configMap(ns, 'other', { a: '1' }), fresh],
      {
        owner,
        inventory: before.inventory,
      },
    );
    expect(plan.stale).toHaveLength(1);
    const applyErr = await applyChangeSet(client, client.mapper, plan).catch((e: unknown) => e);
    expect(applyErr).toBeInstanceOf(ApplyError);
    const e = applyErr as ApplyError;
    expect(e.reason).toBe('ApplyFailed');
    expect(e.message).toMatch(new RegExp(`Deployment/${ns}/fresh-broken: .*spec.replicas`));
    expect(e.failed.map((f) => f.ref.name)).toEqual(['fresh-broken']);
    // The ConfigMap stage before it went through; the failure is reported per object.
    expect(e.applied.map((a) => a.ref.name)).toEqual(['other']);
  });

  it('fails with a clear message for a kind nobody serves', async () => {
    const obj: KubeObject = {
      apiVersion: 'nothing.example.com/v1',
      kind: 'Ghost',
      metadata: { name: 'g', namespace: ns },
    };
    const err = await planChanges(client, client.mapper, [obj], { owner }).catch((e: unknown) => e);
    expect((err as ConvergeError).reason).toBe('ApplyFailed');
    expect((err as ConvergeError).message).toBe(
      `Ghost/${ns}/g: no kind Ghost in group nothing.example.com/v1: is its CRD installed?`,
    );
  });
});

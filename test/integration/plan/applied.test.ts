// What this process applied lets a plan skip dry-runs, against the real API server: one changed object costs one dry-run, hand edits and failed applies still get one.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/api/index.ts';
import { applyChangeSet, ApplyError } from '../../../src/apply/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { AppliedObjects, planChanges, summarize } from '../../../src/plan/index.ts';
import { createNamespace, deleteNamespace, kubectlOk } from '../../support/cluster.ts';
import { configMap, converge, deployment, testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
const owner = { name: 'big', namespace: 'converge-tests' };

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('applied');
});
afterEach(async () => {
  await deleteNamespace(ns);
});

const dryRuns = () => client.stats.byVerb()['PATCH(dry-run)'] ?? 0;
const settings = (n: number, changed?: { index: number; data: Record<string, string> }) => [
  ...Array.from({ length: n }, (_, i) =>
    configMap(ns, `settings-${i}`, changed?.index === i ? changed.data : { index: String(i) }),
  ),
  deployment(ns, 'web', 2),
];

describe('planning with what this process applied', () => {
  it('dry-runs only the object a new commit changed', async () => {
    const applied = new AppliedObjects();
    const first = await converge(client, settings(20), { owner, applied });
    expect(summarize(first.changeSet).created).toBe(21);
    expect(applied.size).toBe(21);

    const commit = settings(20, { index: 7, data: { index: 'seven' } });
    const plan = async (memory?: AppliedObjects) => {
      client.stats.reset();
      const cs = await planChanges(client, client.mapper, commit, {
        owner,
        inventory: first.inventory,
        ...(memory ? { applied: memory } : {}),
      });
      expect(summarize(cs)).toMatchObject({ configured: 1, unchanged: 20 });
      expect(cs.objects.find((o) => o.action === 'configure')?.ref.name).toBe('settings-7');
    };
    await plan(applied);
    expect(dryRuns()).toBe(1);
    // Without the memory (a restart), every existing object is dry-run, and says the same.
    await plan();
    // 21, or one more when kube-controller-manager writes the Deployment between read and dry-run.
    expect(dryRuns()).toBeGreaterThanOrEqual(21);
  });

  it('still finds a hand edit of an object Git did not change', async () => {
    const applied = new AppliedObjects();
    const first = await converge(client, settings(5), { owner, applied });
    await kubectlOk([
      '-n',
      ns,
      'patch',
      'configmap',
      'settings-3',
      '--type=merge',
      '-p',
      '{"data":{"index":"edited"}}',
    ]);
    await kubectlOk(['-n', ns, 'scale', 'deployment', 'web', '--replicas=5']);
    client.stats.reset();
    const cs = await planChanges(client, client.mapper, settings(5), {
      owner,
      inventory: first.inventory,
      applied,
    });
    expect(summarize(cs)).toMatchObject({ configured: 2, unchanged: 4 });
    expect(
      cs.objects
        .filter((o) => o.action === 'configure')
        .map((o) => o.ref.name)
        .sort(),
    ).toEqual(['settings-3', 'web']);
    // The two edited ones (the Deployment once more when kube-controller-manager wrote it meanwhile); none of the other four.
    expect(dryRuns()).toBeGreaterThanOrEqual(2);
    expect(dryRuns()).toBeLessThanOrEqual(3);
  });

  it('forgets what a failed apply may have written, so a revert still removes its fields', async () => {
    const applied = new AppliedObjects();
    const formA = configMap(ns, 'x', { a: '1' });
    const first = await converge(client, [formA], { owner, applied });
    // Form B adds a field; the apply writes x, but another object of the same stage is refused.
    const formB = configMap(ns, 'x', { a: '1', b: '2' });
    const refused: KubeObject = configMap(ns, 'Not_A_Valid_Name', { a: '1' });
    const cs = await planChanges(client, client.mapper, [formB, refused], {
      owner,
      inventory: first.inventory,
      applied,
    });
    await expect(applyChangeSet(client, client.mapper, cs, { applied })).rejects.toBeInstanceOf(ApplyError);
    const live = await client.get<KubeObject & { data: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/configmaps/x`,
    );
    expect(live.data).toEqual({ a: '1', b: '2' });

    // Back to form A (a revert): live ⊇ A, yet b must go; only a dry-run can tell.
    const revert = await converge(client, [formA], { owner, inventory: first.inventory, applied });
    expect(summarize(revert.changeSet)).toMatchObject({ configured: 1 });
    const after = await client.get<KubeObject & { data: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/configmaps/x`,
    );
    expect(after.data).toEqual({ a: '1' });
  });

  it('reads stale objects from the listing of ours, not one GET each', async () => {
    const first = await converge(client, settings(12), { owner });
    client.stats.reset();
    const cs = await planChanges(client, client.mapper, settings(12).slice(10), {
      owner,
      inventory: first.inventory,
    });
    expect(cs.stale).toHaveLength(10);
    // A LIST is a GET too: one per collection (ConfigMaps, Deployments), and none per stale object.
    expect(client.stats.byVerb().GET ?? 0).toBeLessThan(5);
  });
});

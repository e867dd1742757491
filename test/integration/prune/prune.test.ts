// Prune against the real API server: only stale objects still labelled as ours go, in reverse order, opt-out honoured.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/kube/index.ts';
import { changeLines, planChanges, summarize } from '../../../src/plan/index.ts';
import { inventoryOf, pruneStale, staleEntries } from '../../../src/prune/index.ts';
import { createNamespace, deleteNamespace, kubectl, kubectlOk, uniqueName } from '../../support/cluster.ts';
import { configMap, converge, deployment, testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
const owner = { name: 'pruner', namespace: 'converge-tests' };

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('prune');
});
afterEach(async () => {
  await deleteNamespace(ns);
});

const exists = async (args: string[]) => (await kubectl(['-n', ns, 'get', ...args])).code === 0;

describe('prune', () => {
  it('deletes objects that left Git, and keeps those that are no longer ours or opted out', async () => {
    const keep = configMap(ns, 'keep', { a: '1' });
    const optedOut = configMap(ns, 'opted-out', { a: '1' });
    optedOut.metadata.annotations = { 'gitops.converge.dev/prune': 'disabled' };
    const first = await converge(
      client,
      [
        keep,
        configMap(ns, 'old', { a: '1' }),
        optedOut,
        configMap(ns, 'adopted', { a: '1' }),
        deployment(ns, 'web'),
      ],
      { owner },
    );

    // Someone else took "adopted" over: it carries another owner's label now.
    await kubectlOk([
      '-n',
      ns,
      'label',
      'configmap/adopted',
      'gitops.converge.dev/name=someone-else',
      '--overwrite',
    ]);
    await kubectlOk(['-n', ns, 'delete', 'configmap/old']);
    const second = await converge(client, [keep, configMap(ns, 'again-old', { a: '1' })], {
      owner,
      inventory: first.inventory,
    });
    // The plan already tells what a prune will do: "old" is gone, two are kept, one goes.
    expect(second.changeSet.stale.map((s) => `${s.ref.name}${s.keep ? `: ${s.keep}` : ''}`)).toEqual([
      'adopted: no longer labelled as owned by converge-tests/pruner',
      'opted-out: gitops.converge.dev/prune: disabled',
      'web',
    ]);
    expect(summarize(second.changeSet).pruned).toBe(1);
    expect(changeLines(second.changeSet)).toEqual([
      `ConfigMap/${ns}/again-old created`,
      `ConfigMap/${ns}/adopted left in place (no longer labelled as owned by converge-tests/pruner)`,
      `ConfigMap/${ns}/opted-out left in place (gitops.converge.dev/prune: disabled)`,
      `Deployment/${ns}/web pruned`,
    ]);

    // The prune checks again at delete time (the plan may be old by then).
    const oldRef = { group: '', version: 'v1', kind: 'ConfigMap', namespace: ns, name: 'old' };
    const result = await pruneStale(client, client.mapper, [...second.changeSet.stale, oldRef], { owner });
    expect(result.pruned.map((s) => s.ref.name)).toEqual(['web']);
    expect(result.gone.map((s) => s.ref.name)).toEqual(['old']);
    expect(result.skipped.map((s) => `${s.ref.name}: ${s.reason}`).sort()).toEqual([
      'adopted: no longer labelled as owned by converge-tests/pruner',
      'opted-out: gitops.converge.dev/prune: disabled',
    ]);
    expect(await exists(['deployment/web'])).toBe(false);
    expect(await exists(['configmap/adopted'])).toBe(true);
    expect(await exists(['configmap/opted-out'])).toBe(true);
    expect(await exists(['configmap/keep'])).toBe(true);

    // Inventory entries are accepted as they are stored in status.
    const again = await pruneStale(
      client,
      client.mapper,
      staleEntries(inventoryOf([configMap(ns, 'keep', {})]), []),
      { owner: { name: 'not-us', namespace: 'x' } },
    );
    expect(again.skipped).toHaveLength(1);
    expect(await exists(['configmap/keep'])).toBe(true);
  });

  it('removes namespaced objects before their namespace, and treats a kind no longer served as gone', async () => {
    const fresh = uniqueName('pns');
    try {
      const first = await converge(
        client,
        [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: fresh } },
          configMap(fresh, 'inside', { a: '1' }),
        ],
        { owner },
      );
      const stale = [...first.inventory, { id: `${ns}_w_gone.example.com_Widget`, v: 'v1' }];
      const result = await pruneStale(client, client.mapper, stale, { owner });
      expect(result.pruned.map((s) => s.ref.kind)).toEqual(['ConfigMap', 'Namespace']);
      expect(result.gone.map((s) => s.ref.kind)).toEqual(['Widget']);
    } finally {
      await deleteNamespace(fresh);
    }
  });

  it('deletes what the plan saw as ours with one request each, and reads again what changed since', async () => {
    const first = await converge(
      client,
      [
        configMap(ns, 'stays', { a: '1' }),
        configMap(ns, 'gone-1', { a: '1' }),
        configMap(ns, 'gone-2', { a: '1' }),
      ],
      { owner },
    );
    const cs = await planChanges(client, client.mapper, [configMap(ns, 'stays', { a: '1' })], {
      owner,
      inventory: first.inventory,
    });
    expect(cs.stale.map((s) => s.ref.name).sort()).toEqual(['gone-1', 'gone-2']);
    // Between plan and prune, another GitSource takes gone-2 over.
    await kubectlOk([
      '-n',
      ns,
      'label',
      'configmap',
      'gone-2',
      'gitops.converge.dev/name=other',
      '--overwrite',
    ]);
    client.stats.reset();
    const result = await pruneStale(client, client.mapper, cs.stale, { owner });
    expect(result.pruned.map((s) => s.ref.name)).toEqual(['gone-1']);
    expect(result.skipped.map((s) => s.ref.name)).toEqual(['gone-2']);
    expect(await exists(['configmap', 'gone-2'])).toBe(true);
    // gone-1: one DELETE; gone-2: a DELETE refused by its precondition, then the GET that shows why.
    expect(client.stats.snapshot()).toEqual({ 'DELETE 200': 1, 'DELETE 409': 1, 'GET 200': 1 });
  });
});

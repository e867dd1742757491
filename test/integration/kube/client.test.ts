// The raw client against the real API server: discovery, list paging, list+watch with relists and reconnects.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/api/index.ts';
import { ApiError, RestMapper, type KubeClient, type WatchEvent } from '../../../src/kube/index.ts';
import { createNamespace, deleteNamespace, eventually, kubectlOk } from '../../support/cluster.ts';
import { configMap, testClient } from './fixture.ts';

let client: KubeClient;
let ns: string;

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('kube');
});
afterEach(async () => {
  await deleteNamespace(ns);
});

describe('KubeClient', () => {
  it('maps kinds from discovery, core and grouped, namespaced or not', async () => {
    const mapper = new RestMapper(client);
    expect(await mapper.mappingFor({ group: 'apps', version: 'v1', kind: 'Deployment' })).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      resource: 'deployments',
      namespaced: true,
    });
    expect(await mapper.mappingFor({ group: '', version: 'v1', kind: 'Namespace' })).toMatchObject({
      resource: 'namespaces',
      namespaced: false,
    });
    expect(
      await mapper.mappingFor({ group: 'gitops.converge.dev', version: 'v1alpha1', kind: 'GitSource' }),
    ).toMatchObject({ resource: 'gitsources', namespaced: true });
    await expect(mapper.mappingFor({ group: 'apps', version: 'v1', kind: 'Nope' })).rejects.toThrow(
      'no kind Nope in group apps/v1: is its CRD installed?',
    );
  });

  it('throws ApiError with the Status fields, and keeps fields on round trips', async () => {
    const err = await client.get(`/api/v1/namespaces/${ns}/configmaps/missing`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
    expect((err as ApiError).reason).toBe('NotFound');
    expect(await client.getIfExists(`/api/v1/namespaces/${ns}/configmaps/missing`)).toBeUndefined();
  });

  it('lists across pages', async () => {
    for (let i = 0; i < 7; i++) await client.apply(configMap(ns, `c${i}`, { i: String(i) }));
    client.stats.reset();
    const list = await client.list<KubeObject>(`/api/v1/namespaces/${ns}/configmaps`, { limit: 3 });
    expect(list.items.map((i) => i.metadata.name).filter((n) => n.startsWith('c'))).toEqual([
      'c0',
      'c1',
      'c2',
      'c3',
      'c4',
      'c5',
      'c6',
    ]);
    expect(list.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
    expect(client.stats.byVerb().GET).toBeGreaterThanOrEqual(3);
  });

  it('watches: initial list, changes, deletions across stream restarts, and resuming from an old resourceVersion', async () => {
    await client.apply(configMap(ns, 'a', { v: '1' }));
    const abort = new AbortController();
    const events: string[] = [];
    const errors: unknown[] = [];
    const onEvent = (e: WatchEvent<KubeObject>) => {
      events.push(e.type === 'SYNCED' ? `SYNCED ${e.objects.length}` : `${e.type} ${e.object.metadata.name}`);
    };
    const done = client.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { labelSelector: 'w=1', signal: abort.signal, onError: (e) => errors.push(e), timeoutSeconds: 1 },
      onEvent,
    );
    await kubectlOk(['-n', ns, 'label', 'configmap/a', 'w=1']);
    await eventually(() => events.includes('ADDED a'), { what: 'ADDED a' });
    await client.apply({
      ...configMap(ns, 'b', { v: '1' }),
      metadata: { name: 'b', namespace: ns, labels: { w: '1' } },
    });
    await eventually(() => events.includes('ADDED b'), { what: 'ADDED b' });
    await kubectlOk(['-n', ns, 'patch', 'configmap/a', '--type=merge', '-p', '{"data":{"v":"2"}}']);
    await eventually(() => events.includes('MODIFIED a'), { what: 'MODIFIED a' });
    // The server ends each stream after ~1 s (timeoutSeconds): the watch must resume without losing events.
    await new Promise((r) => setTimeout(r, 1500));
    await kubectlOk(['-n', ns, 'delete', 'configmap/b']);
    await eventually(() => events.includes('DELETED b'), { what: 'DELETED b' });
    abort.abort();
    await done;
    expect(events[0]).toBe('SYNCED 0');
    expect(errors).toEqual([]);

    // Resuming from an old resourceVersion: a compacted store answers 410 Gone and the watch relists;
    // a young one (as here, before the first compaction) replays. Either way the view ends current.
    const view = new Map<string, string>();
    const abort2 = new AbortController();
    const done2 = client.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { labelSelector: 'w=1', resourceVersion: '1', signal: abort2.signal },
      (e) => {
        if (e.type === 'SYNCED') return;
        if (e.type === 'DELETED') view.delete(e.object.metadata.name);
        else view.set(e.object.metadata.name, String((e.object as { data?: { v?: string } }).data?.v));
      },
    );
    await eventually(() => view.get('a') === '2' && !view.has('b'), {
      what: 'current view after resuming from resourceVersion 1',
    });
    abort2.abort();
    await done2;
  });
});

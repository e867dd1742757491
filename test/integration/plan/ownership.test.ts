// One owner per object, against the real API server: a second GitSource is refused, adopts only when its Git says so, and a prune never takes another's object.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConvergeError, type KubeObject } from '../../../src/api/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { changeLines, planChanges } from '../../../src/plan/index.ts';
import { pruneStale } from '../../../src/prune/index.ts';
import { createNamespace, deleteNamespace, kubectlOk } from '../../support/cluster.ts';
import { configMap, converge, testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
const teamA = { name: 'team-a', namespace: 'converge-tests' };
const teamB = { name: 'team-b', namespace: 'other-tests' };

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('owners');
});
afterEach(async () => {
  await deleteNamespace(ns);
});

const labelsOf = async (name: string) =>
  (await client.get<KubeObject>(`/api/v1/namespaces/${ns}/configmaps/${name}`)).metadata.labels ?? {};
const dataOf = async (name: string) =>
  (
    await client.get<KubeObject & { data: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/configmaps/${name}`,
    )
  ).data;
const annotated = (obj: KubeObject, annotations: Record<string, string>): KubeObject => ({
  ...obj,
  metadata: { ...obj.metadata, annotations },
});

describe('one owner per object', () => {
  it('refuses a second GitSource with ApplyFailed naming the object and its owner, and writes nothing', async () => {
    await converge(client, [configMap(ns, 'shared', { from: 'a' }), configMap(ns, 'a-only', { x: '1' })], {
      owner: teamA,
    });
    const err = await planChanges(
      client,
      client.mapper,
      [configMap(ns, 'shared', { from: 'b' }), configMap(ns, 'b-only', { x: '1' })],
      { owner: teamB },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvergeError);
    expect((err as ConvergeError).reason).toBe('ApplyFailed');
    expect((err as ConvergeError).message).toBe(
      `ConfigMap/${ns}/shared is owned by GitSource converge-tests/team-a ` +
        '(labels gitops.converge.dev/namespace, gitops.converge.dev/name); remove it from one of the two, ' +
        "or annotate it gitops.converge.dev/adopt: enabled in this GitSource's Git to take it over",
    );
    expect(await labelsOf('shared')).toMatchObject({ 'gitops.converge.dev/name': 'team-a' });
    expect(await dataOf('shared')).toEqual({ from: 'a' });
  });

  it('adopts only with gitops.converge.dev/adopt: enabled in the new owner’s objects; the old owner then neither prunes nor rewrites it', async () => {
    const first = await converge(client, [configMap(ns, 'shared', { from: 'a' })], { owner: teamA });

    const adopt = annotated(configMap(ns, 'shared', { from: 'b' }), {
      'gitops.converge.dev/adopt': 'enabled',
    });
    const taken = await converge(client, [adopt], { owner: teamB });
    expect(changeLines(taken.changeSet)[0]).toMatch(new RegExp(`^ConfigMap/${ns}/shared configured`));
    expect(await labelsOf('shared')).toMatchObject({
      'gitops.converge.dev/name': 'team-b',
      'gitops.converge.dev/namespace': 'other-tests',
    });
    expect(await dataOf('shared')).toEqual({ from: 'b' });

    // team-a's Git still declares it: refused, naming the new owner.
    await expect(
      planChanges(client, client.mapper, [configMap(ns, 'shared', { from: 'a' })], { owner: teamA }),
    ).rejects.toThrow(`ConfigMap/${ns}/shared is owned by GitSource other-tests/team-b`);

    // team-a's Git drops it: its prune leaves team-b's object alone.
    const again = await converge(client, [configMap(ns, 'a-other', { x: '1' })], {
      owner: teamA,
      inventory: first.inventory,
    });
    expect(again.changeSet.stale.map((s) => `${s.ref.name}: ${s.keep}`)).toEqual([
      'shared: no longer labelled as owned by converge-tests/team-a',
    ]);
    const pruned = await pruneStale(client, client.mapper, first.inventory, { owner: teamA });
    expect(pruned.pruned).toEqual([]);
    expect(pruned.skipped.map((s) => s.ref.name)).toEqual(['shared']);
    expect(await dataOf('shared')).toEqual({ from: 'b' });
  });

  it('asks whether the labelled owner still declares the object: a deleted or hand-written owner claims nothing', async () => {
    await converge(client, [configMap(ns, 'claimed', { from: 'a' })], { owner: teamA });
    const asked: string[] = [];
    const declaredBy = (answer: boolean) => async (o: { name: string; namespace: string }, id: string) => {
      asked.push(`${o.namespace}/${o.name} ${id}`);
      return answer;
    };
    await expect(
      planChanges(client, client.mapper, [configMap(ns, 'claimed', { from: 'b' })], {
        owner: teamB,
        declaredBy: declaredBy(true),
      }),
    ).rejects.toThrow(`ConfigMap/${ns}/claimed is owned by GitSource converge-tests/team-a`);
    expect(asked).toEqual([`converge-tests/team-a ${ns}_claimed__ConfigMap`]);

    const taken = await converge(client, [configMap(ns, 'claimed', { from: 'b' })], {
      owner: teamB,
      declaredBy: declaredBy(false),
    });
    expect(taken.changeSet.objects.map((o) => o.action)).toEqual(['configure']);
    expect(await labelsOf('claimed')).toMatchObject({ 'gitops.converge.dev/name': 'team-b' });
  });

  it('takes over unlabelled objects, and lets create-only objects be declared by both', async () => {
    await kubectlOk(['-n', ns, 'create', 'configmap', 'by-hand', '--from-literal=x=1']);
    const hand = await converge(client, [configMap(ns, 'by-hand', { x: '2' })], { owner: teamA });
    expect(changeLines(hand.changeSet)[0]).toMatch(/by-hand configured/);
    expect(await labelsOf('by-hand')).toMatchObject({ 'gitops.converge.dev/name': 'team-a' });

    const ifNotPresent = { 'gitops.converge.dev/ssa': 'IfNotPresent' };
    const sharedNs = annotated(configMap(ns, 'shared-once', { from: 'a' }), ifNotPresent);
    await converge(client, [sharedNs], { owner: teamA });
    const b = await converge(client, [annotated(configMap(ns, 'shared-once', { from: 'b' }), ifNotPresent)], {
      owner: teamB,
    });
    expect(b.changeSet.objects.map((o) => o.action)).toEqual(['unchanged']);
    expect(await labelsOf('shared-once')).toMatchObject({ 'gitops.converge.dev/name': 'team-a' });
    expect(await dataOf('shared-once')).toEqual({ from: 'a' });
  });
});

// The hook runner against the real API server: create with generateName, replace the previous
// instance, refuse an object that is not ours, delete per policy, skip what already completed.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConvergeError, type KubeObject } from '../../../src/api/index.ts';
import { classifyObjects, runHooks, type Hook } from '../../../src/hooks/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { createNamespace, deleteNamespace, kubectlOk } from '../../support/cluster.ts';
import { configMap, testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
const owner = { name: 'app', namespace: 'converge-tests' };

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('hookrun');
});
afterEach(async () => {
  await deleteNamespace(ns);
});

function hooksOf(objects: KubeObject[]): Hook[] {
  return classifyObjects(objects, { install: true }).hooks.pre;
}

const hookConfig = (name: string, annotations: Record<string, string>, generate = false): KubeObject => {
  const cm = configMap(ns, name, { a: '1' });
  cm.metadata.annotations = { 'argocd.argoproj.io/hook': 'PreSync', ...annotations };
  if (generate) {
    cm.metadata.name = '';
    cm.metadata['generateName'] = name;
  }
  return cm;
};

async function configMaps(): Promise<{ name: string; revision?: string }[]> {
  const out = await kubectlOk([
    'get',
    'configmaps',
    '-n',
    ns,
    '-l',
    'gitops.converge.dev/hook-owner-name=app',
    '-o',
    'json',
  ]);
  return (JSON.parse(out) as { items: KubeObject[] }).items.map((o) => ({
    name: o.metadata.name,
    revision: o.metadata.annotations?.['gitops.converge.dev/hook-revision'],
  }));
}

const run = (hooks: Hook[], revision: string, completed: string[] = []) =>
  runHooks(client, hooks, {
    owner,
    revision,
    completed: new Set(completed),
    signal: AbortSignal.timeout(30_000),
    pollMs: 50,
  });

describe('runHooks', () => {
  it('creates generateName hooks and replaces the previous instance at the next revision', async () => {
    const hooks = hooksOf([hookConfig('seed-', {}, true)]);
    expect(await run(hooks, 'r1')).toEqual([`pre:ConfigMap/${ns}/seed-*`]);
    const first = await configMaps();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      name: expect.stringMatching(/^seed-[a-z0-9]{5}$/) as unknown,
      revision: 'r1',
    });
    // Already completed for this revision: nothing runs.
    expect(await run(hooks, 'r1', [`pre:ConfigMap/${ns}/seed-*`])).toEqual([]);
    await run(hooks, 'r2');
    const second = await configMaps();
    expect(second).toHaveLength(1);
    expect(second[0]!.name).not.toBe(first[0]!.name);
    expect(second[0]!.revision).toBe('r2');
  });

  it('deletes a hook that succeeded when told to, and never touches an object that is not its own', async () => {
    await run(
      hooksOf([hookConfig('gone', { 'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded' })]),
      'r1',
    );
    expect(await configMaps()).toEqual([]);

    await kubectlOk(['create', 'configmap', 'theirs', '-n', ns, '--from-literal=a=1']);
    const err = await run(hooksOf([hookConfig('theirs', {})]), 'r1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvergeError);
    expect((err as ConvergeError).reason).toBe('HookFailed');
    expect((err as ConvergeError).message).toContain(
      `ConfigMap/${ns}/theirs: an object of that name exists and does not belong to GitSource converge-tests/app`,
    );
    expect(
      await kubectlOk(['get', 'configmap', 'theirs', '-n', ns, '-o', 'jsonpath={.metadata.uid}']),
    ).not.toBe('');
  });
});

// Staged apply against the real API server: CRDs and namespaces with their contents in one change set, immutable fields, RBAC.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConvergeError, KubeObject } from '../../../src/api/index.ts';
import { applyChangeSet, ApplyError } from '../../../src/apply/index.ts';
import type { KubeClient } from '../../../src/kube/index.ts';
import { changeLines, planChanges, summarize } from '../../../src/plan/index.ts';
import { createNamespace, deleteNamespace, kubectl, kubectlOk, uniqueName } from '../../support/cluster.ts';
import { configMap, converge, deployment, testClient } from '../kube/fixture.ts';

let client: KubeClient;
let ns: string;
const owner = { name: 'staged', namespace: 'converge-tests' };

beforeAll(async () => {
  client = await testClient();
});
afterAll(() => client.close());
beforeEach(async () => {
  ns = await createNamespace('apply');
});
afterEach(async () => {
  await deleteNamespace(ns);
});

function widgetCrd(group: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    size: { type: 'integer' },
                    extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

describe('staged apply', () => {
  it('applies a CRD and its custom resources in one change set, custom fields intact', async () => {
    const group = `${uniqueName('w')}.example.com`;
    const extra = { nested: { list: [1, 'two', { three: true }] }, brandNew: 'kept' };
    const widget: KubeObject = {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w1', namespace: ns },
      spec: { size: 3, extra },
    };
    try {
      const plan = await planChanges(client, client.mapper, [widget, widgetCrd(group)], { owner });
      expect(plan.objects.map((o) => [o.ref.kind, o.action, o.pending ?? ''])).toEqual([
        ['CustomResourceDefinition', 'create', ''],
        ['Widget', 'create', 'crd'],
      ]);
      const result = await applyChangeSet(client, client.mapper, plan);
      expect(result.applied.map((a) => a.ref.kind)).toEqual(['CustomResourceDefinition', 'Widget']);
      const live = await client.get<KubeObject & { spec: unknown }>(
        `/apis/${group}/v1/namespaces/${ns}/widgets/w1`,
      );
      expect(live.spec).toEqual({ size: 3, extra });

      // Planned again: the CR is compared like any other object.
      client.stats.reset();
      const again = await converge(client, [widget, widgetCrd(group)], { owner });
      expect(summarize(again.changeSet)).toMatchObject({ unchanged: 2 });
      expect(client.stats.writes()).toBe(0);
    } finally {
      await kubectl(['delete', 'crd', `widgets.${group}`, '--wait=false']);
    }
  });

  it('applies a namespace and its contents in one change set', async () => {
    const fresh = uniqueName('fresh');
    try {
      const r = await converge(
        client,
        [
          configMap(fresh, 'inside', { a: '1' }),
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: fresh } },
          deployment(fresh, 'web'),
        ],
        { owner },
      );
      expect(r.result.applied.map((a) => `${a.action} ${a.ref.kind}`)).toEqual([
        'created Namespace',
        'created ConfigMap',
        'created Deployment',
      ]);
      expect(await kubectlOk(['-n', fresh, 'get', 'configmap/inside', '-o', 'jsonpath={.data.a}'])).toBe('1');
    } finally {
      await deleteNamespace(fresh);
    }
  });

  it('fails on a changed immutable field naming object and field, and recreates it with force', async () => {
    await converge(client, [deployment(ns, 'web')], { owner });
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
    const uidBefore = (await client.get(path)).metadata.uid;
    const changed = deployment(ns, 'web');
    const spec = changed.spec as {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    spec.selector.matchLabels = { app: 'web', tier: 'front' };
    spec.template.metadata.labels = { app: 'web', tier: 'front' };

    const refused = await planChanges(client, client.mapper, [changed], { owner }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as ConvergeError).reason).toBe('ApplyFailed');
    expect((refused as Error).message).toMatch(
      new RegExp(`^Deployment/${ns}/web: immutable field spec.selector cannot change; set spec.force`),
    );
    expect((await client.get(path)).metadata.uid).toBe(uidBefore);

    const plan = await planChanges(client, client.mapper, [changed], { owner, force: true });
    expect(changeLines(plan)).toEqual([`Deployment/${ns}/web recreated: /spec/selector changed`]);
    const result = await applyChangeSet(client, client.mapper, plan, { force: true });
    expect(result.applied.map((a) => a.action)).toEqual(['recreated']);
    const live = await client.get<KubeObject & { spec: { selector: unknown } }>(path);
    expect(live.metadata.uid).not.toBe(uidBefore);
    expect(live.spec.selector).toEqual({ matchLabels: { app: 'web', tier: 'front' } });
  });

  it('recreates a Job whose template changed when the object asks for force by annotation', async () => {
    const job = (image: string, annotate: boolean): KubeObject => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'migrate',
        namespace: ns,
        ...(annotate ? { annotations: { 'gitops.converge.dev/force': 'enabled' } } : {}),
      },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image }] } } },
    });
    await converge(client, [job('registry.invalid/m:1', false)], { owner });
    const refused = await planChanges(client, client.mapper, [job('registry.invalid/m:2', false)], {
      owner,
    }).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(
      new RegExp(`^Job/${ns}/migrate: immutable field spec.template`),
    );
    const r = await converge(client, [job('registry.invalid/m:2', true)], { owner });
    expect(r.result.applied.map((a) => a.action)).toEqual(['recreated']);
    expect(
      await kubectlOk([
        '-n',
        ns,
        'get',
        'job/migrate',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ]),
    ).toBe('registry.invalid/m:2');
  });

  it('reports RBAC denial with verb, resource and namespace when impersonating a service account', async () => {
    await kubectlOk(['-n', ns, 'create', 'serviceaccount', 'deployer']);
    await kubectlOk([
      '-n',
      ns,
      'create',
      'role',
      'cm',
      '--verb=get,list,patch,create',
      '--resource=configmaps',
    ]);
    await kubectlOk(['-n', ns, 'create', 'role', 'read-secrets', '--verb=get,list', '--resource=secrets']);
    for (const role of ['cm', 'read-secrets']) {
      await kubectlOk([
        '-n',
        ns,
        'create',
        'rolebinding',
        role,
        `--role=${role}`,
        `--serviceaccount=${ns}:deployer`,
      ]);
    }
    const tenant = client.impersonating(`system:serviceaccount:${ns}:deployer`);
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'nope', namespace: ns },
      stringData: { a: 'b' },
    };
    const plan = await planChanges(tenant, client.mapper, [configMap(ns, 'ok', { a: '1' }), secret], {
      owner,
    });
    const err = await applyChangeSet(tenant, client.mapper, plan).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplyError);
    const e = err as ApplyError;
    expect(e.reason).toBe('RBACDenied');
    expect(e.stalled).toBe(true);
    expect(e.failed.map((f) => f.ref.name)).toEqual(['nope']);
    expect(e.message).toMatch(
      new RegExp(
        `^Secret/${ns}/nope: RBAC denied patch on secrets in namespace ${ns}: .*system:serviceaccount:${ns}:deployer`,
      ),
    );
    expect(await kubectlOk(['-n', ns, 'get', 'configmap/ok', '-o', 'jsonpath={.data.a}'])).toBe('1');

    // Denied a read while planning: the same reason, naming the request that was refused.
    const other = await planChanges(
      tenant,
      client.mapper,
      [{ ...configMap(ns, 'x', {}), apiVersion: 'v1', kind: 'ServiceAccount' }],
      { owner },
    ).catch((x: unknown) => x);
    expect((other as ConvergeError).reason).toBe('RBACDenied');
    expect((other as ConvergeError).message).toMatch(
      new RegExp(`^ServiceAccount/${ns}/x: RBAC denied get on serviceaccounts in namespace ${ns}`),
    );
  });
});

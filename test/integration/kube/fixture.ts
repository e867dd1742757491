// Shared by the engine's cluster tests: a KubeClient on the shared control plane and small object builders.
import { inject } from 'vitest';
import type { InventoryEntry, KubeObject } from '../../../src/api/index.ts';
import { applyChangeSet } from '../../../src/apply/index.ts';
import { KubeClient } from '../../../src/kube/index.ts';
import { planChanges, type PlanOptions } from '../../../src/plan/index.ts';
import { inventoryOf } from '../../../src/prune/index.ts';

export function testClient(): Promise<KubeClient> {
  return KubeClient.fromFile(inject('kubeconfig'), { maxSockets: 16 });
}

export const configMap = (ns: string, name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
  data,
});

export const deployment = (
  ns: string,
  name: string,
  replicas = 1,
  extra: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }], ...extra },
    },
  },
});

/** plan + apply, as the controller does; returns the change set and the new inventory. */
export async function converge(
  client: KubeClient,
  desired: KubeObject[],
  opts: Omit<PlanOptions, 'owner'> & { owner?: PlanOptions['owner'] },
) {
  const owner = opts.owner ?? { name: 'test', namespace: 'converge-tests' };
  const changeSet = await planChanges(client, client.mapper, desired, { ...opts, owner });
  const result = await applyChangeSet(client, client.mapper, changeSet, {
    force: opts.force ?? false,
    ...(opts.applied ? { applied: opts.applied } : {}),
  });
  const inventory: InventoryEntry[] = inventoryOf(changeSet.objects.map((o) => o.object));
  return { changeSet, result, inventory };
}

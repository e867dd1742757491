// examples/many-clusters: the fleet's GitSources and Notifier are valid, each names its kubeconfig
// Secret, and the target-cluster objects give the operator a token without an exec plugin.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseNotifierSpec, parseSpec } from '../../../src/api/index.ts';

const dir = join(import.meta.dirname, '..', '..', '..', 'examples', 'many-clusters');
const docs = (file: string) =>
  yaml.loadAll(readFileSync(join(dir, file), 'utf8')) as Array<{
    kind: string;
    spec?: unknown;
    type?: string;
  }>;

describe('examples/many-clusters', () => {
  it('fleet.yaml: two GitSources, each applying to its own cluster through a kubeconfig Secret', () => {
    const fleet = docs('fleet.yaml');
    const specs = fleet.filter((d) => d.kind === 'GitSource').map((d) => parseSpec(d.spec));
    expect(specs).toHaveLength(2);
    const refs = specs.map((s) => {
      expect(s.ok, JSON.stringify(s)).toBe(true);
      return s.ok ? s.spec.kubeConfig?.secretRef : undefined;
    });
    expect(refs).toEqual([
      { name: 'staging-kubeconfig', key: 'value' },
      { name: 'prod-eu-kubeconfig', key: 'value' },
    ]);
    const notifier = fleet.find((d) => d.kind === 'Notifier')!;
    expect(parseNotifierSpec(notifier.spec).ok).toBe(true);
  });

  it('target-cluster.yaml: a ServiceAccount token Secret and its binding', () => {
    const kinds = docs('target-cluster.yaml').map((d) => d.kind);
    expect(kinds).toEqual(['Namespace', 'ServiceAccount', 'Secret', 'ClusterRoleBinding', 'Namespace']);
    expect(docs('target-cluster.yaml').find((d) => d.kind === 'Secret')?.type).toBe(
      'kubernetes.io/service-account-token',
    );
  });
});

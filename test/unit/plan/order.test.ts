import { describe, expect, it } from 'vitest';
import { applyStage, compareApplyOrder, stagesOf } from '../../../src/plan/index.ts';

const r = (kind: string, namespace = 'apps', group = '', name = 'x') => ({ kind, namespace, group, name });

describe('apply order', () => {
  it('puts CRDs and Namespaces first, cluster-wide kinds next, webhooks last', () => {
    expect(applyStage(r('CustomResourceDefinition', '', 'apiextensions.k8s.io'))).toBe(0);
    expect(applyStage(r('Namespace', ''))).toBe(0);
    expect(applyStage(r('ClusterRole', '', 'rbac.authorization.k8s.io'))).toBe(1);
    expect(applyStage(r('PriorityClass', '', 'scheduling.k8s.io'))).toBe(1);
    expect(applyStage(r('ServiceAccount'))).toBe(2);
    expect(applyStage(r('ConfigMap'))).toBe(2);
    expect(applyStage(r('Deployment', 'apps', 'apps'))).toBe(3);
    expect(applyStage(r('Widget', 'apps', 'example.com'))).toBe(3);
    expect(applyStage(r('ValidatingWebhookConfiguration', '', 'admissionregistration.k8s.io'))).toBe(4);
    // A kind named Namespace in another group is not the core Namespace.
    expect(applyStage(r('Namespace', 'apps', 'example.com'))).toBe(3);
  });

  it('orders kinds inside a stage, then by namespace and name', () => {
    const items = [
      r('Ingress', 'apps', 'networking.k8s.io'),
      r('Deployment', 'apps', 'apps', 'b'),
      r('Widget', 'apps', 'example.com'),
      r('Service'),
      r('Deployment', 'apps', 'apps', 'a'),
      r('Secret'),
      r('RoleBinding', 'apps', 'rbac.authorization.k8s.io'),
      r('ServiceAccount'),
      r('Namespace', ''),
      r('MutatingWebhookConfiguration', '', 'admissionregistration.k8s.io'),
      r('ClusterRole', '', 'rbac.authorization.k8s.io'),
    ];
    const sorted = [...items].sort(compareApplyOrder).map((i) => `${i.kind}/${i.name}`);
    expect(sorted).toEqual([
      'Namespace/x',
      'ClusterRole/x',
      'ServiceAccount/x',
      'RoleBinding/x',
      'Secret/x',
      'Service/x',
      'Deployment/a',
      'Deployment/b',
      'Ingress/x',
      'Widget/x',
      'MutatingWebhookConfiguration/x',
    ]);
  });

  it('groups by stage, reversed for prune', () => {
    const items = [r('ConfigMap'), r('Namespace', ''), r('Deployment', 'apps', 'apps'), r('Service')];
    expect(stagesOf(items, (i) => i).map((s) => [s.stage, s.items.map((i) => i.kind)])).toEqual([
      [0, ['Namespace']],
      [2, ['ConfigMap']],
      [3, ['Service', 'Deployment']],
    ]);
    expect(stagesOf(items, (i) => i, true).map((s) => [s.stage, s.items.map((i) => i.kind)])).toEqual([
      [3, ['Deployment', 'Service']],
      [2, ['ConfigMap']],
      [0, ['Namespace']],
    ]);
  });
});

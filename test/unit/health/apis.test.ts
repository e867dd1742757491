import { describe, expect, it } from 'vitest';
import { assessHealth } from '../../../src/health/index.ts';
import { cond, obj } from './fixtures.ts';

describe('CustomResourceDefinition', () => {
  const crd = (conditions?: unknown[]) =>
    obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', {
      name: 'widgets.example.com',
      namespace: null,
      spec: { group: 'example.com', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' } },
      status: conditions
        ? { acceptedNames: { kind: 'Widget', plural: 'widgets' }, storedVersions: ['v1'], conditions }
        : undefined,
    });

  it('is Current when Established', () => {
    const established = crd([
      cond('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
      cond('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ]);
    expect(assessHealth(established)).toEqual({
      status: 'Current',
      message: 'CustomResourceDefinition widgets.example.com: established',
    });
  });

  it('waits until Established, and fails on a name conflict', () => {
    expect(assessHealth(crd()).status).toBe('InProgress');
    expect(
      assessHealth(
        crd([
          cond('NamesAccepted', 'True', 'NoConflicts'),
          cond('Established', 'False', 'Installing', 'the initial names have been accepted'),
        ]),
      ),
    ).toEqual({
      status: 'InProgress',
      message:
        'CustomResourceDefinition widgets.example.com: waiting to be established (Installing: the initial names have been accepted)',
    });
    expect(
      assessHealth(
        crd([
          cond('NamesAccepted', 'False', 'ListKindConflict', '"WidgetList" is already in use'),
          cond('Established', 'False', 'NotAccepted'),
        ]),
      ),
    ).toEqual({
      status: 'Failed',
      message:
        'CustomResourceDefinition widgets.example.com: names not accepted (ListKindConflict: "WidgetList" is already in use)',
    });
  });
});

describe('APIService', () => {
  const api = (conditions: unknown[]) =>
    obj('apiregistration.k8s.io/v1', 'APIService', {
      name: 'v1beta1.metrics.k8s.io',
      namespace: null,
      status: { conditions },
    });
  it('is Current when Available, InProgress otherwise', () => {
    expect(assessHealth(api([cond('Available', 'True', 'Passed', 'all checks passed')]))).toEqual({
      status: 'Current',
      message: 'APIService v1beta1.metrics.k8s.io: available',
    });
    expect(
      assessHealth(
        api([
          cond(
            'Available',
            'False',
            'MissingEndpoints',
            'endpoints for service/metrics-server in "kube-system" have no addresses',
          ),
        ]),
      ),
    ).toEqual({
      status: 'InProgress',
      message:
        'APIService v1beta1.metrics.k8s.io: not available (MissingEndpoints: endpoints for service/metrics-server in "kube-system" have no addresses)',
    });
    expect(assessHealth(api([])).status).toBe('InProgress');
  });
});

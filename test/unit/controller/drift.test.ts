// The in-memory drift check: fields Git sets that live no longer has as Git says.
import { describe, expect, it } from 'vitest';
import { driftedFields } from '../../../src/controller/index.ts';

const desired = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'apps', labels: { app: 'web' } },
  spec: { replicas: 3, template: { spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
};

// Loose shape for editing a copy in tests.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Live = Record<string, any>;

describe('driftedFields', () => {
  it('is empty when live has everything Git sets, plus server defaults and status', () => {
    const live = structuredClone(desired) as Live;
    live.metadata.uid = 'u';
    live.metadata.labels['extra'] = 'x';
    live.spec.strategy = { type: 'RollingUpdate' };
    live.spec.template.spec.containers[0].imagePullPolicy = 'IfNotPresent';
    live.status = { replicas: 0 };
    expect(driftedFields(desired, live)).toEqual([]);
  });
  it('names a changed scalar', () => {
    const live = structuredClone(desired);
    live.spec.replicas = 7;
    expect(driftedFields(desired, live)).toEqual(['/spec/replicas']);
  });
  it('names a changed list item and a removed label', () => {
    const live = structuredClone(desired) as Live;
    live.spec.template.spec.containers[0].image = 'evil:latest';
    delete live.metadata.labels.app;
    expect(driftedFields(desired, live)).toEqual([
      '/metadata/labels/app',
      '/spec/template/spec/containers/0/image',
    ]);
  });
  it('treats a list of another length as changed', () => {
    const live = structuredClone(desired) as Live;
    live.spec.template.spec.containers.push({ name: 'sidecar', image: 'x' });
    expect(driftedFields(desired, live)).toEqual(['/spec/template/spec/containers']);
  });
  it('skips ignored paths', () => {
    const live = structuredClone(desired);
    live.spec.replicas = 7;
    expect(driftedFields(desired, live, ['/spec/replicas'])).toEqual([]);
  });
});

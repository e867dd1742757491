// The plan's memory of what this process applied keeps only objects Git still has.
import { describe, expect, it } from 'vitest';
import { AppliedObjects } from '../../../src/plan/applied.ts';
import type { PlannedObject } from '../../../src/plan/changeset.ts';

const planned = (id: string, digest: string) =>
  ({ id, digest, action: 'create' }) as unknown as PlannedObject;

describe('AppliedObjects', () => {
  it('forgets objects that left Git, and what a failed apply meant to write', () => {
    const memory = new AppliedObjects();
    memory.recordApplied([
      planned('apps_web-abc123__ConfigMap', 'd1'),
      planned('apps_web__Deployment', 'd2'),
    ]);
    expect(memory.size).toBe(2);
    // kustomize renamed the ConfigMap (a new content hash): the old name left Git.
    memory.forget(['apps_web-abc123__ConfigMap']);
    expect(memory.holds('apps_web-abc123__ConfigMap', 'd1')).toBe(false);
    expect(memory.holds('apps_web__Deployment', 'd2')).toBe(true);
    memory.forgetWritten([planned('apps_web__Deployment', 'd3')]);
    expect(memory.size).toBe(0);
  });
});

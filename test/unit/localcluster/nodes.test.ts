// The fake-node pieces of the local cluster: kwok's arguments, the Stage files and the Node objects.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { fakeNode, fakeNodeNames, kwokArgs, kwokStagesDir } from '../../../src/localcluster/nodes.ts';

interface Stage {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    resourceRef: { kind: string };
    selector: { matchExpressions: { key: string; operator: string; values?: string[] }[] };
  };
}

const stages = readdirSync(kwokStagesDir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => yaml.loadAll(readFileSync(join(kwokStagesDir, f), 'utf8')) as Stage[]);

describe('kwok stages', () => {
  it('are kwok Stage objects with unique names, every file passed to kwok', () => {
    expect(stages.every((s) => s.apiVersion === 'kwok.x-k8s.io/v1alpha1' && s.kind === 'Stage')).toBe(true);
    const names = stages.map((s) => s.metadata.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(
      [
        'node-initialize',
        'pod-complete',
        'pod-crash-loop',
        'pod-delete',
        'pod-fail',
        'pod-never-ready',
        'pod-ready',
      ].sort(),
    );
    const configs = kwokArgs('/k').filter((a) => a.startsWith('--config='));
    expect(configs).toHaveLength(readdirSync(kwokStagesDir).filter((f) => f.endsWith('.yaml')).length);
  });

  it('leave pods labelled converge.dev/kwok to the failure stages', () => {
    const label = '.metadata.labels["converge.dev/kwok"]';
    const on = (name: string) => stages.find((s) => s.metadata.name === name)!.spec.selector.matchExpressions;
    for (const name of ['pod-ready', 'pod-complete'])
      expect(on(name)).toContainEqual({ key: label, operator: 'NotIn', values: ['never-ready', 'fail'] });
    expect(on('pod-never-ready')).toContainEqual({ key: label, operator: 'In', values: ['never-ready'] });
    for (const name of ['pod-fail', 'pod-crash-loop'])
      expect(on(name)).toContainEqual({ key: label, operator: 'In', values: ['fail'] });
  });
});

describe('fake nodes', () => {
  it('are named, annotated for kwok and start without a status', () => {
    expect(fakeNodeNames(2)).toEqual(['kwok-node-0', 'kwok-node-1']);
    expect(fakeNode('n')).toMatchObject({
      kind: 'Node',
      metadata: { name: 'n', annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok' } },
    });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { renderManifests, type RenderInput } from '../../../src/render/index.ts';
import { configMap, makeRepo } from './support.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const noTools = { kubectl: '/nonexistent/kubectl', helm: '/nonexistent/helm' };

async function render(files: Record<string, string>, input: Partial<RenderInput> = {}) {
  const repo = await makeRepo(files);
  cleanups.push(repo.cleanup);
  return renderManifests({ root: repo.root, tools: noTools, ...input });
}

describe('an empty render', () => {
  it('fails with what was found instead', async () => {
    await expect(
      render(
        { 'app/a.jsonnet': '{}', 'app/b.jsonnet': '{}', 'app/lib/c.jsonnet': '{}', 'app/README.md': '' },
        { path: 'app' },
      ),
    ).rejects.toThrow(
      'no manifests at "app": 3 .jsonnet files, 1 .md file found; Converge renders YAML/JSON, kustomize and Helm (set spec.allowEmpty: true if an empty set is intended)',
    );
    await expect(render({ 'app/values.yaml': 'replicas: 3\n' }, { path: 'app' })).rejects.toThrow(
      'no manifests at "app": 1 YAML/JSON file found, none holds a Kubernetes object (apiVersion, kind, metadata)',
    );
    await expect(render({ 'a.yaml': configMap('x') }, { include: ['*.yml'] })).rejects.toThrow(
      'no manifests at ".": include/exclude match none of the 1 YAML/JSON file',
    );
    await expect(render({ 'app/.keep': '' }, { path: 'app' })).rejects.toMatchObject({
      reason: 'RenderFailed',
      message: expect.stringContaining('no manifests at "app": the directory is empty') as unknown,
    });
  });

  it('is accepted with allowEmpty', async () => {
    expect(await render({ 'app/a.jsonnet': '{}' }, { path: 'app', allowEmpty: true })).toEqual([]);
  });
});

describe('default namespace and hooks in the render', () => {
  it('puts namespaced objects without a namespace into the target namespace, leaves cluster-scoped ones alone', async () => {
    const objs = await render(
      {
        'a.yaml': `${configMap('x')}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\n${configMap('cfg', '  namespace: other\n')}`,
      },
      { targetNamespace: 'apps' },
    );
    expect(objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'ConfigMap/apps/x',
      'Namespace//other',
      'ConfigMap/other/cfg',
    ]);
  });

  it('allows generateName for hooks only', async () => {
    const hook =
      'apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n  annotations: {argocd.argoproj.io/hook: PreSync}\nspec: {}\n';
    const objs = await render({ 'a.yaml': `${hook}---\n${hook}` }, { targetNamespace: 'apps' });
    expect(objs.map((o) => [o.metadata.name, o.metadata['generateName'], o.metadata.namespace])).toEqual([
      ['', 'migrate-', 'apps'],
      ['', 'migrate-', 'apps'],
    ]);
  });
});

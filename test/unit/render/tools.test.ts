// kustomize and helm sources, rendered by the real kubectl and helm binaries.
import { existsSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientTools } from '../../../src/render/index.ts';
import { renderManifests } from '../../../src/render/index.ts';
import { clientTools, configMap, makeRepo } from './support.ts';

let tools: ClientTools;
beforeAll(async () => {
  tools = await clientTools();
}, 120_000);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function repo(files: Record<string, string>): Promise<string> {
  const r = await makeRepo(files);
  cleanups.push(r.cleanup);
  return r.root;
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:\${TAG}
`;

describe('kustomize', () => {
  it('builds a base and overlay with kubectl kustomize, then substitutes and sets the namespace', async () => {
    const root = await repo({
      'base/kustomization.yaml': 'resources: [deployment.yaml, cm.yaml]\n',
      'base/deployment.yaml': deployment,
      'base/cm.yaml': configMap('settings', 'data: {mode: base}\n'),
      'overlays/prod/kustomization.yml': [
        'resources: [../../base]',
        'namePrefix: prod-',
        'commonLabels: {env: prod}',
        'patches:',
        '- patch: |-',
        '    apiVersion: v1',
        '    kind: ConfigMap',
        '    metadata: {name: settings}',
        '    data: {mode: prod}',
        '',
      ].join('\n'),
      'overlays/prod/ignored.yaml': configMap('not-in-kustomization'),
    });
    const objs = await renderManifests({
      root,
      path: 'overlays/prod',
      tools,
      substitute: { TAG: '1.27' },
      targetNamespace: 'web',
      include: ['nothing/**'], // globs are for plain directories only
    });
    expect(objs.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'ConfigMap/web/prod-settings',
      'Deployment/web/prod-web',
    ]);
    expect(objs[0]!['data']).toEqual({ mode: 'prod' });
    expect(objs[1]!.metadata.labels).toEqual({ env: 'prod' });
    expect(JSON.stringify(objs[1])).toContain('"image":"nginx:1.27"');
  });

  it('reports a kustomize error with repository-relative paths', async () => {
    const root = await repo({ 'k/Kustomization': 'resources: [missing.yaml]\n' });
    const err = await renderManifests({ root, path: 'k', tools }).catch((e: Error) => e);
    expect(err).toMatchObject({ reason: 'RenderFailed' });
    expect((err as Error).message).toMatch(/^kustomize build of k failed: .*missing\.yaml/);
    expect((err as Error).message).not.toContain(root);
  });

  it('keeps kustomize load restrictions: a file outside the kustomization root is refused', async () => {
    const root = await repo({
      'shared/cm.yaml': configMap('shared'),
      'app/kustomization.yaml': 'resources: [../shared/cm.yaml]\n',
    });
    await expect(renderManifests({ root, path: 'app', tools })).rejects.toThrow(
      /kustomize build of app failed: .*(restrict|not in or below)/i,
    );
  });

  it('refuses remote resources and plugins instead of fetching or running them', async () => {
    const remote = await repo({
      'kustomization.yaml':
        'resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0\n',
    });
    await expect(renderManifests({ root: remote, tools })).rejects.toThrow(
      'kustomization.yaml: resources entry "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0" is remote',
    );
    const exec = await repo({
      'kustomization.yaml': 'generators: [gen.yaml]\n',
      'gen.yaml': [
        'apiVersion: example.com/v1',
        'kind: Gen',
        'metadata:',
        '  name: g',
        '  annotations:',
        '    config.kubernetes.io/function: |',
        '      exec: {path: ./run.sh}',
        '',
      ].join('\n'),
      'run.sh': '#!/bin/sh\ntouch pwned\n',
    });
    const err = await renderManifests({ root: exec, tools }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^kustomize build of \. failed: .*(plugin|function)/i);
    expect(existsSync(path.join(exec, 'pwned'))).toBe(false);
  });

  it('refuses a symlink out of the checkout inside a kustomization tree', async () => {
    const root = await repo({ 'k/kustomization.yaml': 'resources: [cm.yaml]\n' });
    await symlink('/etc/hostname', path.join(root, 'k', 'cm.yaml'));
    await expect(renderManifests({ root, path: 'k', tools })).rejects.toThrow(
      'k/cm.yaml: symlink resolves outside the repository',
    );
  });
});

describe('helm', () => {
  const chart = {
    'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
    'charts/web/values.yaml': 'replicas: 1\ngreeting: hello\n',
    'charts/web/templates/cm.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-config',
      '  namespace: {{ .Release.Namespace }}',
      'data:',
      '  greeting: {{ .Values.greeting | quote }}',
      '  replicas: {{ .Values.replicas | quote }}',
      '  cluster: "${CLUSTER}"',
      '',
    ].join('\n'),
    'charts/web/templates/sa.yaml':
      'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}\n',
    'charts/web/templates/tests/t.yaml':
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations: {"helm.sh/hook": test}\nspec: {containers: [{name: t, image: busybox}]}\n',
    'charts/web/crds/widget.yaml':
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}, versions: []}\n',
  };

  it('renders a chart with helm template and the given values, CRDs included, tests skipped', async () => {
    const root = await repo(chart);
    const objs = await renderManifests({
      root,
      path: 'charts/web',
      tools,
      helm: { releaseName: 'prod', namespace: 'apps', values: { greeting: 'hi there', replicas: 3 } },
      substitute: { CLUSTER: 'eu' },
      targetNamespace: 'fallback',
    });
    expect(objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'CustomResourceDefinition//widgets.example.com',
      // helm's install order: ServiceAccounts before ConfigMaps
      'ServiceAccount/fallback/prod',
      'ConfigMap/apps/prod-config',
    ]);
    expect(objs[2]!['data']).toEqual({ greeting: 'hi there', replicas: '3', cluster: 'eu' });
  });

  it('defaults the release to the chart directory name and names the template in errors', async () => {
    const root = await repo({
      ...chart,
      'charts/web/templates/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n',
    });
    await expect(renderManifests({ root, path: 'charts/web', tools })).rejects.toThrow(
      'charts/web: web/templates/bad.yaml (document 1): ConfigMap has no metadata.name',
    );
  });

  it('reports a template error and never reaches for the network for missing dependencies', async () => {
    const root = await repo({
      ...chart,
      'charts/web/Chart.yaml':
        'apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 1.0.0\n  repository: https://charts.example.invalid\n',
    });
    await expect(renderManifests({ root, path: 'charts/web', tools })).rejects.toThrow(
      /helm template of charts\/web failed: .*redis/,
    );
    const broken = await repo({ ...chart, 'charts/web/templates/x.yaml': '{{ .Values.nope.deeper }}\n' });
    await expect(renderManifests({ root: broken, path: 'charts/web', tools })).rejects.toThrow(
      /helm template of charts\/web failed: .*x\.yaml/,
    );
  });

  it('refuses a chart with a symlink out of the checkout', async () => {
    const root = await repo(chart);
    await symlink('/etc', path.join(root, 'charts', 'web', 'files'));
    await expect(renderManifests({ root, path: 'charts/web', tools })).rejects.toThrow(
      'charts/web/files: symlink resolves outside the repository',
    );
  });
});

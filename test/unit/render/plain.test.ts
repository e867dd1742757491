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

function names(objs: { kind: string; metadata: { name: string; namespace?: string } }[]): string[] {
  return objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
}

describe('plain directories', () => {
  it('reads .yaml, .yml and .json recursively in sorted order, multi-document, skipping empty documents', async () => {
    const objs = await render({
      'b.yaml': `---\n${configMap('b1')}---\n# only a comment\n---\n${configMap('b2')}`,
      'a/z.yml': configMap('az'),
      'a/c.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'ac' },
        stringData: { k: 'v' },
      }),
      'notes.txt': configMap('ignored-extension'),
      '.hidden/x.yaml': configMap('ignored-hidden'),
    });
    expect(names(objs)).toEqual(['Secret//ac', 'ConfigMap//az', 'ConfigMap//b1', 'ConfigMap//b2']);
    expect(objs[0]).toMatchObject({ stringData: { k: 'v' } });
  });

  it('renders only below path, and accepts a single file as path', async () => {
    const files = {
      'apps/web/a.yaml': configMap('web'),
      'apps/db/a.yaml': configMap('db'),
      'top.yaml': configMap('top'),
    };
    expect(names(await render(files, { path: './apps/web' }))).toEqual(['ConfigMap//web']);
    expect(names(await render(files, { path: 'top.yaml' }))).toEqual(['ConfigMap//top']);
  });

  it('applies include and exclude globs relative to path, exclude winning', async () => {
    const files = {
      'base/app.yaml': configMap('app'),
      'base/test/fixture.yaml': configMap('fixture'),
      'base/extra.yml': configMap('extra'),
      'base/deep/er/one.yaml': configMap('deep'),
      'other/x.yaml': configMap('other'),
    };
    expect(
      names(await render(files, { path: 'base', include: ['**/*.yaml'], exclude: ['**/test/**'] })),
    ).toEqual(['ConfigMap//app', 'ConfigMap//deep']);
    expect(names(await render(files, { path: 'base', include: ['*.y*ml'] }))).toEqual([
      'ConfigMap//app',
      'ConfigMap//extra',
    ]);
    expect(names(await render(files, { include: ['base/deep/**'] }))).toEqual(['ConfigMap//deep']);
    expect(names(await render(files, { exclude: ['base/**', 'other/[xy].yaml'], allowEmpty: true }))).toEqual(
      [],
    );
  });

  it('flattens List kinds and names list items in errors', async () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${configMap('one').replace(/\n/g, '\n  ')}\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: two}\n`;
    expect(names(await render({ 'list.yaml': list }))).toEqual(['ConfigMap//one', 'ServiceAccount//two']);
    const bad =
      'apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: ok}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {}}\n';
    await expect(render({ 'l.yaml': bad })).rejects.toThrow(
      'l.yaml (document 1, item 2): ConfigMap has no metadata.name',
    );
  });

  it('skips files that are clearly not manifests, but not manifests with a missing field', async () => {
    const objs = await render({
      'values.yaml': 'replicas: 3\nimage: nginx\n',
      'package.json': '{"name": "x", "version": "1.0.0"}',
      'list.yaml': '- a\n- b\n',
      'ok.yaml': configMap('ok'),
    });
    expect(names(objs)).toEqual(['ConfigMap//ok']);
  });

  it('skips kustomization files and chart directories inside a plain tree', async () => {
    const sub = await render(
      {
        'apps/chart/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 0.1.0\n',
        'apps/chart/templates/cm.yaml': 'metadata:\n  name: {{ .Release.Name }}\n',
        'apps/sub/kustomization.yml': 'resources: [a.yaml]\n',
        'apps/sub/a.yaml': configMap('a'),
      },
      { path: 'apps' },
    );
    expect(names(sub)).toEqual(['ConfigMap//a']);
  });
});

describe('substitution', () => {
  it('replaces known ${VAR} in string values, leaves unknown ones, and unescapes $${VAR}', async () => {
    const objs = await render(
      {
        'cm.yaml': configMap(
          'app-${CLUSTER}',
          'data:\n  a: "${CLUSTER}-${REGION}"\n  b: "$${CLUSTER}"\n  c: "${UNKNOWN} ${lower_ok}"\n  d: "$CLUSTER"\n  "${CLUSTER}": key\n  num: 5\n',
        ),
      },
      { substitute: { CLUSTER: 'prod', REGION: 'eu-1', lower_ok: 'yes' } },
    );
    expect(objs[0]!.metadata.name).toBe('app-prod');
    expect(objs[0]!['data']).toEqual({
      a: 'prod-eu-1',
      b: '${CLUSTER}',
      c: '${UNKNOWN} yes',
      d: '$CLUSTER',
      '${CLUSTER}': 'key',
      num: 5,
    });
  });

  it('substitutes before validation so a variable name is fine', async () => {
    await expect(render({ 'a.yaml': configMap('${NAME}') }, { substitute: { NAME: '' } })).rejects.toThrow(
      'a.yaml (document 1): ConfigMap has no metadata.name',
    );
  });

  it('gives aliased nodes their own copies, so editing one object does not edit another', async () => {
    const objs = await render({
      'a.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\n  labels: {a: b}\ndata: &d {k: v}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n',
      'b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: yy, labels: &l {t: "1"}}\ndata: *l\n',
    });
    const y = objs[2]!;
    expect(y['data']).toEqual({ t: '1' });
    (y['data'] as Record<string, string>)['t'] = 'changed';
    expect(y.metadata.labels).toEqual({ t: '1' });
  });

  it('reads YAML the way kubectl does: 1.1 booleans, merge keys, timestamps as strings', async () => {
    const objs = await render({
      'a.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nbase: &b {p: 1}\nspec:\n  <<: *b\n  on: yes\n  when: 2024-01-02\n',
    });
    expect(objs[0]!['spec']).toEqual({ p: 1, true: true, when: '2024-01-02' });
  });
});

describe('targetNamespace and scope', () => {
  const files = {
    'a.yaml': [
      configMap('no-ns'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: has-ns, namespace: other}\n',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr, namespace: stray}\n',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n',
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com, scope: Cluster, names: {kind: Widget, plural: widgets}, versions: []}\n',
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n',
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.example.com}\nspec: {group: example.com, scope: Namespaced, names: {kind: Gadget, plural: gadgets}, versions: []}\n',
      'apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n',
      'apiVersion: other.io/v1\nkind: Thing\nmetadata: {name: t}\n',
      'apiVersion: other.io/v1\nkind: GlobalThing\nmetadata: {name: gt}\n',
    ].join('---\n'),
  };

  it('sets the target namespace on namespaced objects without one, never on cluster-scoped ones', async () => {
    const objs = await render(files, {
      targetNamespace: 'apps',
      isClusterScoped: (apiVersion, kind) =>
        apiVersion === 'other.io/v1' && kind === 'GlobalThing' ? true : undefined,
    });
    expect(names(objs)).toEqual([
      'ConfigMap/apps/no-ns',
      'ConfigMap/other/has-ns',
      'ClusterRole//cr',
      'Namespace//ns1',
      'CustomResourceDefinition//widgets.example.com',
      'Widget//w',
      'CustomResourceDefinition//gadgets.example.com',
      'Gadget/apps/g',
      'Thing/apps/t',
      'GlobalThing//gt',
    ]);
    expect('namespace' in objs[2]!.metadata).toBe(false);
  });

  it('leaves namespaces unset without a target namespace', async () => {
    expect(names(await render({ 'a.yaml': configMap('x') }))).toEqual(['ConfigMap//x']);
  });
});

describe('validation errors', () => {
  it('names the file and line of a YAML syntax error', async () => {
    const err = await render({
      'ok.yaml': configMap('ok'),
      'dir/bad.yaml': `${configMap('x')}data:\n  a: [1, 2\n  b: 3\n`,
    }).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'ConvergeError', reason: 'RenderFailed' });
    expect((err as Error).message).toMatch(/^dir\/bad\.yaml: invalid YAML at line \d+, column \d+: /);
  });

  it('reports duplicate keys with the line', async () => {
    await expect(render({ 'd.yaml': `${configMap('x')}data: {}\ndata: {}\n` })).rejects.toThrow(
      /d\.yaml: invalid YAML at line 6, column 1: duplicated mapping key/,
    );
  });

  it('requires apiVersion, kind and metadata.name, naming file and document', async () => {
    const cases: Array<[string, string]> = [
      ['kind: ConfigMap\nmetadata: {name: x}\n', 'apiVersion is missing'],
      ['apiVersion: v1\nmetadata: {name: x}\n', 'kind is missing'],
      [
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n',
        'ConfigMap x-*: generateName is only allowed for hooks (helm.sh/hook or argocd.argoproj.io/hook)',
      ],
      ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 7}\n', 'ConfigMap has no metadata.name'],
      ['apiVersion: v1\nkind: ConfigMap\n', 'ConfigMap has no metadata'],
      [
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: ""}\n',
        'ConfigMap x: metadata.namespace must be a non-empty string',
      ],
      ['- not\n- an object\n', 'not a Kubernetes object'],
    ];
    for (const [doc, message] of cases) {
      await expect(render({ 'm.yaml': `${configMap('first')}---\n${doc}` })).rejects.toThrow(
        `m.yaml (document 2): ${message}`,
      );
    }
  });

  it('refuses the same object twice, naming both places', async () => {
    await expect(
      render({ 'a.yaml': configMap('x'), 'b/c.yaml': `${configMap('other')}---\n${configMap('x')}` }),
    ).rejects.toThrow('ConfigMap/x is defined twice: in a.yaml (document 1) and in b/c.yaml (document 2)');
    // Same name in different namespaces, or different kinds, is fine.
    const ok = await render({
      'a.yaml': `${configMap('x', '  namespace: a\n')}---\n${configMap('x', '  namespace: b\n')}---\napiVersion: v1\nkind: Secret\nmetadata: {name: x, namespace: a}\n`,
    });
    expect(ok).toHaveLength(3);
    // targetNamespace can create the clash.
    await expect(
      render(
        { 'a.yaml': `${configMap('x', '  namespace: apps\n')}---\n${configMap('x')}` },
        { targetNamespace: 'apps' },
      ),
    ).rejects.toThrow('ConfigMap/apps/x is defined twice');
  });
});

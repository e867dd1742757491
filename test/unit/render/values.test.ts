// Helm values for a chart: valuesFiles from the checkout at spec.path, valuesFrom objects, inline
// values, merged as Helm does; bad input named by field, never by value.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSourceSpecSchema, parseSpec } from '../../../src/api/index.ts';
import { helmValuesFor, mergeValues } from '../../../src/render/index.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'values-'));
  await mkdir(join(root, 'apps/ingress'), { recursive: true });
  await writeFile(
    join(root, 'apps/ingress/values.yaml'),
    'controller:\n  replicaCount: 1\n  image: {tag: v1}\nlist: [a, b]\n',
  );
  await writeFile(
    join(root, 'apps/ingress/prod.yaml'),
    'controller:\n  replicaCount: 3\nlist: [c]\ndrop: null\n',
  );
  await writeFile(join(root, 'apps/ingress/list.yaml'), '- not\n- a mapping\n');
  await writeFile(join(root, 'secret.yaml'), 'password: hunter2\n');
  await symlink('/etc/passwd', join(root, 'apps/ingress/escape.yaml'));
}, 30_000);
afterAll(() => rm(root, { recursive: true, force: true }));

const spec = (helm: Record<string, unknown>) =>
  GitSourceSpecSchema.parse({
    chart: { repository: 'https://charts.example.com', name: 'ingress' },
    path: 'apps/ingress',
    helm,
  });

const objects: Record<string, Record<string, Buffer>> = {
  'Secret/ingress-values': {
    'values.yaml': Buffer.from('controller:\n  image: {tag: v2}\n'),
    other: Buffer.from('x: 1\n'),
  },
  'ConfigMap/broken': { 'values.yaml': Buffer.from('a: [unclosed\nsecret-value-here\n') },
};
const readObject = async (kind: 'Secret' | 'ConfigMap', name: string) => objects[`${kind}/${name}`];

describe('helmValuesFor', () => {
  it('merges valuesFiles in order, then valuesFrom, then inline values', async () => {
    const values = await helmValuesFor({
      spec: spec({
        valuesFiles: ['values.yaml', 'prod.yaml'],
        valuesFrom: [
          { kind: 'Secret', name: 'ingress-values' },
          { kind: 'ConfigMap', name: 'absent', optional: true },
        ],
        values: { extra: true },
      }),
      valuesRoot: root,
      readObject,
    });
    expect(values).toEqual({
      controller: { replicaCount: 3, image: { tag: 'v2' } },
      list: ['c'],
      extra: true,
    });
  });

  it('names the field, file or key, and never the content', async () => {
    const fail = (helm: Record<string, unknown>) =>
      helmValuesFor({ spec: spec(helm), valuesRoot: root, readObject }).then(
        () => undefined,
        (e: Error) => e.message,
      );
    expect(await fail({ valuesFiles: ['missing.yaml'] })).toBe(
      'spec.helm.valuesFiles[0] (apps/ingress/missing.yaml): does not exist in the repository',
    );
    expect(await fail({ valuesFiles: ['../../secret.yaml'] })).toMatch(
      /^spec\.helm\.valuesFiles\[0\] \(apps\/ingress\/\.\.\/\.\.\/secret\.yaml\) must be relative to spec\.path, without '\.\.'/,
    );
    expect(await fail({ valuesFiles: ['escape.yaml'] })).toMatch(/resolves outside the repository/);
    expect(await fail({ valuesFiles: ['list.yaml'] })).toBe(
      'spec.helm.valuesFiles[0] (apps/ingress/list.yaml) must hold one YAML mapping of values',
    );
    expect(await fail({ valuesFrom: [{ kind: 'Secret', name: 'nope' }] })).toBe(
      'spec.helm.valuesFrom[0] (Secret nope, key values.yaml): Secret nope not found',
    );
    expect(await fail({ valuesFrom: [{ kind: 'Secret', name: 'ingress-values', key: 'prod' }] })).toBe(
      'spec.helm.valuesFrom[0] (Secret ingress-values, key prod): has no key "prod"',
    );
    const broken = await fail({ valuesFrom: [{ kind: 'ConfigMap', name: 'broken' }] });
    expect(broken).toMatch(/^spec\.helm\.valuesFrom\[0\] \(ConfigMap broken, key values\.yaml\)/);
    expect(broken).not.toContain('secret-value-here');
  });

  it('merges as Helm does: maps key by key, lists and scalars replaced, null removes', () => {
    expect(mergeValues({ a: { b: 1, c: 2 }, l: [1], d: 1 }, { a: { c: 3 }, l: [2], d: null })).toEqual({
      a: { b: 1, c: 3 },
      l: [2],
    });
  });
});

describe('spec.chart in the schema', () => {
  it('needs one of url or chart; both means values from Git; version defaults to "*"', () => {
    expect(parseSpec({ path: '.' })).toEqual({
      ok: false,
      error: 'spec.url: one of url or chart is required',
    });
    const chart = parseSpec({ chart: { repository: 's3://charts/stable', name: 'demo' } });
    expect(chart.ok && chart.spec.chart).toEqual({
      repository: 's3://charts/stable',
      name: 'demo',
      version: '*',
      passCredentials: false,
    });
    expect(
      parseSpec({
        url: 'https://git.example.com/fleet.git',
        chart: { repository: 'oci://ghcr.io/org/charts', name: 'demo' },
      }).ok,
    ).toBe(true);
    expect(parseSpec({ chart: { repository: 'ftp://charts.example.com', name: 'demo' } })).toEqual({
      ok: false,
      error: 'spec.chart.repository: must be an https://, http://, s3:// or oci:// URL',
    });
  });
});

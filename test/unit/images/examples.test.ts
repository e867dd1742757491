// examples/image-updates: valid ImagePolicies and GitSource, and markers that the setters apply.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseImagePolicySpec, parseSpec } from '../../../src/api/index.ts';
import { selectTag, updateFile } from '../../../src/images/index.ts';

const dir = join(import.meta.dirname, '..', '..', '..', 'examples', 'image-updates');
const docs = (file: string) =>
  yaml.loadAll(readFileSync(join(dir, file), 'utf8')) as Array<{ metadata: { name: string }; spec: unknown }>;

describe('examples/image-updates', () => {
  const policies = docs('imagepolicy.yaml').map((d) => {
    const parsed = parseImagePolicySpec(d.spec);
    if (!parsed.ok) throw new Error(`${d.metadata.name}: ${parsed.error}`);
    return { name: d.metadata.name, spec: parsed.spec };
  });

  it('has ImagePolicies that select what their comments say', () => {
    const [web, main] = policies;
    expect(selectTag(web!.spec, ['0.9.0', '1.0.0', '1.4.2', '2.0.0', 'latest'])).toMatchObject({
      tag: '1.4.2',
    });
    expect(
      selectTag(main!.spec, ['main-3f2a9c1-1733571234', 'main-aa11bb2-1733579999', 'pr-7-1']),
    ).toMatchObject({
      tag: 'main-aa11bb2-1733579999',
    });
  });

  it('has a valid GitSource with imageUpdates', () => {
    const parsed = parseSpec(docs('gitsource.yaml')[0]!.spec);
    expect(parsed).toMatchObject({ ok: true, spec: { imageUpdates: { author: { name: 'converge' } } } });
  });

  it.each(['repo/apps/web.yaml', 'repo/apps/settings.yaml'])('%s: every marker applies', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const r = updateFile(file, text, (name) => ({
      ok: true,
      value: {
        image: 'registry.example.com/team/web',
        tag: name === 'apps:web' ? '1.4.2' : 'main-aa11bb2-1733579999',
      },
    }));
    expect(r.problems).toEqual([]);
    expect(r.markers).toBeGreaterThan(0);
    expect(r.changes.length).toBeGreaterThan(0);
    expect(yaml.load(r.text ?? text)).toBeTruthy();
  });
});

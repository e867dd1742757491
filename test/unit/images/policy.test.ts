// Tag selection: filterTags with Go-style named groups, extract, and the three orderings.
import { describe, expect, it } from 'vitest';
import { parseImagePolicySpec, type ImagePolicySpec } from '../../../src/api/index.ts';
import { compileFilter, selectTag, translateGoRegex } from '../../../src/images/policy.ts';

const spec = (extra: Record<string, unknown>): ImagePolicySpec => {
  const r = parseImagePolicySpec({ image: 'registry.example.com/team/web', ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.spec;
};

describe('translateGoRegex', () => {
  it.each([
    ['^main-(?P<ts>[0-9]+)$', '^main-(?<ts>[0-9]+)$'],
    ['(?P<a>x)(?P=a)', '(?<a>x)\\k<a>'],
    ['\\(?P<a>x\\)', '\\(?P<a>x\\)'],
    ['\\\\(?P<a>x)', '\\\\(?<a>x)'],
    ['(?:plain)', '(?:plain)'],
  ])('%s → %s', (go, js) => expect(translateGoRegex(go)).toBe(js));
});

describe('compileFilter', () => {
  it('extracts $name, ${name} and $1 as Go does', () => {
    const f = compileFilter({ pattern: '^main-(?P<sha>[a-f0-9]+)-(?P<ts>[0-9]+)', extract: '$ts' });
    expect(f.valueOf('main-abc123-1700000000')).toBe('1700000000');
    expect(f.valueOf('dev-abc123-1')).toBeUndefined();
    expect(compileFilter({ pattern: '^v(?P<v>.*)$', extract: '${v}-x' }).valueOf('v1.2')).toBe('1.2-x');
    expect(compileFilter({ pattern: '^v(.*)$', extract: '$1' }).valueOf('v9')).toBe('9');
  });

  it('names a bad pattern and an extract of a group that does not exist', () => {
    expect(() => compileFilter({ pattern: '^main-(?P<ts>[0-9+' })).toThrow(
      /spec.filterTags.pattern "\^main-\(\?P<ts>\[0-9\+" is not a valid regular expression/,
    );
    expect(() => compileFilter({ pattern: '^(?P<ts>[0-9]+)$', extract: '$build' })).toThrow(
      /extract names group "build", which spec.filterTags.pattern does not define/,
    );
  });
});

describe('selectTag', () => {
  const tags = ['1.0.0', 'v1.4.2', '1.10.0-rc.1', '2.0.0', 'latest', '1.9.9'];

  it('semver: the highest in range, keeping the tag as written', () => {
    expect(selectTag(spec({ policy: { semver: { range: '>=1.0.0 <2.0.0' } } }), tags)).toEqual({
      ok: true,
      tag: '1.9.9',
      matched: 3,
    });
    expect(selectTag(spec({ policy: { semver: { range: '~1.4' } } }), tags)).toMatchObject({ tag: 'v1.4.2' });
    expect(selectTag(spec({ policy: { semver: { range: '>=1.10.0-rc.0 <2' } } }), tags)).toMatchObject({
      tag: '1.10.0-rc.1',
    });
  });

  it('says how many tags were seen when none matches', () => {
    const r = selectTag(spec({ policy: { semver: { range: '>=3' } } }), tags);
    expect(r).toEqual({
      ok: false,
      reason: 'NoMatchingTag',
      message:
        'no tag of registry.example.com/team/web is a semantic version in range ">=3" (the registry listed 6 tags)',
    });
    const filtered = selectTag(spec({ policy: { alphabetical: {} }, filterTags: { pattern: '^main-' } }), [
      'a',
      'b',
    ]);
    expect(filtered).toMatchObject({ ok: false, reason: 'NoMatchingTag' });
    expect(!filtered.ok && filtered.message).toMatch(
      /listed 2 tags, 0 matching spec.filterTags.pattern "\^main-"/,
    );
    expect(selectTag(spec({ policy: { alphabetical: {} } }), [])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no tag of .* exists \(the registry listed 0 tags\)/),
    });
  });

  it('numerical on an extracted timestamp, asc picks the highest and desc the lowest', () => {
    const s = (order: string) =>
      spec({
        policy: { numerical: { order } },
        filterTags: { pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)', extract: '$ts' },
      });
    const list = ['main-aaa-900', 'main-bbb-1000', 'main-ccc-99', 'pr-1-5000', 'latest'];
    expect(selectTag(s('asc'), list)).toEqual({ ok: true, tag: 'main-bbb-1000', matched: 3 });
    expect(selectTag(s('desc'), list)).toMatchObject({ tag: 'main-ccc-99' });
  });

  it('alphabetical compares bytes, asc by default', () => {
    const list = ['2024-01-02', '2024-01-10', '2023-12-31'];
    expect(selectTag(spec({ policy: { alphabetical: {} } }), list)).toMatchObject({ tag: '2024-01-10' });
    expect(selectTag(spec({ policy: { alphabetical: { order: 'desc' } } }), list)).toMatchObject({
      tag: '2023-12-31',
    });
  });

  it('reports a bad regex or range as InvalidSpec, not as no match', () => {
    expect(
      selectTag(spec({ policy: { alphabetical: {} }, filterTags: { pattern: '(' } }), ['a']),
    ).toMatchObject({ ok: false, reason: 'InvalidSpec' });
    expect(selectTag(spec({ policy: { semver: { range: 'not a range!' } } }), ['1.0.0'])).toMatchObject({
      ok: false,
      reason: 'InvalidSpec',
      message: 'spec.policy.semver.range "not a range!" is not a valid semver range',
    });
  });
});

describe('parseImagePolicySpec', () => {
  it('needs exactly one policy and an image without tag', () => {
    expect(parseImagePolicySpec({ image: 'r.example/web', policy: {} })).toMatchObject({ ok: false });
    expect(
      parseImagePolicySpec({
        image: 'r.example/web',
        policy: { semver: { range: '1' }, alphabetical: {} },
      }),
    ).toMatchObject({ ok: false });
    expect(parseImagePolicySpec({ image: 'r.example/web:1.0', policy: { alphabetical: {} } })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^spec.image: must be an image name without tag/),
    });
    expect(
      parseImagePolicySpec({ image: '127.0.0.1:5000/team/web', policy: { alphabetical: {} } }),
    ).toMatchObject({
      ok: true,
      spec: { interval: '1m', insecure: false, policy: { alphabetical: { order: 'asc' } } },
    });
  });
});

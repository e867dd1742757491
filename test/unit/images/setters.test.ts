// Marker rewriting: only the marked scalars' bytes change; every problem names its line.
import { describe, expect, it } from 'vitest';
import { markerPolicies, updateFile, type PolicyLookup } from '../../../src/images/setters.ts';

const policies: Record<string, PolicyLookup> = {
  'apps:web': {
    ok: true,
    value: { image: 'registry.example.com/team/web', tag: '1.4.2', digest: `sha256:${'a'.repeat(64)}` },
  },
  'apps:api': { ok: true, value: { image: 'registry.example.com/team/api', tag: 'main-abc-1700' } },
};
const lookup = (name: string): PolicyLookup =>
  policies[name] ?? { ok: false, error: `ImagePolicy ${name} not found` };

describe('updateFile', () => {
  it('rewrites the marked fields and keeps every other byte (comments, order, quoting, indentation)', () => {
    const text = [
      '# the web app',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web}   # flow style stays',
      'spec:',
      '    template:',
      '        spec:',
      '            containers:',
      '              - name: web',
      '                image: registry.example.com/team/web:1.0.0 # {"$imagepolicy": "apps:web"}',
      '              - name: api   # keep me',
      '                image: \'registry.example.com/team/api:main-old-1\'  #   {"$imagepolicy": "apps:api"}',
      '---',
      'values:',
      '  tag: "1.0.0" # {"$imagepolicy": "apps:web:tag"}',
      '  repo: other # {"$imagepolicy": "apps:web:name"}',
      '  digest: none # {"$imagepolicy": "apps:web:digest"}',
      '  untouched: 1.0.0',
      '',
    ].join('\n');
    const r = updateFile('apps/web.yaml', text, lookup);
    expect(r.problems).toEqual([]);
    expect(r.markers).toBe(5);
    const expected = text
      .replace('team/web:1.0.0 #', 'team/web:1.4.2 #')
      .replace("'registry.example.com/team/api:main-old-1'", "'registry.example.com/team/api:main-abc-1700'")
      .replace('tag: "1.0.0"', 'tag: "1.4.2"')
      .replace('repo: other', 'repo: registry.example.com/team/web')
      .replace('digest: none', `digest: sha256:${'a'.repeat(64)}`);
    expect(r.text).toBe(expected);
    expect(r.changes.map((c) => [c.line, c.old, c.new])).toEqual([
      [10, 'registry.example.com/team/web:1.0.0', 'registry.example.com/team/web:1.4.2'],
      [12, 'registry.example.com/team/api:main-old-1', 'registry.example.com/team/api:main-abc-1700'],
      [15, '1.0.0', '1.4.2'],
      [16, 'other', 'registry.example.com/team/web'],
      [17, 'none', `sha256:${'a'.repeat(64)}`],
    ]);
  });

  it('changes nothing when every marker is up to date, and ignores files without markers', () => {
    const text = 'image: registry.example.com/team/web:1.4.2 # {"$imagepolicy": "apps:web"}\n';
    expect(updateFile('a.yaml', text, lookup)).toEqual({
      text: undefined,
      changes: [],
      problems: [],
      markers: 1,
    });
    expect(updateFile('b.yaml', '{{ not yaml }}: [', lookup)).toEqual({
      text: undefined,
      changes: [],
      problems: [],
      markers: 0,
    });
  });

  it('reports a missing policy, a non-string, a collection and a bad marker by line; the rest still applies', () => {
    const text = [
      'a: x:1 # {"$imagepolicy": "apps:gone"}',
      'replicas: 3 # {"$imagepolicy": "apps:web:tag"}',
      'spec: # {"$imagepolicy": "apps:web"}',
      '  b: 1',
      'c: y # {"$imagepolicy": "nonamespace"}',
      'd: y # {"$imagepolicy": "apps:web:sha"}',
      'e: y # {"$imagepolicy": apps:web}',
      'f: old # {"$imagepolicy": "apps:web:tag"}',
      'g: |  # {"$imagepolicy": "apps:web:tag"}',
      '  text',
      'h: null # {"$imagepolicy": "apps:web:tag"}',
      '# {"$imagepolicy": "apps:web"} in a comment block is no marker',
      '',
    ].join('\n');
    const r = updateFile('f.yaml', text, lookup);
    expect(r.problems.map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([
      'f.yaml:1: ImagePolicy apps:gone not found',
      'f.yaml:2: marker "apps:web" is on a number value (3), not a string: quote it',
      'f.yaml:3: marker "apps:web" is on a key whose value is a map or list, not a string',
      'f.yaml:5: marker "nonamespace" must be "<namespace>:<policy>", optionally with :tag, :name or :digest',
      'f.yaml:6: marker "apps:web:sha": unknown suffix ":sha" (use :tag, :name or :digest)',
      'f.yaml:7: marker {"$imagepolicy": apps:web} is not valid JSON',
      'f.yaml:9: marker "apps:web" is on a block scalar (| or >): use a one-line value',
      'f.yaml:11: marker "apps:web" is on a null value (null), not a string: quote it',
    ]);
    expect(r.changes).toEqual([{ file: 'f.yaml', line: 8, policy: 'apps:web', old: 'old', new: '1.4.2' }]);
    expect(r.text).toBe(text.replace('f: old #', 'f: 1.4.2 #'));
  });

  it('reports a file that is not YAML by line and changes nothing in it', () => {
    const text = 'a: b # {"$imagepolicy": "apps:web"}\nb: [unclosed\nc: d\n';
    const r = updateFile('bad.yaml', text, lookup);
    expect(r.text).toBeUndefined();
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({
      file: 'bad.yaml',
      message: expect.stringMatching(/^not valid YAML/),
    });
    expect(r.problems[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('quotes a plain value only when the new one would not read back as the same string', () => {
    const weird: Record<string, PolicyLookup> = {
      'apps:n': { ok: true, value: { image: 'r/x', tag: '1e3' } },
      'apps:b': { ok: true, value: { image: 'r/x', tag: 'true' } },
      'apps:s': { ok: true, value: { image: 'r/x', tag: "it's" } },
    };
    const text = [
      'a: v1 # {"$imagepolicy": "apps:n:tag"}',
      'b: v1 # {"$imagepolicy": "apps:b:tag"}',
      'c: \'v1\' # {"$imagepolicy": "apps:s:tag"}',
      '',
    ].join('\n');
    const r = updateFile('q.yaml', text, (n) => weird[n]!);
    expect(r.text).toBe(
      [
        'a: "1e3" # {"$imagepolicy": "apps:n:tag"}',
        'b: "true" # {"$imagepolicy": "apps:b:tag"}',
        'c: \'it\'\'s\' # {"$imagepolicy": "apps:s:tag"}',
        '',
      ].join('\n'),
    );
  });

  it('keeps CRLF line ends and a file without a final newline', () => {
    const text = 'a: 1\r\nimage: r/x:1 # {"$imagepolicy": "apps:web"}\r\nb: 2';
    const r = updateFile('crlf.yaml', text, () => ({ ok: true, value: { image: 'r/x', tag: '2' } }));
    expect(r.text).toBe('a: 1\r\nimage: r/x:2 # {"$imagepolicy": "apps:web"}\r\nb: 2');
  });
});

describe('markerPolicies', () => {
  it('lists each policy once', () => {
    expect(
      markerPolicies(
        'a: 1 # {"$imagepolicy": "ns:p"}\nb: 2 # {"$imagepolicy": "ns:p:tag"}\nc: 3 # {"$imagepolicy": "o:q"}\n',
      ),
    ).toEqual(['ns:p', 'o:q']);
  });
});

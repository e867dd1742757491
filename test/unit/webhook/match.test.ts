// Which GitSources a push wakes: same repository; the followed branch, any tag for tag/semver, never a commit.
import { describe, expect, it } from 'vitest';
import type { GitSource } from '../../../src/api/index.ts';
import { affectedSources, pushedImages, type PushEvent } from '../../../src/webhook/index.ts';

function gs(name: string, spec: Partial<GitSource['spec']>, namespace = 'apps'): GitSource {
  return {
    apiVersion: 'gitops.converge.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { url: 'https://github.com/org/fleet.git', ...spec } as GitSource['spec'],
  };
}

const sources = [
  gs('default-main', {}),
  gs('main', { ref: { branch: 'main' } }),
  gs('dev', { ref: { branch: 'dev' } }),
  gs('ssh-main', { url: 'git@github.com:org/fleet.git' }),
  gs('sshurl-main', { url: 'ssh://git@github.com/Org/Fleet' }),
  gs('tag', { ref: { tag: 'v1.0.0' } }),
  gs('semver', { ref: { semver: '>=1.0.0' } }),
  gs('commit', { ref: { commit: 'a'.repeat(40) } }),
  gs('other-repo', { url: 'https://github.com/org/other.git' }),
  gs('suspended', { suspend: true }),
  gs('tenant', {}, 'team-a'),
];

const names = (push: PushEvent, inScope?: (ns: string) => boolean) =>
  affectedSources(push, sources, inScope)
    .map((s) => s.metadata.name)
    .sort();

describe('affectedSources', () => {
  const urls = [
    'https://github.com/org/fleet.git',
    'git@github.com:org/fleet.git',
    'https://github.com/org/fleet',
  ];

  it.each<[string, PushEvent, string[]]>([
    [
      'a push to main wakes every main follower, whatever URL form it uses',
      { repoUrls: urls, refs: [{ kind: 'branch', name: 'main', commit: 'b'.repeat(40) }] },
      ['default-main', 'main', 'ssh-main', 'sshurl-main', 'tenant'],
    ],
    ['a push to dev wakes only dev', { repoUrls: urls, refs: [{ kind: 'branch', name: 'dev' }] }, ['dev']],
    [
      'a tag push wakes tag and semver sources',
      { repoUrls: urls, refs: [{ kind: 'tag', name: 'v2.0.0' }] },
      ['semver', 'tag'],
    ],
    [
      'a push of several refs wakes the union',
      {
        repoUrls: urls,
        refs: [
          { kind: 'branch', name: 'dev' },
          { kind: 'tag', name: 'v1.0.0' },
        ],
      },
      ['dev', 'semver', 'tag'],
    ],
    [
      'a push without a ref (generic) wakes all but pinned commits',
      { repoUrls: ['https://github.com/org/fleet'], refs: [] },
      ['default-main', 'dev', 'main', 'semver', 'ssh-main', 'sshurl-main', 'tag', 'tenant'],
    ],
    [
      'another repository wakes nothing here',
      { repoUrls: ['https://github.com/org/fleet2.git'], refs: [{ kind: 'branch', name: 'main' }] },
      [],
    ],
    ['unparseable URLs wake nothing', { repoUrls: ['???'], refs: [{ kind: 'branch', name: 'main' }] }, []],
    [
      'a branch named like a tag is still a branch',
      { repoUrls: urls, refs: [{ kind: 'branch', name: 'v1.0.0' }] },
      [],
    ],
  ])('%s', (_title, push, expected) => {
    expect(names(push)).toEqual(expected);
  });

  it('limits a namespaced secret to its namespace', () => {
    const push: PushEvent = { repoUrls: urls, refs: [{ kind: 'branch', name: 'main' }] };
    expect(names(push, (ns) => ns === 'team-a')).toEqual(['tenant']);
    expect(names(push, () => false)).toEqual([]);
  });
});

describe('pushedImages', () => {
  it('names the images of a registry push (oci:// URLs) for ImagePolicies, and nothing for Git pushes', () => {
    expect(
      pushedImages({
        repoUrls: ['oci://registry.example.com:5000/team/web', 'https://git.example.com/org/fleet.git'],
        refs: [{ kind: 'tag', name: '1.2.3' }],
      }),
    ).toEqual(['registry.example.com:5000/team/web']);
    expect(pushedImages({ repoUrls: ['https://git.example.com/org/fleet.git'], refs: [] })).toEqual([]);
  });
});

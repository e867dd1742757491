// Repository names from GitSource URLs in every form the GitSource accepts.
import { describe, expect, it } from 'vitest';
import { parseRepository } from '../../../src/notify/index.ts';

describe('parseRepository', () => {
  it.each([
    [
      'https://github.com/org/fleet.git',
      { host: 'github.com', owner: 'org', name: 'fleet', scheme: 'https' },
    ],
    ['https://github.com/org/fleet', { host: 'github.com', owner: 'org', name: 'fleet' }],
    [
      'http://127.0.0.1:3000/org/fleet.git',
      { host: '127.0.0.1:3000', owner: 'org', name: 'fleet', scheme: 'http' },
    ],
    ['git@github.com:org/fleet.git', { host: 'github.com', owner: 'org', name: 'fleet' }],
    [
      'ssh://git@gitlab.example.com:2222/group/sub/fleet.git',
      { host: 'gitlab.example.com', owner: 'group/sub', name: 'fleet' },
    ],
    ['https://bitbucket.example.com/scm/proj/fleet.git', { owner: 'proj', name: 'fleet' }],
    ['https://user@bitbucket.org/team/fleet.git', { host: 'bitbucket.org', owner: 'team', name: 'fleet' }],
  ])('%s', (url, want) => {
    expect(parseRepository(url)).toMatchObject(want);
  });

  it('a URL without owner and name, or not a URL, gives undefined', () => {
    expect(parseRepository('https://example.com/fleet.git')).toBeUndefined();
    expect(parseRepository('file:///tmp/fleet.git')).toBeUndefined();
    expect(parseRepository('not a url')).toBeUndefined();
  });
});

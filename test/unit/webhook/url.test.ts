// Repository URL normalisation: every spelling of one repository gives one key, others differ.
import { describe, expect, it } from 'vitest';
import { normaliseRepoUrl } from '../../../src/webhook/index.ts';

describe('normaliseRepoUrl', () => {
  it.each([
    ['https://github.com/org/fleet.git', 'github.com/org/fleet'],
    ['https://github.com/org/fleet', 'github.com/org/fleet'],
    ['https://github.com/org/fleet/', 'github.com/org/fleet'],
    ['https://github.com/org/fleet.git/', 'github.com/org/fleet'],
    ['https://GitHub.COM/Org/Fleet.GIT', 'github.com/org/fleet'],
    ['https://github.com:443/org/fleet.git', 'github.com/org/fleet'],
    ['http://github.com:80/org/fleet', 'github.com/org/fleet'],
    ['https://user:s3cret@github.com/org/fleet.git', 'github.com/org/fleet'],
    ['https://x-access-token@github.com/org/fleet.git?ref=main#frag', 'github.com/org/fleet'],
    ['git@github.com:org/fleet.git', 'github.com/org/fleet'],
    ['github.com:org/fleet', 'github.com/org/fleet'],
    ['ssh://git@github.com/org/fleet.git', 'github.com/org/fleet'],
    ['ssh://git@github.com:22/org/fleet.git', 'github.com/org/fleet'],
    ['git+ssh://git@github.com/org/fleet.git', 'github.com/org/fleet'],
    ['git://github.com/org/fleet.git', 'github.com/org/fleet'],
    ['  https://github.com//org//fleet.git  ', 'github.com/org/fleet'],
    // Non-default ports are part of the server's identity.
    ['ssh://git@bitbucket.example.com:7999/proj/repo.git', 'bitbucket.example.com:7999/proj/repo'],
    ['https://git.example.com:8443/group/sub/repo.git', 'git.example.com:8443/group/sub/repo'],
    ['http://127.0.0.1:37411/app.git', '127.0.0.1:37411/app'],
    ['git@[::1]:org/fleet.git', '[::1]/org/fleet'],
    ['file:///srv/git/fleet.git', 'file:/srv/git/fleet'],
  ])('%s → %s', (url, key) => {
    expect(normaliseRepoUrl(url)).toBe(key);
  });

  it('keeps different repositories apart', () => {
    const keys = [
      'https://github.com/org/fleet.git',
      'https://github.com/org/fleet-prod.git',
      'https://github.com/other/fleet.git',
      'https://gitlab.com/org/fleet.git',
      'ssh://git@github.com:2222/org/fleet.git',
      'https://github.com/org/fleet/sub',
    ].map(normaliseRepoUrl);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each([
    '',
    '   ',
    'not a url',
    'https://',
    'https://github.com',
    'https://github.com/',
    'git@github.com:',
    '/just/a/path',
  ])('rejects %j', (url) => {
    expect(normaliseRepoUrl(url)).toBeUndefined();
  });
});

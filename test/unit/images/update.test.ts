// Which spellings of a repository URL are one repository (image updates to it are serialised).
import { describe, expect, it } from 'vitest';
import { repositoryKey } from '../../../src/images/update.ts';

describe('repositoryKey', () => {
  it('ignores scheme and host case, userinfo, a trailing slash and .git', () => {
    const key = repositoryKey('https://git.example.com/org/fleet.git');
    expect(repositoryKey('HTTPS://Git.Example.com/org/fleet')).toBe(key);
    expect(repositoryKey('https://bot@git.example.com/org/fleet/')).toBe(key);
    expect(repositoryKey('https://git.example.com/org/other.git')).not.toBe(key);
    expect(repositoryKey('https://git.example.com/Org/fleet.git')).not.toBe(key);
  });
});

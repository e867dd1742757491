// Pure checks that run before git: URLs, refs, semver choice, secret parsing and redaction.
import { describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { credentialsFromSecret, redact } from '../../../../src/source/git/index.ts';
import { formatRevision, highestMatchingTag, parseLsRemote } from '../../../../src/source/git/refs.ts';
import { checkRef, checkUrl } from '../../../../src/source/git/validate.ts';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ConvergeError ? err.reason : `not a ConvergeError: ${String(err)}`;
  }
  return undefined;
}

describe('checkUrl', () => {
  it.each([
    ['https://git.example.com/org/fleet.git', 'https'],
    ['http://127.0.0.1:8080/fleet.git', 'http'],
    ['ssh://git@git.example.com:2222/org/fleet.git', 'ssh'],
    ['git@github.com:org/fleet.git', 'ssh'],
  ])('accepts %s as %s', (url, transport) => {
    expect(checkUrl(url, false)).toBe(transport);
  });

  it.each([
    '--upload-pack=touch /tmp/pwned',
    '-uhttps://example.com/x',
    'ext::sh -c touch% /tmp/pwned',
    'ssh://-oProxyCommand=touch%20/tmp/pwned/repo',
    'git@-oProxyCommand=x:repo',
    '-oProxyCommand=x@host:repo',
    'https://user:hunter2@example.com/x.git',
    'file:///etc',
    'ftp://example.com/x.git',
    'https://example.com/x.git\nfoo',
    'https://example.com/a b.git',
    'fd::17',
    '/srv/git/repo.git',
    '',
  ])('rejects %j as InvalidSpec', (url) => {
    expect(reasonOf(() => checkUrl(url, false))).toBe('InvalidSpec');
  });

  it('accepts file:// only when allowed', () => {
    expect(checkUrl('file:///srv/repo.git', true)).toBe('file');
  });

  it('never echoes an embedded password', () => {
    try {
      checkUrl('https://user:hunter2@example.com/x.git', false);
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });
});

describe('checkRef', () => {
  it('defaults to branch main', () => {
    expect(checkRef(undefined)).toEqual({ kind: 'branch', name: 'main' });
    expect(checkRef({})).toEqual({ kind: 'branch', name: 'main' });
  });

  it('accepts each kind', () => {
    expect(checkRef({ branch: 'release/1.x' })).toEqual({ kind: 'branch', name: 'release/1.x' });
    expect(checkRef({ tag: 'v1.2.0' })).toEqual({ kind: 'tag', name: 'v1.2.0' });
    expect(checkRef({ semver: '>=1.2.0 <2.0.0' })).toEqual({ kind: 'semver', range: '>=1.2.0 <2.0.0' });
    expect(checkRef({ commit: 'a'.repeat(40) })).toEqual({ kind: 'commit', sha: 'a'.repeat(40) });
  });

  it.each([
    { branch: '--upload-pack=x' },
    { branch: '-main' },
    { tag: '-v1' },
    { branch: 'a..b' },
    { branch: 'main\nx' },
    { branch: 'ma in' },
    { branch: 'x.lock' },
    { branch: 'feature/' },
    { branch: 'HEAD@{1}' },
    { tag: 'v1^{}' },
    { semver: 'not a range' },
    { commit: 'HEAD' },
    { commit: 'A'.repeat(40) },
    { branch: 'main', tag: 'v1' },
  ])('rejects %j as InvalidSpec', (ref) => {
    expect(reasonOf(() => checkRef(ref))).toBe('InvalidSpec');
  });
});

describe('semver selection', () => {
  const refs = ['1.9.0', 'v1.10.0', '2.0.0-rc.1', 'latest', 'v1.2', '1.10.0-beta.1'].map(
    (t) => `refs/tags/${t}`,
  );

  it('picks the highest match, 1.10.0 over 1.9.0, v prefix allowed', () => {
    expect(highestMatchingTag('>=1.0.0', refs)).toBe('v1.10.0');
    expect(highestMatchingTag('~1.9', refs)).toBe('1.9.0');
  });

  it('skips prereleases unless the range asks for them', () => {
    expect(highestMatchingTag('>=1.0.0', refs)).toBe('v1.10.0');
    expect(highestMatchingTag('>=2.0.0-rc.0', refs)).toBe('2.0.0-rc.1');
  });

  it('returns undefined when nothing matches', () => {
    expect(highestMatchingTag('>=3.0.0', refs)).toBeUndefined();
  });
});

describe('parseLsRemote', () => {
  it('peels annotated tags to their commit', () => {
    const a = 'a'.repeat(40);
    const t = 'b'.repeat(40);
    const refs = parseLsRemote(`${t}\trefs/tags/v1\n${a}\trefs/tags/v1^{}\n${a}\trefs/heads/main\n`);
    expect(refs.get('refs/tags/v1')).toBe(a);
    expect(refs.get('refs/heads/main')).toBe(a);
  });

  it('formats revisions as Flux does', () => {
    expect(formatRevision('main', 'a'.repeat(40))).toBe(`main@sha1:${'a'.repeat(40)}`);
    expect(formatRevision(undefined, 'a'.repeat(40))).toBe(`sha1:${'a'.repeat(40)}`);
  });
});

describe('credentialsFromSecret', () => {
  it('reads each kind from Buffers or strings', () => {
    expect(
      credentialsFromSecret({ username: Buffer.from('u'), password: Buffer.from('p') }, 's').basic,
    ).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(credentialsFromSecret({ bearerToken: 'tok\n' }, 's').bearerToken).toBe('tok');
    expect(
      credentialsFromSecret({ identity: 'KEY', known_hosts: 'host ssh-ed25519 AAAA' }, 's').ssh,
    ).toBeDefined();
  });

  it.each([
    [{ username: 'u' }, '"password"'],
    [{ password: 'p' }, '"username"'],
    [{ identity: 'KEY' }, '"known_hosts"'],
    [{ known_hosts: 'x' }, '"identity"'],
    [{ other: 'x' }, 'none of the keys'],
  ])('names the missing key for %j', (data, missing) => {
    try {
      credentialsFromSecret(data, 'git-auth');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConvergeError);
      expect((err as ConvergeError).reason).toBe('InvalidSpec');
      expect((err as ConvergeError).message).toContain(missing);
      expect((err as ConvergeError).message).toContain('git-auth');
    }
  });
});

describe('redact', () => {
  it('removes known secrets and credential-shaped text', () => {
    const text = [
      'fatal: unable to access https://bob:hunter2@example.com/x.git/',
      'https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/x',
      'Authorization: Basic Ym9iOmh1bnRlcjI=',
      'sent bearer abcdefghijklmnop',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt\n-----END OPENSSH PRIVATE KEY-----',
      'the value was s3cr3t-value',
    ].join('\n');
    const out = redact(text, ['s3cr3t-value']);
    for (const secret of [
      'hunter2',
      'ghp_abc',
      'Ym9iOmh1bnRlcjI',
      'abcdefghijklmnop',
      'b3BlbnNzaC1rZXkt',
      's3cr3t-value',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('example.com/x.git');
  });

  it('keeps ssh user names, which are not secrets', () => {
    expect(redact('ssh://git@example.com/x.git')).toBe('ssh://git@example.com/x.git');
  });
});

// Who may read the status page: token from header or cookie, constant-time comparison, a rotated
// token file, and loopback-only Host names when no token is set.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopbackHost, presentedToken, TokenFile, tokensEqual } from '../../../src/ui/auth.ts';

const dir = mkdtempSync(join(tmpdir(), 'ui-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('presentedToken', () => {
  it.each([
    [{ authorization: 'Bearer abc.def' }, 'abc.def'],
    [{ authorization: 'bearer   abc ' }, 'abc'],
    [{ authorization: 'Basic dTpw' }, undefined],
    [{ cookie: 'a=1; converge-ui-token=t%3Dk%20n; b=2' }, 't=k n'],
    [{ cookie: 'converge-ui-token=%E0%A4%A' }, undefined],
    [{}, undefined],
  ])('%j → %s', (headers, token) => {
    expect(presentedToken(headers)).toBe(token);
  });
});

describe('tokensEqual', () => {
  it('compares content, whatever the lengths', () => {
    expect(tokensEqual('secret-token-123456', 'secret-token-123456')).toBe(true);
    expect(tokensEqual('secret-token-123457', 'secret-token-123456')).toBe(false);
    expect(tokensEqual('s', 'secret-token-123456')).toBe(false);
    expect(tokensEqual('', 'secret-token-123456')).toBe(false);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost:9090', true],
    ['LOCALHOST', true],
    ['127.0.0.1:9090', true],
    ['127.1.2.3', true],
    ['[::1]:9090', true],
    ['app.localhost:9090', true],
    ['evil.example:9090', false],
    ['127.0.0.1.evil.example', false],
    ['localhost.evil.example', false],
    ['10.0.0.5:9090', false],
    [undefined, false],
  ])('%s → %s', (host, ok) => {
    expect(isLoopbackHost(host)).toBe(ok);
  });
});

describe('TokenFile', () => {
  it('accepts the token in the file (trimmed) and follows a rotation after the recheck period', () => {
    const path = join(dir, 'token');
    writeFileSync(path, 'first-token-0123456789\n');
    let now = 1_000_000;
    const file = new TokenFile(path, () => now, 10_000);
    expect(file.accepts('first-token-0123456789')).toBe(true);
    expect(file.accepts('first-token-012345678')).toBe(false);
    expect(file.accepts(undefined)).toBe(false);
    writeFileSync(path, 'second-token-0123456789');
    utimesSync(path, new Date(), new Date(Date.now() + 5_000));
    expect(file.accepts('first-token-0123456789'), 'not rechecked yet').toBe(true);
    now += 10_000;
    expect(file.accepts('second-token-0123456789')).toBe(true);
    expect(file.accepts('first-token-0123456789')).toBe(false);
    rmSync(path);
    now += 10_000;
    expect(file.accepts('second-token-0123456789'), 'keeps the last good token').toBe(true);
  });

  it('names the file, never its content, when it is missing or too short', () => {
    expect(() => new TokenFile(join(dir, 'missing'))).toThrow(
      /--ui-token-file .*missing: cannot read it \(ENOENT\)/,
    );
    const short = join(dir, 'short');
    writeFileSync(short, 'tiny-secret');
    expect(() => new TokenFile(short)).toThrow(/at least 16 characters \(it has 11\)/);
    expect(() => new TokenFile(short)).not.toThrow(/tiny-secret/);
  });
});

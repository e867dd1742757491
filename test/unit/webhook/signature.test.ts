// Signature checks: exact HMAC-SHA256 hex (prefix, case), constant-time shape, GitLab token.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { secretBytes, signBody, verifyHmacSha256, verifyToken } from '../../../src/webhook/index.ts';

const body = Buffer.from('{"ref":"refs/heads/main"}');
const secret = Buffer.from('s3cret');
const hex = createHmac('sha256', secret).update(body).digest('hex');

describe('verifyHmacSha256', () => {
  it.each<[string | undefined, string, boolean]>([
    [`sha256=${hex}`, 'sha256=', true],
    [`sha256=${hex.toUpperCase()}`, 'sha256=', true],
    [hex, '', true],
    [hex, 'sha256=', false],
    [`sha1=${hex}`, 'sha256=', false],
    [`sha256=${hex.slice(0, 63)}`, 'sha256=', false],
    [`sha256=${hex}00`, 'sha256=', false],
    [`sha256=${hex.slice(0, 63)}g`, 'sha256=', false],
    ['', 'sha256=', false],
    [undefined, 'sha256=', false],
  ])('%j with prefix %j → %s', (given, prefix, ok) => {
    expect(verifyHmacSha256(body, secret, given, prefix)).toBe(ok);
  });

  it('signBody produces what verify accepts', () => {
    expect(verifyHmacSha256(body, secret, signBody(body, secret), 'sha256=')).toBe(true);
  });
});

describe('verifyToken', () => {
  it('accepts only the exact token', () => {
    expect(verifyToken(secret, 's3cret')).toBe(true);
    expect(verifyToken(secret, 's3cret ')).toBe(false);
    expect(verifyToken(secret, 's3cre')).toBe(false);
    expect(verifyToken(secret, '')).toBe(false);
    expect(verifyToken(secret, undefined)).toBe(false);
  });
});

describe('secretBytes', () => {
  it('drops trailing newlines; empty means no secret', () => {
    expect(secretBytes(Buffer.from('abc\r\n\n'))?.toString()).toBe('abc');
    expect(secretBytes(Buffer.from(' abc '))?.toString()).toBe(' abc ');
    expect(secretBytes(Buffer.from('\n'))).toBeUndefined();
  });
});

// Constant-time checks of what a sender proves it knows: an HMAC-SHA256 of the raw body, or the token itself.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * True when `given` is the hex HMAC-SHA256 of `body` under `secret` (after an optional `prefix`,
 * e.g. `sha256=`). The comparison runs over two 32-byte buffers whatever `given` holds, so its
 * time says nothing about how much of a guess was right.
 */
export function verifyHmacSha256(
  body: Buffer,
  secret: Buffer,
  given: string | undefined,
  prefix = '',
): boolean {
  const expected = createHmac('sha256', secret).update(body).digest();
  let hex = given?.trim() ?? '';
  const wellFormed = hex.toLowerCase().startsWith(prefix) && SHA256_HEX.test(hex.slice(prefix.length));
  hex = wellFormed ? hex.slice(prefix.length) : '0'.repeat(64);
  const equal = timingSafeEqual(expected, Buffer.from(hex, 'hex'));
  return wellFormed && equal;
}

/** True when `given` equals `secret` (GitLab's X-Gitlab-Token); both hashed first so lengths match. */
export function verifyToken(secret: Buffer, given: string | undefined): boolean {
  const a = createHash('sha256').update(secret).digest();
  const b = createHash('sha256')
    .update(given ?? '')
    .digest();
  return timingSafeEqual(a, b) && given !== undefined && given.length > 0;
}

/** The signature a sender computes (`sha256=<hex>`), for clients, tests and the benchmark. */
export function signBody(body: string | Buffer, secret: string | Buffer, prefix = 'sha256='): string {
  return `${prefix}${createHmac('sha256', secret).update(body).digest('hex')}`;
}

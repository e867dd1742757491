// Who may read the status page: a bearer token (header or cookie) compared in constant time when
// one is configured; without one, only requests addressed to loopback (as kubectl port-forward sends them).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const TOKEN_COOKIE = 'converge-ui-token';

/** The token a request presents: `Authorization: Bearer …`, else the cookie the sign-in form sets. */
export function presentedToken(headers: {
  authorization?: string | undefined;
  cookie?: string | undefined;
}): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (bearer) return bearer[1];
  for (const part of (headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name !== TOKEN_COOKIE) continue;
    try {
      return decodeURIComponent(rest.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Equal-length digests, so neither the content nor the length of the token leaks through timing. */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Host header names a loopback address (localhost, 127.0.0.0/8, [::1]). Without a token this is
 * required, so a web page that rebinds its own DNS name to 127.0.0.1 cannot read a port-forward.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host
    .toLowerCase()
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '');
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}

/**
 * The expected token, read from a file (a mounted Secret); re-read when the file changes, checked
 * at most every `recheckMs`, so a rotated Secret takes effect without a restart.
 */
export class TokenFile {
  private token = '';
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(
    private readonly path: string,
    private readonly now: () => number = Date.now,
    private readonly recheckMs = 10_000,
  ) {
    this.load();
  }

  private load(): void {
    let text: string;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.path).mtimeMs;
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      // A flag error, like the ones parseRunOptions throws; the message never holds the file's content.
      throw new Error(
        `--ui-token-file ${this.path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: err },
      );
    }
    const token = text.trim();
    if (token.length < 16) {
      throw new Error(
        `--ui-token-file ${this.path}: the token must be at least 16 characters (it has ${token.length})`,
      );
    }
    this.token = token;
    this.mtimeMs = mtimeMs;
  }

  /** True when `presented` is the current token. A file that became unreadable keeps the last good token. */
  accepts(presented: string | undefined): boolean {
    const now = this.now();
    if (now - this.checkedAt >= this.recheckMs) {
      this.checkedAt = now;
      try {
        if (statSync(this.path).mtimeMs !== this.mtimeMs) this.load();
      } catch {
        // Keep the last good token while a Secret update swaps the file.
      }
    }
    return presented !== undefined && tokensEqual(presented, this.token);
  }
}

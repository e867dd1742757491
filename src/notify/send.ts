// Executes a provider's HTTP request: bounded attempts, exponential backoff on network errors and
// 429/5xx (Retry-After honoured), a sanitised and bounded account of what the service answered.
import type { HttpRequest } from './types.ts';

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface SendOptions {
  fetch: Fetch;
  /** Waits ms (injected so tests need no real time); rejects when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Wall-clock ms, for Retry-After dates. */
  now: () => number;
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt bound (default 10 s). */
  timeoutMs?: number;
  /** Longest Retry-After we wait for (default 5 min); a longer one waits this long. */
  maxRetryAfterMs?: number;
  /** Strings never to show in a message (secret values). */
  redact?: readonly string[];
  signal?: AbortSignal;
}

export type SendResult =
  | { ok: true; status: number; attempts: number }
  | { ok: false; status: number | undefined; attempts: number; retryable: boolean; message: string };

/** Retry-After as ms from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]+/g;

/** Control characters out, whitespace collapsed, secrets masked, at most `max` characters. */
export function sanitize(text: string, redact: readonly string[] = [], max = 300): string {
  let out = text;
  for (const s of redact) if (s.length >= 4) out = out.split(s).join('***');
  out = out.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  return out.length <= max ? out : `${out.slice(0, max - 1)}…`;
}

/** Where a request went, without path or query (webhook URLs carry secrets in them). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '<invalid URL>';
  }
}

export async function sendRequest(req: HttpRequest, opts: SendOptions): Promise<SendResult> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseDelayMs ?? 1000;
  const maxDelay = opts.maxDelayMs ?? 60_000;
  const host = hostOf(req.url);
  let last: { status: number | undefined; message: string } = { status: undefined, message: '' };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let waitMs = Math.min(maxDelay, base * 2 ** (attempt - 1));
    try {
      const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      const res = await opts.fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal,
        redirect: 'error',
      });
      const text = await readBounded(res, 4096);
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, attempts: attempt };
      const answer = sanitize(text, opts.redact);
      last = {
        status: res.status,
        message: `${req.method} ${host} answered HTTP ${res.status}${answer ? `: ${answer}` : ''}`,
      };
      if (res.status !== 429 && res.status < 500)
        return { ok: false, status: res.status, attempts: attempt, retryable: false, message: last.message };
      const after = retryAfterMs(res.headers.get('retry-after'), opts.now());
      if (after !== undefined) waitMs = Math.min(after, opts.maxRetryAfterMs ?? 300_000);
    } catch (err) {
      if (opts.signal?.aborted) {
        return {
          ok: false,
          status: undefined,
          attempts: attempt,
          retryable: true,
          message: 'delivery cancelled',
        };
      }
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `timed out after ${opts.timeoutMs ?? 10_000}ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
      last = {
        status: undefined,
        message: `${req.method} ${host} failed: ${sanitize(String(why), opts.redact)}`,
      };
    }
    if (attempt < attempts) {
      try {
        await opts.sleep(waitMs, opts.signal);
      } catch {
        break;
      }
    }
  }
  return {
    ok: false,
    status: last.status,
    attempts,
    retryable: true,
    message: `${last.message} (gave up after ${attempts} attempts)`,
  };
}

async function readBounded(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, max);
}

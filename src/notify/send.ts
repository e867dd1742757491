// Executes a provider's HTTP request: bounded attempts, exponential backoff on network errors and
// 429/5xx (Retry-After honoured), configuration errors (redirects, bad schemes, denied addresses)
// reported at once, and of the service's answer only the status code and a short reason phrase.
import { sanitizeMessage } from '../api/index.ts';
import { NotifierConfigError, type Transport } from './http.ts';
import type { HttpRequest } from './types.ts';

export interface SendOptions {
  transport: Transport;
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
  | {
      ok: false;
      status: number | undefined;
      attempts: number;
      retryable: boolean;
      /** The Notifier's configuration (address, redirect, scheme, policy) is at fault, not the service. */
      configuration: boolean;
      /** For status: method, host, status code and reason phrase, or the network error; sanitised. */
      message: string;
      /** For the operator's log only: the start of the answer's body, sanitised and masked. */
      answer?: string | undefined;
    };

/** Retry-After as ms from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Text from a service made safe the way every outside text is (`sanitizeMessage`: escape sequences
 * as a whole, controls, bidi overrides), on one line, secrets masked, at most `maxBytes` bytes.
 */
export function sanitize(text: string, redact: readonly string[] = [], maxBytes = 300): string {
  let out = text;
  for (const s of redact) if (s.length >= 4) out = out.split(s).join('***');
  return sanitizeMessage(sanitizeMessage(out).replace(/\s+/g, ' '), { maxBytes });
}

/** The reason phrase of a status line, as far as it is short and readable (`Not Found`). */
function reasonPhrase(reason: string): string {
  const clean = sanitize(reason, [], 40);
  return clean ? ` ${clean}` : '';
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
  const fail = (
    attempt: number,
    status: number | undefined,
    message: string,
    more: { configuration?: boolean; answer?: string; retryable?: boolean } = {},
  ): SendResult => ({
    ok: false,
    status,
    attempts: attempt,
    retryable: more.retryable ?? false,
    configuration: more.configuration ?? false,
    message,
    answer: more.answer || undefined,
  });
  let last: { status: number | undefined; message: string; answer?: string } = {
    status: undefined,
    message: '',
  };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let waitMs = Math.min(maxDelay, base * 2 ** (attempt - 1));
    try {
      const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      const res = await opts.transport(req, { signal, maxBytes: 4096 });
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, attempts: attempt };
      // Only the status line goes into status: a body could be anything the address serves.
      const line = `${req.method} ${host} answered HTTP ${res.status}${reasonPhrase(res.reason)}`;
      const answer = sanitize(res.body, opts.redact);
      if (res.status >= 300 && res.status < 400)
        return fail(
          attempt,
          res.status,
          `${line}: a redirect, which is not followed; set the address it redirects to`,
          { configuration: true, answer },
        );
      last = { status: res.status, message: line, answer };
      if (res.status !== 429 && res.status < 500) return fail(attempt, res.status, line, { answer });
      const after = retryAfterMs(res.header('retry-after'), opts.now());
      if (after !== undefined) waitMs = Math.min(after, opts.maxRetryAfterMs ?? 300_000);
    } catch (err) {
      if (opts.signal?.aborted) return fail(attempt, undefined, 'delivery cancelled', { retryable: true });
      if (err instanceof NotifierConfigError)
        return fail(
          attempt,
          undefined,
          `${req.method} ${host} refused: ${sanitize(err.message, opts.redact, 512)}`,
          {
            configuration: true,
          },
        );
      const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
      const why =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `timed out after ${opts.timeoutMs ?? 10_000}ms`
          : (e.code ?? e.cause?.code ?? e.cause?.message ?? e.message);
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
  return fail(attempts, last.status, `${last.message} (gave up after ${attempts} attempts)`, {
    retryable: true,
    answer: last.answer,
  });
}

// A work queue like controller-runtime's: one entry per key (deduplicated), bounded concurrency,
// a key is never processed twice at once, delayed re-adds and per-key exponential backoff with jitter.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * No retry comes sooner than this, whatever the caller passes: the CRD refuses a retryInterval
 * under 1s, but a failure that is not a GitSource's (a bad policy, a zero from a parse) must
 * still never turn into a hot loop of git processes and API calls.
 */
export const MIN_BACKOFF_MS = 1000;

/** Exponential backoff from base to max with ±20% jitter, so many failing sources do not retry in lockstep. */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const base = Number.isFinite(policy.baseMs) ? Math.max(MIN_BACKOFF_MS, policy.baseMs) : MIN_BACKOFF_MS;
  const max = Number.isFinite(policy.maxMs) ? Math.max(base, policy.maxMs) : base;
  const exp = Math.min(max, base * 2 ** Math.max(0, failures - 1));
  const jitter = 1 + (random() * 0.4 - 0.2);
  return Math.max(MIN_BACKOFF_MS, Math.round(Math.min(max, exp * jitter)));
}

export type Handler = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  /** Keys added again while being processed: re-queued when their current run ends. */
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: { cancel(): void } }>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: Handler,
    private readonly concurrency: number,
    private readonly clock: Clock = systemClock,
    private readonly onDepth: (depth: number) => void = () => {},
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    const pending = this.timers.get(key);
    if (pending) {
      pending.timer.cancel();
      this.timers.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.onDepth(this.queue.length);
    this.pump();
  }

  /** Adds the key after `ms`, unless an earlier add for it is already scheduled. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, timer });
  }

  /** Re-adds after a failure with exponential backoff; returns the delay chosen. */
  addRateLimited(key: string, policy: BackoffPolicy): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = backoffDelay(n, policy);
    this.addAfter(key, delay);
    return delay;
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Clears the failure count after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Drops every trace of a key (its object was deleted). */
  remove(key: string): void {
    this.forget(key);
    this.timers.get(key)?.timer.cancel();
    this.timers.delete(key);
    this.dirty.delete(key);
    if (this.queued.delete(key)) this.queue.splice(this.queue.indexOf(key), 1);
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      this.onDepth(this.queue.length);
      void this.handler(key)
        .catch(() => {})
        .finally(() => {
          this.running--;
          this.active.delete(key);
          if (this.dirty.delete(key)) this.add(key);
          this.pump();
          if (this.running === 0 && this.queue.length === 0) {
            for (const w of this.idleWaiters.splice(0)) w();
          }
        });
    }
  }

  /** Stops taking work; resolves when in-flight handlers end or after `graceMs`. */
  async shutdown(graceMs: number): Promise<boolean> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) timer.cancel();
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    if (this.running === 0) return true;
    return Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
    ]);
  }
}

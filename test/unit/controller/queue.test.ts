// The work queue: dedup, no concurrent runs of one key, bounded concurrency, backoff.
import { describe, expect, it } from 'vitest';
import { WorkQueue, backoffDelay } from '../../../src/controller/index.ts';
import type { Clock } from '../../../src/controller/queue.ts';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** A clock the test moves by hand: timers fire in order as time advances. */
class FakeClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => !x.cancelled && x.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = due.at;
      due.cancelled = true;
      due.fn();
      await tick(0);
    }
    this.t = until;
    await tick(0);
  }
}

describe('WorkQueue', () => {
  it('deduplicates keys and never runs one key twice at once', async () => {
    const runs: string[] = [];
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue(async (key) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push(key);
      await tick(20);
      active--;
    }, 2);
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('c');
    await tick(5);
    q.add('a'); // while a runs: re-run once afterwards
    q.add('a');
    await tick(120);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
    expect(maxActive).toBe(2);
    await q.shutdown(100);
  });

  it('addAfter keeps the earliest schedule', async () => {
    const clock = new FakeClock();
    const runs: number[] = [];
    const q = new WorkQueue(async () => void runs.push(clock.now()), 1, clock);
    q.addAfter('a', 200);
    q.addAfter('a', 30);
    q.addAfter('a', 100); // later than the pending 30 ms: ignored
    await clock.advance(29);
    expect(runs).toEqual([]);
    await clock.advance(1);
    expect(runs).toEqual([30]);
    await clock.advance(300); // the 200 ms and 100 ms schedules were replaced, not kept
    expect(runs).toEqual([30]);
    await q.shutdown(100);
  });

  it('retries a failing key with growing delays on the injected clock', async () => {
    const clock = new FakeClock();
    const runs: number[] = [];
    const q = new WorkQueue(async () => void runs.push(clock.now()), 1, clock);
    expect(q.addRateLimited('a', { baseMs: 1000, maxMs: 8000 })).toBeGreaterThanOrEqual(800);
    const second = q.addRateLimited('a', { baseMs: 1000, maxMs: 8000 });
    expect(second).toBeGreaterThanOrEqual(1600);
    expect(q.failuresOf('a')).toBe(2);
    await clock.advance(second);
    expect(runs).toHaveLength(1);
    q.forget('a');
    expect(q.failuresOf('a')).toBe(0);
    await q.shutdown(100);
  });

  it('backs off exponentially up to the max, with jitter', () => {
    const policy = { baseMs: 1000, maxMs: 8000 };
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, policy, mid))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000,
    ]);
    expect(backoffDelay(1, policy, () => 0)).toBe(800);
    expect(backoffDelay(1, policy, () => 0.999)).toBeGreaterThan(1190);
  });
});

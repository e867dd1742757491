// The work queue: dedup, no concurrent runs of one key, bounded concurrency, backoff.
import { describe, expect, it } from 'vitest';
import { WorkQueue, backoffDelay } from '../../../src/controller/index.ts';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

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
    const runs: number[] = [];
    const q = new WorkQueue(async () => void runs.push(Date.now()), 1);
    const start = Date.now();
    q.addAfter('a', 200);
    q.addAfter('a', 30);
    q.addAfter('a', 100);
    await tick(80);
    expect(runs).toHaveLength(1);
    expect(runs[0]! - start).toBeLessThan(80);
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

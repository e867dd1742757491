// Replay memory: a delivery id counts once within its TTL; the memory is bounded.
import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../../../src/webhook/index.ts';

describe('ReplayGuard', () => {
  it('refuses an id seen within the TTL and accepts it again after', () => {
    let now = 1_000;
    const g = new ReplayGuard({ maxEntries: 100, ttlMs: 60_000, now: () => now });
    expect(g.firstSeen('a')).toBe(true);
    expect(g.firstSeen('a')).toBe(false);
    expect(g.firstSeen('b')).toBe(true);
    now += 59_999;
    expect(g.firstSeen('a')).toBe(false);
    now += 1;
    expect(g.firstSeen('a')).toBe(true);
    // b expired on the way and was dropped from memory.
    expect(g.size).toBe(1);
  });

  it('forgets the oldest ids beyond maxEntries', () => {
    const g = new ReplayGuard({ maxEntries: 3, ttlMs: 60_000, now: () => 0 });
    for (const id of ['1', '2', '3', '4']) expect(g.firstSeen(id)).toBe(true);
    expect(g.size).toBe(3);
    expect(g.firstSeen('1')).toBe(true); // evicted, so accepted again
    expect(g.firstSeen('4')).toBe(false);
  });
});

// The in-memory ring of recorded Events: newest first, bounded per GitSource and in GitSources.
import { describe, expect, it } from 'vitest';
import { RecentEvents } from '../../../src/ui/index.ts';

const event = (n: number) => ({
  time: `2026-11-26T20:00:0${n % 10}Z`,
  type: 'Normal',
  reason: 'Changed',
  note: `n${n}`,
});

describe('RecentEvents', () => {
  it('keeps the newest events per GitSource, newest first', () => {
    const ring = new RecentEvents(3);
    for (let i = 0; i < 5; i++) ring.add('apps/web', event(i));
    expect(ring.list('apps/web').map((e) => e.note)).toEqual(['n4', 'n3', 'n2']);
    expect(ring.list('apps/other')).toEqual([]);
  });

  it('drops the least recently touched GitSource past the bound, and forgets on request', () => {
    const ring = new RecentEvents(3, 2);
    ring.add('a/1', event(1));
    ring.add('a/2', event(2));
    ring.add('a/1', event(3));
    ring.add('a/3', event(4));
    expect(ring.list('a/2')).toEqual([]);
    expect(ring.list('a/1')).toHaveLength(2);
    ring.forget('a/1');
    expect(ring.list('a/1')).toEqual([]);
  });

  it('tells listeners which GitSource got an event', () => {
    const ring = new RecentEvents();
    const seen: string[] = [];
    const off = ring.onAdd((key) => seen.push(key));
    ring.add('apps/web', event(1));
    off();
    ring.add('apps/web', event(2));
    expect(seen).toEqual(['apps/web']);
  });
});

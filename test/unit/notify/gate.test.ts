// De-duplication and the flapping summary, on an injected clock.
import { describe, expect, it } from 'vitest';
import { DeliveryGate, type Notification } from '../../../src/notify/index.ts';

const n = (event: Notification['event'], revision = 'main@sha1:aaa', message = 'm'): Notification => ({
  source: { namespace: 'apps', name: 'web', url: 'https://x/o/r.git' },
  event,
  reason: event === 'Failed' ? 'RenderFailed' : 'Succeeded',
  revision,
  message,
  changes: [],
  time: 't',
});

describe('DeliveryGate', () => {
  it('drops the same event at the same revision until something else happened', () => {
    const g = new DeliveryGate(60_000);
    expect(g.offer(n('Failed', 'r1', 'first'), 0).action).toBe('send');
    expect(g.offer(n('Failed', 'r1', 'second message'), 1000).action).toBe('duplicate');
    expect(g.offer(n('Converged', 'r1'), 120_000).action).toBe('send');
    expect(g.offer(n('Failed', 'r1'), 240_000).action).toBe('send');
    expect(g.offer(n('Failed', 'r2'), 240_001).action).toBe('send');
  });

  it('a flapping source is held and summarised once per window, ending on its latest state', () => {
    const g = new DeliveryGate(120_000);
    expect(g.offer(n('Failed'), 0).action).toBe('send');
    expect(g.offer(n('Recovered'), 10_000).action).toBe('send');
    const held = g.offer(n('Failed'), 20_000);
    expect(held).toEqual({ action: 'hold', flushAt: 120_000, first: true });
    expect(g.offer(n('Recovered'), 30_000)).toMatchObject({ action: 'hold', first: false });
    expect(g.offer(n('Failed'), 40_000)).toMatchObject({ action: 'hold', first: false });
    expect(g.offer(n('Recovered'), 50_000)).toMatchObject({ action: 'hold', first: false });
    const summary = g.flush('apps/web', 120_000);
    expect(summary).toMatchObject({ event: 'Recovered', flapping: { count: 4, windowMs: 120_000 } });
    expect(g.flush('apps/web', 120_001)).toBeUndefined();
  });

  it('new revisions are never held: two commits in a minute each get their statuses', () => {
    const g = new DeliveryGate(120_000);
    for (const [i, r] of ['r1', 'r2', 'r3'].entries()) {
      expect(g.offer(n('Changed', r), i * 10_000).action).toBe('send');
      expect(g.offer(n('Converged', r), i * 10_000 + 5000).action).toBe('send');
    }
  });

  it('drift corrected again and again at one revision is summarised, not dropped', () => {
    const g = new DeliveryGate(60_000);
    expect(g.offer(n('DriftCorrected'), 0).action).toBe('send');
    expect(g.offer(n('DriftCorrected'), 5_000).action).toBe('hold');
    expect(g.offer(n('DriftCorrected'), 9_000).action).toBe('hold');
    expect(g.flush('apps/web', 60_000)).toMatchObject({ event: 'DriftCorrected', flapping: { count: 2 } });
    expect(g.offer(n('DriftCorrected'), 200_000).action).toBe('send');
  });
});

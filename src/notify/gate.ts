// Per Notifier: drops duplicates and holds a flapping source's messages so one summary goes out per window.
import type { NotifyEvent } from '../api/index.ts';
import type { Notification } from './types.ts';

/** Sending one of these starts a new episode for the listed events (they may be sent again at the same revision). */
const RESETS: Record<NotifyEvent, readonly NotifyEvent[]> = {
  Changed: ['Diverged', 'Converged', 'Failed', 'Recovered', 'DriftCorrected'],
  Diverged: ['Converged'],
  Converged: ['Failed', 'Diverged'],
  Failed: ['Converged', 'Recovered'],
  Recovered: ['Failed'],
  DriftCorrected: [],
};

export type GateDecision =
  | { action: 'send'; notification: Notification }
  | { action: 'duplicate' }
  /** Held: the caller flushes the source at `flushAt` (ms, same clock as `now`). */
  | { action: 'hold'; flushAt: number; first: boolean };

interface SourceMemory {
  /** Per event, the revision of the last one sent in the current episode: a repeat is a duplicate. */
  episode: Map<NotifyEvent, string>;
  /** `event|revision` → when last sent: a repeat within the window is flapping. */
  sentAt: Map<string, number>;
  held?: { notification: Notification; count: number; since: number; flushAt: number };
}

const revOf = (n: Notification) => n.revision ?? '';

/**
 * Flapping: a source that sends the same event at the same revision again within `windowMs`
 * (Failed → Recovered → Failed, or drift corrected over and over) has every further notification
 * held; at the end of the window the latest one goes out once, with "flapped N times in W". Holding
 * everything of that source keeps its order, so the last state told is the current one.
 */
export class DeliveryGate {
  private readonly sources = new Map<string, SourceMemory>();

  constructor(private readonly windowMs: number) {}

  offer(n: Notification, now: number): GateDecision {
    const key = `${n.source.namespace}/${n.source.name}`;
    let mem = this.sources.get(key);
    if (!mem) {
      mem = { episode: new Map(), sentAt: new Map() };
      this.sources.set(key, mem);
    }
    if (n.event !== 'DriftCorrected' && mem.episode.get(n.event) === revOf(n) && !mem.held)
      return { action: 'duplicate' };
    if (mem.held) {
      mem.held.notification = n;
      mem.held.count++;
      return { action: 'hold', flushAt: mem.held.flushAt, first: false };
    }
    const last = mem.sentAt.get(`${n.event}|${revOf(n)}`);
    if (last !== undefined && now - last < this.windowMs) {
      const flushAt = last + this.windowMs;
      mem.held = { notification: n, count: 1, since: now, flushAt };
      return { action: 'hold', flushAt, first: true };
    }
    this.remember(mem, n, now);
    return { action: 'send', notification: n };
  }

  /** The summary of a held source, or undefined when nothing is held (or it would repeat the last one). */
  flush(sourceKey: string, now: number): Notification | undefined {
    const mem = this.sources.get(sourceKey);
    const held = mem?.held;
    if (!mem || !held) return undefined;
    mem.held = undefined;
    const n: Notification = {
      ...held.notification,
      flapping: { count: held.count, windowMs: this.windowMs },
    };
    this.remember(mem, n, now);
    return n;
  }

  /** The GitSource is gone. */
  forget(sourceKey: string): void {
    this.sources.delete(sourceKey);
  }

  private remember(mem: SourceMemory, n: Notification, now: number): void {
    mem.episode.set(n.event, revOf(n));
    for (const e of RESETS[n.event]) mem.episode.delete(e);
    mem.sentAt.set(`${n.event}|${revOf(n)}`, now);
    // Bounded memory: old entries cannot flap any more.
    if (mem.sentAt.size > 64) {
      for (const [k, at] of mem.sentAt) if (now - at >= this.windowMs) mem.sentAt.delete(k);
    }
  }
}

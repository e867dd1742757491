// Replay protection: delivery ids seen recently, in a bounded LRU whose entries expire (injected clock).

export class ReplayGuard {
  /** id → first seen (ms); Map iteration order is insertion order, so the oldest comes first. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly opts: { maxEntries: number; ttlMs: number; now: () => number } = {
      maxEntries: 10_000,
      ttlMs: 10 * 60_000,
      now: () => Date.now(),
    },
  ) {}

  /** Records `id`; false when it was already seen within the TTL (a replay). */
  firstSeen(id: string): boolean {
    const now = this.opts.now();
    this.expire(now);
    const at = this.seen.get(id);
    if (at !== undefined && now - at < this.opts.ttlMs) return false;
    this.seen.delete(id);
    this.seen.set(id, now);
    while (this.seen.size > this.opts.maxEntries) {
      this.seen.delete(this.seen.keys().next().value!);
    }
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(now: number): void {
    for (const [id, at] of this.seen) {
      if (now - at < this.opts.ttlMs) break;
      this.seen.delete(id);
    }
  }
}

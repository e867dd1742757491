// A small in-memory ring of the Events this operator process recorded, per GitSource, so the
// status page shows recent Events without listing them from the API server on each view.
import type { RecentEvent } from './model.ts';

export class RecentEvents {
  private readonly bySource = new Map<string, RecentEvent[]>();
  private readonly listeners = new Set<(key: string) => void>();

  constructor(
    private readonly perSource = 20,
    /** Oldest-touched GitSources are dropped past this many, bounding memory. */
    private readonly maxSources = 5000,
  ) {}

  add(key: string, event: RecentEvent): void {
    const list = this.bySource.get(key) ?? [];
    list.unshift(event);
    if (list.length > this.perSource) list.length = this.perSource;
    // Re-insert so Map order is least recently touched first.
    this.bySource.delete(key);
    this.bySource.set(key, list);
    if (this.bySource.size > this.maxSources) {
      const oldest = this.bySource.keys().next().value;
      if (oldest !== undefined) this.bySource.delete(oldest);
    }
    for (const l of this.listeners) l(key);
  }

  /** Newest first. */
  list(key: string): readonly RecentEvent[] {
    return this.bySource.get(key) ?? [];
  }

  forget(key: string): void {
    this.bySource.delete(key);
  }

  onAdd(listener: (key: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

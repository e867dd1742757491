// Counts API requests by verb and status code, so tests and benchmarks can prove "no writes" and metrics can be fed.

export interface RequestRecord {
  /** HTTP method, or WATCH for a watch stream. */
  verb: string;
  /** HTTP status code; 0 when the request failed before an answer. */
  code: number;
  dryRun: boolean;
  durationMs: number;
}

export type RequestListener = (record: RequestRecord) => void;

/** Shared by a client and every impersonating copy of it. */
export class RequestStats {
  private readonly counts = new Map<string, number>();
  private readonly listeners: RequestListener[] = [];

  constructor(listener?: RequestListener) {
    if (listener) this.listeners.push(listener);
  }

  /** Adds a callback (e.g. a prom-client counter) called once per finished request. */
  onRequest(listener: RequestListener): void {
    this.listeners.push(listener);
  }

  record(record: RequestRecord): void {
    const key = `${verbKey(record)} ${record.code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    for (const listener of this.listeners) listener(record);
  }

  /** Counts keyed `"<verb> <code>"`, e.g. `{"PATCH 200": 3, "PATCH(dry-run) 200": 10}`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Counts keyed by verb alone: `{ GET: 12, "PATCH(dry-run)": 10 }`. */
  byVerb(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, n] of this.counts) {
      const verb = key.slice(0, key.lastIndexOf(' '));
      out[verb] = (out[verb] ?? 0) + n;
    }
    return out;
  }

  /** Requests that could have changed the cluster: anything but reads and dry-runs. */
  writes(): number {
    let n = 0;
    for (const [key, count] of this.counts) {
      const verb = key.slice(0, key.lastIndexOf(' '));
      if (!['GET', 'WATCH', 'HEAD', 'OPTIONS'].includes(verb) && !verb.endsWith('(dry-run)')) n += count;
    }
    return n;
  }

  total(): number {
    let n = 0;
    for (const count of this.counts.values()) n += count;
    return n;
  }

  reset(): void {
    this.counts.clear();
  }
}

function verbKey(record: RequestRecord): string {
  return record.dryRun ? `${record.verb}(dry-run)` : record.verb;
}

// What the benches share: a process's memory and CPU from /proc, and the operator's API requests by verb.
import { readFileSync } from 'node:fs';

/** The memory lines of /proc/<pid>/status, in MiB by key (VmRSS, VmHWM, RssAnon, …): 0 once it is gone. */
function statusMiB(pid: number): (key: string) => number {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // the process has exited
  }
  return (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) / 1024;
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in MiB. */
export function procMemory(pid: number): { peak: number; rss: number } {
  const mib = statusMiB(pid);
  return { peak: mib('VmHWM'), rss: mib('VmRSS') };
}

/**
 * Samples a process's resident memory every `everyMs` from /proc and keeps the highest sample, with
 * what it was made of: anonymous memory (the JS heap, buffers, native allocations) and mapped files
 * (the node binary, shared libraries). It reads no /metrics: a scrape of a large fleet allocates
 * in the operator and would raise what it measures.
 */
export function sampleMemory(pid: number, everyMs = 250) {
  let peak = { rss: 0, anon: 0, file: 0 };
  const timer = setInterval(() => {
    const mib = statusMiB(pid);
    const rss = mib('VmRSS');
    if (rss > peak.rss) peak = { rss, anon: mib('RssAnon'), file: mib('RssFile') };
  }, everyMs);
  return {
    stop: () => clearInterval(timer),
    /** The highest sample, e.g. "135 MiB = anonymous 80 + files 55". */
    describe: () =>
      `${peak.rss.toFixed(0)} MiB = anonymous ${peak.anon.toFixed(0)} + files ${peak.file.toFixed(0)}`,
  };
}

/** CPU seconds of a process itself and of its reaped children (git), from /proc/<pid>/stat. */
export function cpuOf(pid: number): { self: number; children: number } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const tick = 100;
    return {
      self: (Number(fields[11]) + Number(fields[12])) / tick,
      children: (Number(fields[13]) + Number(fields[14])) / tick,
    };
  } catch {
    return { self: 0, children: 0 };
  }
}

/** The operator's API requests by verb from its /metrics; server-side dry-runs as `<VERB> dry-run`. */
export async function apiRequestsByVerb(metricsPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(
    /^converge_api_requests_total\{verb="(\w+)",code="(\d+)"(?:,dry_run="(\w+)")?\} (\d+)/gm,
  )) {
    const verb = m[3] === 'true' ? `${m[1]!} dry-run` : m[1]!;
    out[verb] = (out[verb] ?? 0) + Number(m[4]);
  }
  return out;
}

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per `type name` (constructor for objects) of a V8 heap snapshot file. */
function heapByName(path: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshotFile;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?';
    // Strings by their kind, not their text: thousands of distinct texts would hide the total.
    const name = /string/.test(type) ? '' : (snap.strings[snap.nodes[i + nameAt]!] ?? '').slice(0, 60);
    const key = `${type} ${name}`.trim();
    const entry = out.get(key) ?? { size: 0, count: 0 };
    entry.size += snap.nodes[i + sizeAt]!;
    entry.count++;
    out.set(key, entry);
  }
  return out;
}

/** The `top` largest growths in self size between two heap snapshots, as printable lines. */
export function heapGrowth(beforePath: string, afterPath: string, top: number): string[] {
  const before = heapByName(beforePath);
  const after = heapByName(afterPath);
  const total = (m: Map<string, { size: number }>) => [...m.values()].reduce((s, e) => s + e.size, 0);
  const MiB = 1024 * 1024;
  const rows = [...after.entries()]
    .map(([key, a]) => {
      const b = before.get(key) ?? { size: 0, count: 0 };
      return { key, delta: a.size - b.size, count: a.count - b.count };
    })
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta))
    .slice(0, top);
  return [
    `heap in snapshot: before ${(total(before) / MiB).toFixed(1)} MiB, after ${(total(after) / MiB).toFixed(1)} MiB`,
    ...rows.map(
      (r) =>
        `${(r.delta >= 0 ? '+' : '') + (r.delta / 1024).toFixed(0).padStart(7)} KiB ${(r.count >= 0 ? '+' : '') + r.count} × ${r.key}`,
    ),
  ];
}

/** The p-th percentile of an ascending list (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** `n=20 p50 83 ms, p95 120 ms, min 60 ms, max 130 ms` for latency samples in ms. */
export function latencySummary(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (ms: number) => `${Math.round(ms)} ms`;
  return `n=${s.length} p50 ${f(percentile(s, 50))}, p95 ${f(percentile(s, 95))}, min ${f(s[0]!)}, max ${f(s[s.length - 1]!)}`;
}

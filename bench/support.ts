// What the benches share: a process's memory and CPU from /proc, and the operator's API requests by verb.
import { readFileSync } from 'node:fs';

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in MiB. */
export function procMemory(pid: number): { peak: number; rss: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) / 1024;
    return { peak: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return { peak: 0, rss: 0 };
  }
}

/**
 * Samples a process's resident memory every `everyMs` and, at the highest sample, what it was made of:
 * anonymous memory (the JS heap, buffers, native allocations) and mapped files (the node binary,
 * shared libraries), with the V8 heap from the operator's /metrics when `metricsPort` is given.
 */
export function sampleMemory(pid: number, metricsPort?: number, everyMs = 250) {
  let peak = { rss: 0, anon: 0, file: 0, heapTotal: 0, heapUsed: 0, external: 0 };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return;
    }
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) / 1024;
    const rss = kb('VmRSS');
    if (rss <= peak.rss) return;
    peak = { ...peak, rss, anon: kb('RssAnon'), file: kb('RssFile') };
    if (metricsPort === undefined) return;
    busy = true;
    fetch(`http://127.0.0.1:${metricsPort}/metrics`)
      .then((r) => r.text())
      .then((m) => {
        const g = (name: string) =>
          Number(new RegExp(`^converge_${name} (\\S+)`, 'm').exec(m)?.[1] ?? 0) / 2 ** 20;
        if (peak.rss === rss)
          peak = {
            ...peak,
            heapTotal: g('nodejs_heap_size_total_bytes'),
            heapUsed: g('nodejs_heap_size_used_bytes'),
            external: g('nodejs_external_memory_bytes'),
          };
      })
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, everyMs);
  return {
    stop: () => clearInterval(timer),
    /** The highest sample, e.g. "RSS 143 MiB = anon 110 + files 33; V8 heap 70 (58 used), external 5". */
    describe: () =>
      `${peak.rss.toFixed(0)} MiB = anonymous ${peak.anon.toFixed(0)} + files ${peak.file.toFixed(0)}` +
      (peak.heapTotal
        ? `; V8 heap ${peak.heapTotal.toFixed(0)} MiB (${peak.heapUsed.toFixed(0)} used), external ${peak.external.toFixed(0)}`
        : ''),
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

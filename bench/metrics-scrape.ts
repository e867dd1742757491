// Benchmark: what one Prometheus scrape of /metrics costs with N GitSources (converge_condition is
// read from them at each scrape, plus converge_git_cache_bytes per GitSource).
// Run: npx tsx bench/metrics-scrape.ts [--sources 1000] [--scrapes 20]
import { parseArgs } from 'node:util';
import { createMetrics, type ConditionHolder } from '../src/server/metrics.ts';

const { values } = parseArgs({
  options: { sources: { type: 'string', default: '1000' }, scrapes: { type: 'string', default: '20' } },
});
const n = Number(values.sources);
const metrics = createMetrics();
// A settled GitSource has four conditions (Changed, Diverged, Converged, Ready).
const sources: ConditionHolder[] = Array.from({ length: n }, (_, i) => ({
  metadata: { name: `app-${i}`, namespace: `team-${i % 10}` },
  status: {
    conditions: [
      { type: 'Changed', status: 'False' },
      { type: 'Diverged', status: 'False' },
      { type: 'Converged', status: 'True' },
      { type: 'Ready', status: 'True' },
    ],
  },
}));
metrics.reportConditionsOf(() => sources);
for (const gs of sources) metrics.gitCacheBytes.set(gs.metadata, 123_456);

const times: number[] = [];
let bytes = 0;
for (let i = 0; i < Number(values.scrapes); i++) {
  const t0 = performance.now();
  bytes = (await metrics.registry.metrics()).length;
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(
  `${n} GitSources: /metrics is ${(bytes / 1024).toFixed(0)} KiB; a scrape takes ${times[times.length >> 1]!.toFixed(0)} ms median (min ${times[0]!.toFixed(0)}, max ${times[times.length - 1]!.toFixed(0)})`,
);

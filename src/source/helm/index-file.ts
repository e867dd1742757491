// Reads a Helm repository's index.yaml as a stream of lines and keeps only the charts asked for: a
// 50 MB index with 20,000 entries never sits in memory parsed (Flux's source-controller OOMs on them).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as yaml from 'js-yaml';
import { ConvergeError } from '../../api/index.ts';

/** One version of a chart as the index lists it (every scalar read as a string). */
export interface ChartVersion {
  name: string;
  version: string;
  /** Hex sha256 of the .tgz, when the index has it (helm repo index writes it). */
  digest?: string | undefined;
  urls: string[];
  created?: string | undefined;
}

export interface IndexScan {
  /** Versions of each chart asked for that the index has (a name absent: no such chart). */
  charts: Map<string, ChartVersion[]>;
  /** Charts in the index. */
  total: number;
}

/** A flow-style (JSON) index is parsed whole, only up to this size. */
const MAX_FLOW_INDEX_BYTES = 16 * 1024 * 1024;

/**
 * Scans an index for the charts in `wanted`. `what` names the index in errors. Block-style YAML (as
 * `helm repo index` writes it) is read a line at a time, each wanted chart's block parsed on its own;
 * a flow-style (JSON) index up to 16 MiB is parsed whole. Throws FetchFailed when it is not an index.
 */
export async function scanIndex(
  input: Readable,
  wanted: ReadonlySet<string>,
  what: string,
): Promise<IndexScan> {
  const notIndex = (why: string) =>
    new ConvergeError('FetchFailed', `${what} is not a Helm repository index (${why})`);
  const lines = createInterface({ input, crlfDelay: Infinity });
  const charts = new Map<string, ChartVersion[]>();
  let total = 0;
  let sawApiVersion = false;
  let sawEntries = false;
  let inEntries = false;
  /** Indent of the chart names under `entries:` (the first line there sets it). */
  let chartIndent = -1;
  let current: { name: string; lines: string[] } | undefined;
  let flow: string[] | undefined;
  let flowBytes = 0;
  let first = true;

  const finish = () => {
    if (!current) return;
    const { name, lines: block } = current;
    current = undefined;
    let parsed: unknown;
    try {
      parsed = yaml.load(`x:\n${block.join('\n')}`, { schema: yaml.FAILSAFE_SCHEMA });
    } catch (err) {
      throw notIndex(`the entries of chart ${name} are not YAML: ${firstLine(err)}`);
    }
    charts.set(name, versionsOf(name, (parsed as { x?: unknown } | undefined)?.x));
  };

  for await (const raw of lines) {
    if (flow) {
      flowBytes += raw.length + 1;
      if (flowBytes > MAX_FLOW_INDEX_BYTES)
        throw notIndex(`a flow-style (JSON) index larger than ${MAX_FLOW_INDEX_BYTES >> 20} MiB`);
      flow.push(raw);
      continue;
    }
    const line = raw.replace(/\s+$/, '');
    if (first) {
      if (line === '' || line.startsWith('#') || line === '---') continue;
      first = false;
      if (/^\s*[{[]/.test(line)) {
        flow = [raw];
        flowBytes = raw.length;
        continue;
      }
      if (line.includes('\0') || !/^[A-Za-z_"'][^:]*:( |$)/.test(line))
        throw notIndex(`its first line is not a YAML key: ${JSON.stringify(line.slice(0, 60))}`);
    }
    if (line === '' || /^\s*#/.test(line)) {
      if (current) current.lines.push(line);
      continue;
    }
    const indent = line.length - line.trimStart().length;
    if (indent === 0 && !line.startsWith('- ')) {
      // A top-level key: entries start or end here.
      finish();
      inEntries = false;
      const m = /^("?)([A-Za-z_][\w-]*)\1\s*:(.*)$/.exec(line);
      if (!m) {
        if (line === '---' || line === '...') continue;
        throw notIndex(`line ${JSON.stringify(line.slice(0, 60))} is not a YAML key`);
      }
      const [, , key, rest] = m;
      if (key === 'apiVersion') sawApiVersion = true;
      if (key === 'entries') {
        sawEntries = true;
        const value = rest!.trim();
        if (value === '') inEntries = true;
        else if (value !== '{}' && value !== 'null' && value !== '~')
          throw notIndex('its entries are not a block mapping');
      }
      continue;
    }
    if (!inEntries) continue;
    if (chartIndent < 0) chartIndent = indent;
    const key =
      indent === chartIndent && !line.trimStart().startsWith('- ') ? chartKey(line.trim()) : undefined;
    if (key !== undefined) {
      finish();
      total++;
      // A value on the key's own line (flow style, `chart: [...]`) is that chart's block.
      if (wanted.has(key.name)) current = { name: key.name, lines: key.rest ? [`  ${key.rest}`] : [] };
      continue;
    }
    if (indent < chartIndent) throw notIndex(`line ${JSON.stringify(line.slice(0, 60))} is out of place`);
    if (current) current.lines.push(line.slice(chartIndent));
  }
  finish();
  if (flow) return scanFlow(flow.join('\n'), wanted, notIndex);
  if (!sawEntries) throw notIndex(sawApiVersion ? 'it has no "entries"' : 'no "apiVersion" and no "entries"');
  return { charts, total };
}

/** Scans an index file on disk (plain or gzip, by its first bytes). */
export async function scanIndexFile(
  file: string,
  gzip: boolean,
  wanted: ReadonlySet<string>,
  what: string,
): Promise<IndexScan> {
  const raw = createReadStream(file);
  const input = gzip ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (err) => input.destroy(err));
  try {
    return await scanIndex(input, wanted, what);
  } catch (err) {
    if (err instanceof ConvergeError) throw err;
    throw new ConvergeError('FetchFailed', `${what} could not be read: ${firstLine(err)}`);
  } finally {
    raw.destroy();
  }
}

function scanFlow(
  text: string,
  wanted: ReadonlySet<string>,
  notIndex: (why: string) => ConvergeError,
): IndexScan {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.FAILSAFE_SCHEMA });
  } catch (err) {
    throw notIndex(`not YAML: ${firstLine(err)}`);
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (!entries || typeof entries !== 'object' || Array.isArray(entries))
    throw notIndex('it has no "entries"');
  const charts = new Map<string, ChartVersion[]>();
  for (const [name, list] of Object.entries(entries))
    if (wanted.has(name)) charts.set(name, versionsOf(name, list));
  return { charts, total: Object.keys(entries).length };
}

/** `name:` or `"name": [flow value]` → the name and what follows it on the line. */
function chartKey(text: string): { name: string; rest: string } | undefined {
  const m = /^(?:"([^"]+)"|'([^']+)'|([^\s:'"][^:]*?))\s*:(?:\s+(.*))?$/.exec(text);
  return m ? { name: (m[1] ?? m[2] ?? m[3])!, rest: m[4] ?? '' } : undefined;
}

function versionsOf(name: string, list: unknown): ChartVersion[] {
  if (!Array.isArray(list)) return [];
  const out: ChartVersion[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object') continue;
    const e = item as Record<string, unknown>;
    const version = typeof e.version === 'string' ? e.version : undefined;
    const urls = Array.isArray(e.urls) ? e.urls.filter((u): u is string => typeof u === 'string') : [];
    if (!version || urls.length === 0) continue;
    out.push({
      name,
      version,
      urls,
      digest: typeof e.digest === 'string' ? e.digest.replace(/^sha256:/, '').toLowerCase() : undefined,
      created: typeof e.created === 'string' ? e.created : undefined,
    });
  }
  return out;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
}

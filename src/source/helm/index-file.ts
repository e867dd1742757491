// Reads a Helm repository's index.yaml as a stream of lines and keeps only the charts asked for: a
// 50 MB index with 20,000 entries never sits in memory parsed (Flux's source-controller OOMs on them).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
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
  input: AsyncIterable<Buffer | string>,
  wanted: ReadonlySet<string>,
  what: string,
): Promise<IndexScan> {
  const notIndex = (why: string) =>
    new ConvergeError('FetchFailed', `${what} is not a Helm repository index (${why})`);
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

  for await (const bytes of lineBuffers(input)) {
    // Most lines of a large index are deeper than the chart names and belong to charts nobody asked
    // for: they are skipped as bytes, never decoded, so reading a 50 MB index allocates little.
    if (!flow && !first && !current && inEntries && chartIndent >= 0 && indentOf(bytes) > chartIndent)
      continue;
    const raw = bytes.toString('utf8').replace(/\r$/, '');
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

/** The lines of a stream as Buffers (without the newline); a line split across chunks is joined. */
async function* lineBuffers(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  for await (const chunk of input) {
    const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl === -1) break;
      const part = buf.subarray(start, nl);
      if (carry) {
        yield Buffer.concat([carry, part]);
        carry = undefined;
      } else yield part;
      start = nl + 1;
    }
    if (start < buf.length) {
      const rest = buf.subarray(start);
      // Copied: the chunk itself is not kept alive by a short tail.
      carry = carry ? Buffer.concat([carry, rest]) : Buffer.from(rest);
    }
  }
  if (carry?.length) yield carry;
}

/** Leading spaces of a line; a blank or comment line counts as deeper than anything (it is skipped). */
function indentOf(line: Buffer): number {
  let i = 0;
  while (i < line.length && line[i] === 0x20) i++;
  if (i === line.length || line[i] === 0x23 || line[i] === 0x0d) return Number.MAX_SAFE_INTEGER;
  return i;
}

/** Scans an index file on disk (plain or gzip, by its first bytes). */
export async function scanIndexFile(
  file: string,
  gzip: boolean,
  wanted: ReadonlySet<string>,
  what: string,
): Promise<IndexScan> {
  const raw = gzip ? createReadStream(file) : undefined;
  const input = raw ? raw.pipe(createGunzip()) : chunksOf(file);
  raw?.on('error', (err) => (input as Readable).destroy(err));
  try {
    return await scanIndex(input, wanted, what);
  } catch (err) {
    if (err instanceof ConvergeError) throw err;
    throw new ConvergeError('FetchFailed', `${what} could not be read: ${firstLine(err)}`);
  } finally {
    raw?.destroy();
  }
}

/**
 * A file's bytes through one reused 64 KiB buffer: a stream would allocate a buffer per read,
 * which V8 frees only at its next collection (tens of MiB for a large index). Each chunk is valid
 * until the next is asked for; lineBuffers copies what it keeps.
 */
async function* chunksOf(file: string): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  const buffer = Buffer.allocUnsafe(64 * 1024);
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
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

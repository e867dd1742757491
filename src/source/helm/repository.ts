// Chart repositories by scheme: what the chart fetcher asks of each (resolve a version cheaply, download
// an archive), and the index.yaml kind served over HTTP(S) or from an S3 bucket. `oci://` plugs in here.
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ConvergeError } from '../../api/index.ts';
import { expectOk, httpCredentialsFromSecret, send, type HttpStats } from '../http.ts';
import { redact } from '../redact.ts';
import { createS3Client, parseS3Url, s3CredentialsFromSecret } from '../s3/index.ts';
import type { ChartSourceRef, SourceSecret } from '../types.ts';
import { scanIndexFile, type ChartVersion } from './index-file.ts';
import { pickVersion } from './versions.ts';

export interface ChartRequest {
  chart: ChartSourceRef;
  secret?: SourceSecret | undefined;
  /** Answers at most this old (another GitSource's poll of the same repository) are reused. */
  maxAgeMs: number;
  timeoutMs: number;
}

/** The version a range picks now. */
export interface ChartPick {
  version: string;
  /** Hex sha256 of the archive, when known before downloading it (the index's digest). */
  digest?: string | undefined;
  /** Where the archive is (absolute). */
  url: string;
}

/** One kind of chart repository (by URL scheme). */
export interface ChartRepository {
  /** Checks a Secret has the keys this kind needs (InvalidSpec naming the key). */
  checkSecret(chart: ChartSourceRef, secret: SourceSecret): void;
  /** Cheap: one conditional request of the repository's index (shared within maxAgeMs), no download. */
  resolve(req: ChartRequest): Promise<ChartPick>;
  /** The archive's bytes, as a stream the caller bounds and verifies. */
  download(req: ChartRequest, pick: ChartPick): Promise<Readable>;
  /** A push was announced: the next resolve of this repository asks again. */
  expire(req: Pick<ChartRequest, 'chart' | 'secret'>): void;
  /** Forgets every repository not used by `used` (requests of the GitSources that remain). */
  retain(used: ReadonlyArray<Pick<ChartRequest, 'chart' | 'secret'>>): Promise<void>;
  /** Totals: index requests, 304s, scans, archive downloads. */
  stats(): Readonly<IndexStats>;
}

export interface IndexStats {
  /** Conditional GETs of an index (every poll that went to the repository). */
  indexRequests: number;
  /** Of which answered 304 Not Modified (no body, no parse). */
  notModified: number;
  /** Scans of an index file (after a change, or for a chart not asked for before). */
  scans: number;
  /** Archive downloads. */
  downloads: number;
}

/** How an index repository is reached: plain HTTP(S) or an S3 bucket. */
interface IndexAccess {
  /** The index's URL (chart URLs in it are relative to it). */
  indexUrl: string;
  /** GET the index, conditionally: undefined when unchanged. */
  getIndex(
    cond: { etag?: string | undefined; lastModified?: string | undefined },
    timeoutMs: number,
  ): Promise<{ body: Readable; etag?: string; lastModified?: string; encoded: boolean } | undefined>;
  getChart(url: string, timeoutMs: number): Promise<Readable>;
}

interface IndexState {
  access: IndexAccess;
  file: string;
  etag?: string | undefined;
  lastModified?: string | undefined;
  gzip: boolean;
  /** performance.now() of the last answer from the repository. */
  at: number;
  /** Versions of each chart asked for, as of the file on disk (an empty list: no such chart). */
  charts: Map<string, ChartVersion[]>;
  /** Charts asked for that the next scan reads too. */
  wanted: Set<string>;
  /** The request in flight, which concurrent resolves join. */
  asking?: Promise<void> | undefined;
  /** The scan in flight for charts not read yet. */
  scanning?: Promise<void> | undefined;
}

export interface IndexRepositoryOptions {
  /** Where index files are kept (one per repository and Secret). */
  dir: string;
  logger: Logger;
  /** Largest index (as sent) written to disk. */
  maxIndexBytes?: number;
  onRemoteCall?: (operation: 'index' | 'download', seconds: number) => void;
}

/** Index files (as sent, maybe gzip) are bounded on disk only: parsing keeps just the charts asked for. */
const DEFAULT_MAX_INDEX_BYTES = 512 * 1024 * 1024;

/**
 * The index.yaml kind of repository (https://, http://, s3://): one index per repository and
 * Secret, shared by every chart and GitSource using it; an unchanged index costs one conditional
 * GET and no parse.
 */
export function createIndexRepository(opts: IndexRepositoryOptions): ChartRepository {
  const states = new Map<string, IndexState>();
  const stats: IndexStats = { indexRequests: 0, notModified: 0, scans: 0, downloads: 0 };
  const http: HttpStats = { requests: 0 };
  const maxIndexBytes = opts.maxIndexBytes ?? DEFAULT_MAX_INDEX_BYTES;
  let seq = 0;

  const idOf = (req: Pick<ChartRequest, 'chart' | 'secret'>) =>
    JSON.stringify([req.chart.repository.replace(/\/+$/, ''), req.secret?.where ?? '', req.chart.s3 ?? {}]);

  const stateOf = (req: ChartRequest): IndexState => {
    const id = idOf(req);
    let state = states.get(id);
    if (!state) {
      state = {
        access: accessFor(req, http),
        file: join(opts.dir, `index-${++seq}-${Date.now().toString(36)}`),
        gzip: false,
        at: -Infinity,
        charts: new Map(),
        wanted: new Set(),
      };
      states.set(id, state);
    }
    return state;
  };

  /** One conditional GET; a changed index is written to disk and the charts asked for are read again. */
  async function refresh(state: IndexState, req: ChartRequest): Promise<void> {
    const what = `index.yaml of ${redact(req.chart.repository)}`;
    stats.indexRequests++;
    const started = performance.now();
    const answer = await state.access.getIndex(
      { etag: state.etag, lastModified: state.lastModified },
      req.timeoutMs,
    );
    opts.onRemoteCall?.('index', (performance.now() - started) / 1000);
    if (!answer) {
      stats.notModified++;
      state.at = performance.now();
      return;
    }
    await mkdir(opts.dir, { recursive: true });
    const tmp = `${state.file}.tmp`;
    let bytes = 0;
    try {
      await pipeline(
        answer.body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            bytes += chunk.length;
            if (bytes > maxIndexBytes)
              throw new ConvergeError('FetchFailed', `${what} is larger than ${maxIndexBytes >> 20} MiB`);
            yield chunk;
          }
        },
        createWriteStream(tmp, { mode: 0o600 }),
      );
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof ConvergeError) throw err;
      throw new ConvergeError('FetchFailed', `${what}: download cut short (${String(err)})`);
    }
    const gzip = answer.encoded || (await startsWithGzip(tmp));
    // Read the charts asked for before the new file replaces the old: a bad index changes nothing.
    stats.scans++;
    const names = new Set([...state.charts.keys(), ...state.wanted]);
    const scan = await scanIndexFile(tmp, gzip, names, what);
    await rename(tmp, state.file);
    state.gzip = gzip;
    state.etag = answer.etag;
    state.lastModified = answer.lastModified;
    state.charts = new Map([...names].map((name) => [name, scan.charts.get(name) ?? []]));
    state.wanted.clear();
    state.at = performance.now();
    opts.logger.info(
      { repository: redact(req.chart.repository), bytes, charts: scan.total },
      'read chart index',
    );
  }

  async function versionsOf(state: IndexState, req: ChartRequest): Promise<ChartVersion[]> {
    const name = req.chart.name;
    for (;;) {
      const known = state.charts.get(name);
      if (known) return known;
      if (state.scanning) {
        await state.scanning.catch(() => undefined);
        continue;
      }
      // A chart not asked for before (another GitSource's poll was fresh enough): read the index on
      // disk again for it alone.
      state.scanning = (async () => {
        stats.scans++;
        const scan = await scanIndexFile(
          state.file,
          state.gzip,
          new Set([name]),
          `index.yaml of ${redact(req.chart.repository)}`,
        );
        state.charts.set(name, scan.charts.get(name) ?? []);
      })().finally(() => (state.scanning = undefined));
      await state.scanning;
    }
  }

  return {
    checkSecret(chart, secret) {
      // S3 keys for s3://, HTTP credentials otherwise.
      if (chart.repository.startsWith('s3:')) s3CredentialsFromSecret(secret);
      else httpCredentialsFromSecret(secret);
    },

    async resolve(req) {
      const state = stateOf(req);
      if (performance.now() - state.at > req.maxAgeMs) {
        // A chart asked for the first time is read by the same scan as the index it comes with.
        if (!state.charts.has(req.chart.name)) state.wanted.add(req.chart.name);
        state.asking ??= refresh(state, req).finally(() => (state.asking = undefined));
        await state.asking;
      } else if (state.asking) await state.asking.catch(() => undefined);
      const where = redact(req.chart.repository);
      const versions = await versionsOf(state, req);
      const picked = pickVersion(req.chart.name, req.chart.version, versions, where);
      const url = chartUrl(picked.urls[0]!, state.access.indexUrl, where);
      return { version: picked.version, digest: picked.digest, url };
    },

    async download(req, pick) {
      stats.downloads++;
      const started = performance.now();
      const body = await stateOf(req).access.getChart(pick.url, req.timeoutMs);
      opts.onRemoteCall?.('download', (performance.now() - started) / 1000);
      return body;
    },

    expire(req) {
      const state = states.get(idOf(req));
      if (state) state.at = -Infinity;
    },

    async retain(used) {
      const keep = new Set(used.map(idOf));
      for (const [id, state] of [...states]) if (!keep.has(id) && !state.asking) states.delete(id);
      // Index files of repositories gone, and those an earlier run left (their names were its own).
      const files = new Set([...states.values()].flatMap((s) => [s.file, `${s.file}.tmp`]));
      let names: string[];
      try {
        names = await readdir(opts.dir);
      } catch {
        return;
      }
      await Promise.all(
        names
          .map((n) => join(opts.dir, n))
          .filter((f) => !files.has(f))
          .map((f) => rm(f, { force: true })),
      );
    },

    stats: () => ({ ...stats }),
  };
}

/** The first URL of an index entry, made absolute against the index's own URL. */
export function chartUrl(url: string, indexUrl: string, where: string): string {
  let absolute: URL;
  try {
    absolute = new URL(url, indexUrl);
  } catch {
    throw new ConvergeError(
      'FetchFailed',
      `the index of ${where} lists the chart URL ${JSON.stringify(url)}, which is not a URL`,
    );
  }
  if (!['https:', 'http:', 's3:'].includes(absolute.protocol))
    throw new ConvergeError(
      'FetchFailed',
      `the index of ${where} lists a chart at ${redact(absolute.href)}: only http(s) and s3 URLs are fetched`,
    );
  return absolute.href;
}

/** How to reach the repository a request names (by scheme). */
function accessFor(req: ChartRequest, http: HttpStats): IndexAccess {
  const repository = req.chart.repository.replace(/\/+$/, '');
  const scheme = repository.slice(0, repository.indexOf(':'));
  if (scheme === 's3') return s3Access(req, http);
  if (scheme === 'https' || scheme === 'http') return httpAccess(req, http);
  throw new ConvergeError(
    'InvalidSpec',
    `spec.chart.repository ${redact(repository)}: no chart repository kind for ${scheme}://`,
  );
}

function httpAccess(req: ChartRequest, stats: HttpStats): IndexAccess {
  const repository = req.chart.repository.replace(/\/+$/, '');
  const credentials = req.secret ? httpCredentialsFromSecret(req.secret) : undefined;
  const origin = new URL(repository).origin;
  const indexUrl = `${repository}/index.yaml`;
  const where = redact(repository);
  return {
    indexUrl,
    async getIndex(cond, timeoutMs) {
      const headers: Record<string, string> = { 'accept-encoding': 'gzip' };
      if (cond.etag) headers['if-none-match'] = cond.etag;
      else if (cond.lastModified) headers['if-modified-since'] = cond.lastModified;
      const what = `index.yaml of ${where}`;
      const res = await send(
        { url: indexUrl, headers, credentials, passCredentials: req.chart.passCredentials, timeoutMs, what },
        stats,
      );
      if (res.status === 304) {
        res.body.resume();
        return undefined;
      }
      await expectOk(
        res,
        what,
        () =>
          new ConvergeError(
            'FetchFailed',
            `${what}: ${redact(res.url)} not found (404): is ${where} a Helm repository?`,
          ),
      );
      return {
        body: res.body,
        ...(res.headers.etag ? { etag: res.headers.etag } : {}),
        ...(res.headers['last-modified'] ? { lastModified: res.headers['last-modified'] } : {}),
        encoded: res.headers['content-encoding'] === 'gzip',
      };
    },
    async getChart(url, timeoutMs) {
      if (url.startsWith('s3:'))
        throw new ConvergeError(
          'FetchFailed',
          `the index of ${where} lists a chart in S3 (${redact(url)}): use an s3:// repository`,
        );
      const what = `chart ${req.chart.name}`;
      const res = await send(
        {
          url,
          credentials,
          credentialsOrigin: origin,
          passCredentials: req.chart.passCredentials,
          timeoutMs,
          what,
        },
        stats,
      );
      await expectOk(
        res,
        what,
        () =>
          new ConvergeError(
            'FetchFailed',
            `${what}: ${redact(res.url)} not found (404): the index of ${where} lists it, the server does not have it`,
          ),
      );
      return res.body;
    },
  };
}

function s3Access(req: ChartRequest, stats: HttpStats): IndexAccess {
  const { bucket, prefix } = parseS3Url(req.chart.repository.replace(/\/+$/, ''));
  const client = createS3Client({
    ...req.chart.s3,
    credentials: req.secret ? s3CredentialsFromSecret(req.secret) : undefined,
    stats,
  });
  const base = `s3://${bucket}/${prefix ? `${prefix}/` : ''}`;
  const where = redact(req.chart.repository);
  return {
    indexUrl: `${base}index.yaml`,
    async getIndex(cond, timeoutMs) {
      const what = `index.yaml of ${where}`;
      const res = await client.getObject(bucket, `${prefix ? `${prefix}/` : ''}index.yaml`, {
        ifNoneMatch: cond.etag,
        ifModifiedSince: cond.lastModified,
        timeoutMs,
        what,
        notFound: () => new ConvergeError('FetchFailed', `${what}: no index.yaml in ${where} (404)`),
      });
      if (res.status === 304) {
        res.body.resume();
        return undefined;
      }
      return {
        body: res.body,
        ...(res.headers.etag ? { etag: res.headers.etag } : {}),
        ...(res.headers['last-modified'] ? { lastModified: res.headers['last-modified'] } : {}),
        encoded: res.headers['content-encoding'] === 'gzip',
      };
    },
    async getChart(url, timeoutMs) {
      const what = `chart ${req.chart.name}`;
      if (!url.startsWith('s3://')) {
        // A chart elsewhere gets no credentials of the bucket.
        const res = await send({ url, timeoutMs, what }, stats);
        await expectOk(res, what);
        return res.body;
      }
      const target = parseS3Url(url);
      if (target.bucket !== bucket && !req.chart.passCredentials)
        throw new ConvergeError(
          'FetchFailed',
          `${what}: ${redact(url)} is in another bucket than ${where} (set passCredentials to allow it)`,
        );
      const res = await client.getObject(target.bucket, target.prefix, {
        timeoutMs,
        what,
        notFound: () =>
          new ConvergeError(
            'FetchFailed',
            `${what}: ${redact(url)} not found (404): the index of ${where} lists it, the bucket does not have it`,
          ),
      });
      return res.body;
    },
  };
}

async function startsWithGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

// Unpacks a .tar.gz from a source (a chart, an artifact) into a directory, safely: bounded in size,
// ratio and file count, nothing outside the directory (no absolute paths, no `..`, no links leaving it).
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, posix, sep } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ConvergeError } from '../api/index.ts';

export interface ArchiveLimits {
  /** Bytes of the archive itself (compressed). */
  maxCompressedBytes: number;
  /** Bytes once decompressed (the tar stream: headers and file data). */
  maxBytes: number;
  /** Entries (files, directories, links). */
  maxFiles: number;
  /** Decompressed ÷ compressed, checked once past 1 MiB decompressed: a gzip bomb gives itself away. */
  maxRatio: number;
}

/** As for a Git checkout's render (render/limits.ts): 64 MiB, 10,000 files. */
export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxCompressedBytes: 32 * 1024 * 1024,
  maxBytes: 64 * 1024 * 1024,
  maxFiles: 10_000,
  maxRatio: 200,
});

export interface Unpacked {
  files: number;
  bytes: number;
}

const BLOCK = 512;
const RATIO_AFTER_BYTES = 1 << 20;

/**
 * Unpacks `tgz` into `dest` (which must exist and be empty). `what` names the archive in errors
 * ("chart ingress-nginx-4.11.3.tgz"). Throws FetchFailed naming the entry and the limit.
 */
export async function unpackTarGz(
  tgz: Buffer | Readable,
  dest: string,
  what: string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<Unpacked> {
  const fail = (message: string) => new ConvergeError('FetchFailed', `${what}: ${message}`);
  const input = Buffer.isBuffer(tgz) ? Readable.from([tgz]) : tgz;
  let compressed = 0;
  input.on('data', (chunk: Buffer) => (compressed += chunk.length));
  const gunzip = createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);

  const reader = new TarReader(dest, what, limits, fail);
  let total = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (compressed > limits.maxCompressedBytes)
        throw fail(`the archive is larger than ${mib(limits.maxCompressedBytes)}`);
      if (total > limits.maxBytes) throw fail(`unpacks to more than ${mib(limits.maxBytes)}`);
      if (total > RATIO_AFTER_BYTES && total > limits.maxRatio * Math.max(compressed, 1))
        throw fail(`unpacks to more than ${limits.maxRatio} times its size (a compression bomb?)`);
      await reader.push(chunk);
    }
  } catch (err) {
    input.destroy();
    gunzip.destroy();
    if (err instanceof ConvergeError) throw err;
    throw fail(`not a valid .tar.gz: ${err instanceof Error ? err.message : String(err)}`);
  }
  reader.end();
  return { files: reader.files, bytes: total };
}

/** A streaming tar (ustar, pax, GNU long names) reader that writes what it reads under `dest`. */
class TarReader {
  files = 0;
  private buffered: Buffer[] = [];
  private length = 0;
  /** The entry whose data is being read, or undefined while a header is expected. */
  private entry: { name: string; type: string; size: number; linkname: string } | undefined;
  /** Path and link overrides of the next entry (pax `x` headers, GNU `L`/`K`). */
  private pending: { path?: string; linkpath?: string } = {};
  private ended = false;

  constructor(
    private readonly dest: string,
    private readonly what: string,
    private readonly limits: ArchiveLimits,
    private readonly fail: (message: string) => ConvergeError,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    this.buffered.push(chunk);
    this.length += chunk.length;
    for (;;) {
      if (this.ended) return;
      if (!this.entry) {
        if (this.length < BLOCK) return;
        const header = this.take(BLOCK);
        if (header.every((b) => b === 0)) {
          // Two zero blocks end the archive; what follows is padding.
          this.ended = true;
          return;
        }
        this.entry = this.parseHeader(header);
        continue;
      }
      const padded = Math.ceil(this.entry.size / BLOCK) * BLOCK;
      if (this.length < padded) return;
      const data = this.take(padded).subarray(0, this.entry.size);
      const entry = this.entry;
      this.entry = undefined;
      await this.handle(entry, data);
    }
  }

  end(): void {
    if (this.entry) throw this.fail('the archive ends in the middle of an entry');
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.length);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.length = rest.length;
    return Buffer.from(out);
  }

  private parseHeader(h: Buffer) {
    const str = (from: number, len: number) => {
      const raw = h.subarray(from, from + len);
      const end = raw.indexOf(0);
      return raw.subarray(0, end === -1 ? len : end).toString('utf8');
    };
    const sum = h.reduce((a, b, i) => a + (i >= 148 && i < 156 ? 32 : b), 0);
    if (parseInt(str(148, 8).trim() || 'x', 8) !== sum)
      throw this.fail('not a tar archive (bad header checksum)');
    let size: number;
    if (h[124]! & 0x80) {
      // GNU base-256 size: only a huge entry needs it.
      size = Number.MAX_SAFE_INTEGER;
    } else size = parseInt(str(124, 12).trim() || '0', 8);
    const prefix = str(257, 6).startsWith('ustar') ? str(345, 155) : '';
    const base = str(0, 100);
    const name = prefix ? `${prefix}/${base}` : base;
    const type = String.fromCharCode(h[156]! || 0x30);
    if (!Number.isFinite(size) || size < 0 || size > this.limits.maxBytes)
      throw this.fail(`entry ${JSON.stringify(name)} is larger than ${mib(this.limits.maxBytes)}`);
    return { name, type, size, linkname: str(157, 100) };
  }

  private async handle(
    entry: { name: string; type: string; size: number; linkname: string },
    data: Buffer,
  ): Promise<void> {
    switch (entry.type) {
      case 'x':
        this.pending = { ...this.pending, ...parsePax(data) };
        return;
      case 'g':
        return;
      case 'L':
        this.pending.path = data.toString('utf8').replace(/\0+$/, '');
        return;
      case 'K':
        this.pending.linkpath = data.toString('utf8').replace(/\0+$/, '');
        return;
    }
    const name = this.pending.path ?? entry.name;
    const linkname = this.pending.linkpath ?? entry.linkname;
    this.pending = {};
    if (++this.files > this.limits.maxFiles) throw this.fail(`has more than ${this.limits.maxFiles} entries`);
    const target = this.safePath(name);
    if (target === undefined) return;
    switch (entry.type) {
      case '0':
      case '7':
        await mkdir(dirname(target), { recursive: true });
        // `wx`: never writes through something an earlier entry put there (a link).
        await writeFile(target, data, { flag: 'wx', mode: 0o644 }).catch((err: NodeJS.ErrnoException) => {
          throw this.fail(`entry ${JSON.stringify(name)} could not be written (${err.code ?? err.message})`);
        });
        return;
      case '5':
        await mkdir(target, { recursive: true });
        return;
      case '2':
        this.checkLink(name, linkname);
        await mkdir(dirname(target), { recursive: true });
        await symlink(linkname, target);
        return;
      case '1':
        throw this.fail(`entry ${JSON.stringify(name)} is a hard link, which is not accepted`);
      default:
        throw this.fail(`entry ${JSON.stringify(name)} is a device, FIFO or unknown type '${entry.type}'`);
    }
  }

  /** Where `name` goes under dest; undefined for the root itself. Refuses anything leaving it. */
  private safePath(name: string): string | undefined {
    if (name.includes('\0')) throw this.fail(`entry name ${JSON.stringify(name)} holds a NUL byte`);
    if (name.startsWith('/') || isAbsolute(name) || /^[A-Za-z]:/.test(name))
      throw this.fail(`entry ${JSON.stringify(name)} has an absolute path`);
    const parts = name.split(/[/\\]/);
    if (parts.includes('..'))
      throw this.fail(`entry ${JSON.stringify(name)} leaves the archive (path traversal)`);
    const clean = parts.filter((p) => p !== '' && p !== '.').join(sep);
    if (clean === '') return undefined;
    const full = normalize(join(this.dest, clean));
    if (!full.startsWith(this.dest + sep))
      throw this.fail(`entry ${JSON.stringify(name)} leaves the archive (path traversal)`);
    return full;
  }

  /**
   * A link must stay inside the archive: relative and without `..` (a `..` after another link can
   * leave it however it reads), so no link, nor any path through links, can point outside.
   */
  private checkLink(name: string, linkname: string): void {
    if (
      linkname === '' ||
      posix.isAbsolute(linkname) ||
      isAbsolute(linkname) ||
      linkname.split(/[/\\]/).includes('..')
    )
      throw this.fail(
        `entry ${JSON.stringify(name)} is a link to ${JSON.stringify(linkname)}, outside the archive or through '..'`,
      );
  }
}

/** pax extended header records: "<len> <key>=<value>\n". Only path and linkpath matter here. */
function parsePax(data: Buffer): { path?: string; linkpath?: string } {
  const out: { path?: string; linkpath?: string } = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const len = parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    if (key === 'path') out.path = record.slice(eq + 1);
    if (key === 'linkpath') out.linkpath = record.slice(eq + 1);
    at += len;
  }
  return out;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

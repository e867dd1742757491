// Unpacks a tar+gzip layer into a directory as a stream, refusing what a hostile artifact could do:
// more bytes or files than allowed, a compression ratio of a bomb, absolute paths, `..`, links that
// leave the root, and devices. Nothing is kept from a layer that fails: the caller removes the directory.
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, realpath, symlink, stat } from 'node:fs/promises';
import { dirname, join, posix, resolve, sep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ConvergeError } from '../../api/index.ts';
import { formatBytes } from './client.ts';

export interface UntarLimits {
  /** Bytes of all files unpacked. */
  maxBytes: number;
  /** Entries (files, directories, links). */
  maxEntries: number;
  /** Unpacked bytes per compressed byte, enforced once past 1 MiB unpacked (small files compress well). */
  maxRatio: number;
}

export const DEFAULT_UNTAR_LIMITS: Readonly<UntarLimits> = Object.freeze({
  maxBytes: 256 * 1024 * 1024,
  maxEntries: 20_000,
  maxRatio: 200,
});

export interface UntarResult {
  files: number;
  bytes: number;
}

const BLOCK = 512;

/** `what` names the layer in messages ("layer sha256:abc… of fleet/app"). */
export async function untarGzip(
  file: string,
  dest: string,
  what: string,
  limits: UntarLimits = DEFAULT_UNTAR_LIMITS,
): Promise<UntarResult> {
  await mkdir(dest, { recursive: true });
  const root = await realpath(dest);
  const compressed = (await stat(file)).size;
  const refuse = (why: string) =>
    new ConvergeError('FetchFailed', `${what}: ${why}; refused, nothing applied`);
  let entries = 0;
  let bytes = 0;
  let buf: Buffer = Buffer.alloc(0);
  // Per-entry state across chunks.
  let current:
    | {
        remaining: number;
        pad: number;
        sink?: import('node:fs/promises').FileHandle;
        meta?: 'pax' | 'longname' | 'longlink';
        data?: Buffer[];
      }
    | undefined;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let ended = false;
  const links: string[] = [];

  const inside = (p: string) => p === root || p.startsWith(root + sep);

  const safeName = (raw: string): string => {
    if (raw.includes('\0')) throw refuse(`entry name ${JSON.stringify(raw.slice(0, 80))} holds a NUL byte`);
    if (raw.startsWith('/')) throw refuse(`entry ${raw.slice(0, 200)} is an absolute path`);
    const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw refuse(`entry ${raw.slice(0, 200)} leaves the root (..)`);
    return parts.join('/');
  };

  /** The directory an entry goes in, created, its real path checked (a symlinked parent could lead out). */
  const parentOf = async (name: string): Promise<string> => {
    const dir = dirname(join(root, name));
    await mkdir(dir, { recursive: true });
    const real = await realpath(dir);
    if (!inside(real)) throw refuse(`entry ${name} would be written outside the root through a symlink`);
    return real;
  };

  const startEntry = async (header: Buffer) => {
    const type = String.fromCharCode(header[156]!);
    const size = readSize(header.subarray(124, 136));
    if (size === undefined) throw refuse('a tar header has an invalid size');
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > 1024 * 1024) throw refuse('a tar metadata header is larger than 1 MiB');
      current = {
        remaining: size,
        pad,
        meta: type === 'L' ? 'longname' : type === 'K' ? 'longlink' : 'pax',
        data: [],
      };
      if (type === 'g') current.meta = undefined; // global pax headers carry nothing we use
      return;
    }
    entries++;
    if (entries > limits.maxEntries) throw refuse(`more than ${limits.maxEntries} entries`);
    const prefix = cString(header.subarray(345, 500));
    const rawName =
      pax.path ??
      longName ??
      (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    const linkName = pax.linkpath ?? longLink ?? cString(header.subarray(157, 257));
    pax = {};
    longName = undefined;
    longLink = undefined;
    const name = safeName(rawName);
    current = { remaining: size, pad };
    if (name === '') return; // the root itself
    if (type === '0' || type === '\0' || type === '7') {
      bytes += size;
      if (bytes > limits.maxBytes) throw refuse(`unpacks to more than ${formatBytes(limits.maxBytes)}`);
      const parent = await parentOf(name);
      const target = join(parent, posix.basename(name));
      // Never written through a link: an existing symlink at the name is refused.
      const existing = await lstat(target).catch(() => undefined);
      if (existing?.isSymbolicLink()) throw refuse(`entry ${name} would be written through a symlink`);
      if (existing?.isDirectory()) throw refuse(`entry ${name} is both a directory and a file`);
      current.sink = await open(target, 'w', 0o644);
      return;
    }
    if (type === '5') {
      const parent = await parentOf(name);
      await mkdir(join(parent, posix.basename(name)), { recursive: true });
      return;
    }
    if (type === '2') {
      if (linkName.startsWith('/'))
        throw refuse(`symlink ${name} points at the absolute path ${linkName.slice(0, 200)}`);
      const parent = await parentOf(name);
      const resolved = resolve(parent, linkName);
      if (!inside(resolved)) throw refuse(`symlink ${name} → ${linkName.slice(0, 200)} leaves the root`);
      await symlink(linkName, join(parent, posix.basename(name)));
      links.push(name);
      return;
    }
    if (type === '1') throw refuse(`entry ${name} is a hard link (not accepted)`);
    throw refuse(`entry ${name} is a device, FIFO or unknown type ${JSON.stringify(type)}`);
  };

  const finishMeta = () => {
    const data = Buffer.concat(current!.data ?? []);
    if (current!.meta === 'pax') pax = parsePax(data);
    else if (current!.meta === 'longname') longName = cString(data);
    else if (current!.meta === 'longlink') longLink = cString(data);
  };

  const gunzip = createGunzip();
  const input = createReadStream(file);
  input.pipe(gunzip);
  input.on('error', (err) => gunzip.destroy(err));
  let unpacked = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      unpacked += chunk.length;
      if (unpacked > 1024 * 1024 && unpacked > compressed * limits.maxRatio) {
        throw refuse(`compression ratio over ${limits.maxRatio}:1 (a decompression bomb)`);
      }
      if (unpacked > limits.maxBytes + 64 * 1024 * 1024)
        throw refuse(`unpacks to more than ${formatBytes(limits.maxBytes)}`);
      if (ended) continue; // trailing zero blocks
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (current) {
          if (current.remaining > 0) {
            if (buf.length === 0) break;
            const n = Math.min(current.remaining, buf.length);
            const part = buf.subarray(0, n);
            if (current.sink) await current.sink.write(part);
            else if (current.data) current.data.push(Buffer.from(part));
            current.remaining -= n;
            buf = buf.subarray(n);
            if (current.remaining > 0) break;
          }
          if (buf.length < current.pad) break;
          buf = buf.subarray(current.pad);
          if (current.sink) await current.sink.close();
          if (current.meta) finishMeta();
          current = undefined;
        }
        if (buf.length < BLOCK) break;
        const header = buf.subarray(0, BLOCK);
        buf = buf.subarray(BLOCK);
        if (header.every((b) => b === 0)) {
          ended = true;
          break;
        }
        if (!checksumOk(header))
          throw refuse('a tar header checksum is wrong (not a tar archive, or corrupt)');
        await startEntry(header);
      }
    }
  } catch (err) {
    await current?.sink?.close().catch(() => undefined);
    input.destroy();
    if (err instanceof ConvergeError) throw err;
    throw refuse(`not a valid tar+gzip layer (${(err as Error).message})`);
  }
  if (current && (current.remaining > 0 || !ended)) {
    await current.sink?.close().catch(() => undefined);
    if (current.remaining > 0) throw refuse('the archive ends inside an entry (truncated)');
  }
  // Each link was checked by its text; a chain of links (a → b/.. where b → ..) can still lead out,
  // so every link that resolves now must resolve inside.
  for (const name of links) {
    const real = await realpath(join(root, name)).catch(() => undefined);
    if (real !== undefined && !inside(real))
      throw refuse(`symlink ${name} leads outside the root through other links`);
  }
  return { files: entries, bytes };
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

/** Octal (space/NUL padded) or base-256 (high bit set) sizes. */
function readSize(field: Buffer): number | undefined {
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const text = cString(field).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = parseInt(cString(header.subarray(148, 156)).trim() || 'x', 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return stored === sum;
}

/** PAX records: "<len> key=value\n". */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = parseInt(data.subarray(i, space).toString('ascii'), 10);
    if (!Number.isSafeInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

// Builds .tar.gz archives byte by byte for tests, hostile ones included (what `tar` refuses to write).
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char';
  body?: string | Buffer;
  linkname?: string;
  /** Write the name in a pax `x` header or a GNU `L` entry (names past 100 bytes). */
  longName?: 'pax' | 'gnu';
}

const TYPE = { file: '0', dir: '5', symlink: '2', hardlink: '1', char: '3' } as const;

function header(name: string, type: string, size: number, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(linkname.slice(0, 100), 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  const sum = h.reduce((a, b) => a + b, 0);
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function padded(body: Buffer): Buffer {
  const pad = (512 - (body.length % 512)) % 512;
  return Buffer.concat([body, Buffer.alloc(pad)]);
}

export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    if (e.longName === 'pax') {
      const record = (k: string, v: string) => {
        let len = k.length + v.length + 3;
        len += String(len).length;
        if (String(len).length !== String(len - String(len).length).length) len++;
        return `${len} ${k}=${v}\n`;
      };
      const pax = Buffer.from(record('path', e.name));
      parts.push(header('PaxHeader', 'x', pax.length), padded(pax));
    } else if (e.longName === 'gnu') {
      const long = Buffer.from(`${e.name}\0`);
      parts.push(header('././@LongLink', 'L', long.length), padded(long));
    }
    const type = TYPE[e.type ?? 'file'];
    parts.push(header(e.name, type, type === '0' ? body.length : 0, e.linkname));
    if (type === '0') parts.push(padded(body));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function tarGz(entries: TarEntry[], opts: { truncateTo?: number } = {}): Buffer {
  const raw = tar(entries);
  return gzipSync(opts.truncateTo ? raw.subarray(0, opts.truncateTo) : raw);
}

// Safe unpacking of source archives: what lands where, and every hostile archive refused by name.
import { mkdtemp, readFile, readlink, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../src/api/index.ts';
import { DEFAULT_ARCHIVE_LIMITS, unpackTarGz } from '../../../src/source/archive.ts';
import { tarGz, type TarEntry } from '../../support/tar.ts';

let dir: string;
let dest: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'archive-test-'));
  dest = join(dir, 'out');
  await import('node:fs/promises').then((fs) => fs.mkdir(dest));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function refused(entries: TarEntry[] | Buffer, pattern: RegExp, limits = DEFAULT_ARCHIVE_LIMITS) {
  const archive = Buffer.isBuffer(entries) ? entries : tarGz(entries);
  const err = await unpackTarGz(archive, dest, 'chart demo-1.0.0.tgz', limits).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConvergeError);
  expect((err as ConvergeError).reason).toBe('FetchFailed');
  expect((err as Error).message).toMatch(/^chart demo-1\.0\.0\.tgz: /);
  expect((err as Error).message).toMatch(pattern);
}

describe('unpackTarGz', () => {
  it('unpacks files, directories, long names (pax and GNU) and links that stay inside', async () => {
    const long = `demo/templates/${'x'.repeat(120)}.yaml`;
    const out = await unpackTarGz(
      tarGz([
        { name: 'demo/', type: 'dir' },
        { name: 'demo/Chart.yaml', body: 'name: demo\nversion: 1.0.0\n' },
        { name: long, body: 'kind: ConfigMap\n', longName: 'pax' },
        { name: `demo/${'y'.repeat(110)}.txt`, body: 'gnu', longName: 'gnu' },
        { name: 'demo/values.yaml', type: 'symlink', linkname: 'Chart.yaml' },
      ]),
      dest,
      'chart demo',
    );
    expect(out.files).toBe(5);
    expect(await readFile(join(dest, 'demo/Chart.yaml'), 'utf8')).toContain('name: demo');
    expect(await readFile(join(dest, long), 'utf8')).toBe('kind: ConfigMap\n');
    expect(await readFile(join(dest, 'demo', `${'y'.repeat(110)}.txt`), 'utf8')).toBe('gnu');
    expect(await readlink(join(dest, 'demo/values.yaml'))).toBe('Chart.yaml');
  });

  it('refuses path traversal and absolute paths, writing nothing outside', async () => {
    await refused(
      [{ name: '../evil.yaml', body: 'x' }],
      /"\.\.\/evil\.yaml" leaves the archive \(path traversal\)/,
    );
    await refused([{ name: 'demo/../../evil', body: 'x' }], /path traversal/);
    await refused([{ name: '/etc/evil', body: 'x' }], /"\/etc\/evil" has an absolute path/);
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('refuses links leaving the root, hard links and devices', async () => {
    await refused(
      [{ name: 'demo/l', type: 'symlink', linkname: '/etc/passwd' }],
      /is a link to "\/etc\/passwd", outside/,
    );
    await refused(
      [{ name: 'demo/l', type: 'symlink', linkname: '../../x' }],
      /outside the archive or through '\.\.'/,
    );
    await refused([{ name: 'demo/h', type: 'hardlink', linkname: 'demo/Chart.yaml' }], /is a hard link/);
    await refused([{ name: 'demo/dev', type: 'char' }], /is a device, FIFO or unknown type '3'/);
  });

  it('never writes through a link an earlier entry made', async () => {
    await refused(
      [
        { name: 'demo/', type: 'dir' },
        { name: 'demo/Chart.yaml', body: 'a' },
        { name: 'demo/l', type: 'symlink', linkname: 'Chart.yaml' },
        { name: 'demo/l', body: 'overwritten' },
      ],
      /entry "demo\/l" could not be written \(EEXIST\)/,
    );
    expect(await readFile(join(dest, 'demo/Chart.yaml'), 'utf8')).toBe('a');
  });

  it('refuses a compression bomb by its ratio, and archives past the size and entry limits', async () => {
    const bomb = [{ name: 'demo/zeros', body: Buffer.alloc(8 << 20) }];
    await refused(bomb, /unpacks to more than 200 times its size \(a compression bomb\?\)/);
    const limits = { ...DEFAULT_ARCHIVE_LIMITS, maxBytes: 4 << 20, maxRatio: 1e9 };
    await refused(bomb, /entry "demo\/zeros" is larger than 4 MiB/, limits);
    const parts = ['a', 'b'].map((n) => ({ name: `demo/${n}`, body: Buffer.alloc(3 << 20) }));
    await refused(parts, /unpacks to more than 4 MiB/, limits);
    await refused(
      Array.from({ length: 12 }, (_, i) => ({ name: `demo/f${i}`, body: 'x' })),
      /has more than 10 entries/,
      { ...DEFAULT_ARCHIVE_LIMITS, maxFiles: 10 },
    );
    await refused(
      tarGz([{ name: 'demo/a', body: Buffer.alloc(4096, 7) }]),
      /the archive is larger than 0 MiB/,
      {
        ...DEFAULT_ARCHIVE_LIMITS,
        maxCompressedBytes: 10,
      },
    );
  });

  it('refuses what is not a .tar.gz', async () => {
    await refused(Buffer.from('<html>not found</html>'), /not a valid \.tar\.gz/);
    await refused(gzipSync(Buffer.alloc(512, 65)), /not a tar archive \(bad header checksum\)/);
    const cut = tarGz([{ name: 'demo/a', body: Buffer.alloc(5000, 1) }], { truncateTo: 1024 });
    await refused(cut, /ends in the middle of an entry|not a valid/);
  });
});

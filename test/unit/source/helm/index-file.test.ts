// The index scan: only the charts asked for are parsed, whatever the style (block as helm writes it,
// flow/JSON, CRLF, gzip), and what is not an index says so.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nearest, pickVersion, scanIndex, scanIndexFile } from '../../../../src/source/helm/index.ts';

const INDEX = `apiVersion: v1
entries:
  alpine:
  - apiVersion: v2
    description: |
      A multi-line description
      alpine: not a chart key
    digest: sha256:ABCDEF
    name: alpine
    urls:
    - alpine-1.10.tgz
    version: "1.10"
  - name: alpine
    urls: [https://mirror.example.com/alpine-0.2.0.tgz]
    version: 0.2.0
  "nginx":
  - name: nginx
    urls:
    - nginx-2.0.0.tgz
    version: 2.0.0
  empty: []
generated: "2026-01-01T00:00:00Z"
`;

const scan = (text: string | Buffer, wanted: string[]) =>
  scanIndex(Readable.from([text]), new Set(wanted), 'index.yaml of repo');

describe('scanIndex', () => {
  it('keeps only the charts asked for, versions as strings, digests without their prefix', async () => {
    const out = await scan(INDEX, ['alpine']);
    expect(out.total).toBe(3);
    expect([...out.charts.keys()]).toEqual(['alpine']);
    expect(out.charts.get('alpine')).toEqual([
      { name: 'alpine', version: '1.10', digest: 'abcdef', urls: ['alpine-1.10.tgz'], created: undefined },
      {
        name: 'alpine',
        version: '0.2.0',
        digest: undefined,
        urls: ['https://mirror.example.com/alpine-0.2.0.tgz'],
        created: undefined,
      },
    ]);
    expect((await scan(INDEX, ['nginx'])).charts.get('nginx')?.[0]?.version).toBe('2.0.0');
    expect((await scan(INDEX.replaceAll('\n', '\r\n'), ['nginx'])).charts.get('nginx')).toHaveLength(1);
  });

  it('reads a flow-style (JSON) index and a gzip file', async () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      entries: { nginx: [{ name: 'nginx', version: '1.0.0', urls: ['n.tgz'] }] },
    });
    expect((await scan(json, ['nginx'])).charts.get('nginx')?.[0]?.urls).toEqual(['n.tgz']);
    const dir = await mkdtemp(join(tmpdir(), 'index-'));
    try {
      await writeFile(join(dir, 'index.yaml'), gzipSync(INDEX));
      expect(
        (await scanIndexFile(join(dir, 'index.yaml'), true, new Set(['alpine']), 'x')).charts.get('alpine'),
      ).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('what is not an index says so', async () => {
    await expect(scan('<html>\n</html>\n', ['a'])).rejects.toThrow(
      /^index\.yaml of repo is not a Helm repository index \(its first line is not a YAML key/,
    );
    await expect(scan('apiVersion: v1\n', ['a'])).rejects.toThrow('(it has no "entries")');
    await expect(scan('kind: Deployment\n', ['a'])).rejects.toThrow('(no "apiVersion" and no "entries")');
    await expect(scan('apiVersion: v1\nentries:\n  a: [oops\n', ['a'])).rejects.toThrow(
      /the entries of chart a are not YAML/,
    );
  });
});

describe('pickVersion', () => {
  const versions = ['1.0.0', '1.1.0', '1.2.0-rc.1', '2.0.0', '3.1.0'].map((version) => ({
    name: 'x',
    version,
    urls: ['u'],
  }));
  it('picks the highest stable, a range, an exact prerelease', () => {
    expect(pickVersion('x', '*', versions, 'repo').version).toBe('3.1.0');
    expect(pickVersion('x', '^1.0.0', versions, 'repo').version).toBe('1.1.0');
    expect(pickVersion('x', '1.2.0-rc.1', versions, 'repo').version).toBe('1.2.0-rc.1');
  });
  it('lists the nearest versions around the range when none matches', () => {
    expect(() => pickVersion('x', '>=2.5.0 <3.0.0', versions, 'repo')).toThrow(
      'no version of chart x in repo matches ">=2.5.0 <3.0.0"; the nearest are 2.0.0, 1.2.0-rc.1, 1.1.0, 3.1.0 (5 versions)',
    );
    expect(nearest(versions, '>=9')).toEqual(['3.1.0', '2.0.0', '1.2.0-rc.1']);
  });
});

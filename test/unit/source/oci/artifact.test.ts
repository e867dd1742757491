// OCI artifacts as sources against a real registry: Flux's format and generic tar+gzip layers, tag,
// semver and digest refs, the cost of an unchanged poll (one HEAD), and hostile artifacts refused
// with a reason and nothing left behind.
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { createOciSource, type OciRequest, type OciSource } from '../../../../src/source/oci/index.ts';
import {
  FLUX_CONTENT,
  pushArtifact,
  startRegistry,
  tarGz,
  type Registry,
  type TarEntry,
} from '../../../support/registry.ts';

const CM = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { a: "1" }\n`;

let reg: Registry;
let work: string;
let source: OciSource;
beforeAll(async () => {
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'converge-oci-src-'));
  source = createOciSource({
    workDir: work,
    logger: pino({ level: 'silent' }),
    archiveLimits: { maxCompressedBytes: 1 << 30, maxBytes: 4 * 1024 * 1024, maxFiles: 50, maxRatio: 200 },
  });
});
afterAll(async () => {
  await reg.close();
  await rm(work, { recursive: true, force: true });
});

const request = (repo: string, extra: Partial<OciRequest> = {}): OciRequest => ({
  key: `k-${repo.replace(/\W/g, '-')}-${JSON.stringify(extra.ref ?? {}).replace(/\W/g, '')}`,
  url: `oci://${reg.host}/${repo}`,
  insecure: true,
  timeoutMs: 10_000,
  ...extra,
});

async function failure(p: Promise<unknown>): Promise<ConvergeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConvergeError);
  return err as ConvergeError;
}

describe('Flux artifacts', () => {
  it('resolves a tag to <tag>@sha256:<digest>, unpacks the content layer, and an unchanged poll is one HEAD', async () => {
    const digest = await pushArtifact(reg, 'flux/app', 'v1.0.0', {
      layers: [{ mediaType: FLUX_CONTENT, data: tarGz([{ name: 'deploy/cm.yaml', data: CM('one') }]) }],
    });
    const req = request('flux/app', { ref: { tag: 'v1.0.0' } });
    const resolved = await source.resolveRevision(req);
    expect(resolved.revision).toBe(`v1.0.0@${digest}`);
    const fetched = await source.fetchRevision(req, resolved);
    expect(fetched.fetched).toBe(true);
    expect(await readFile(join(fetched.dir, 'deploy/cm.yaml'), 'utf8')).toBe(CM('one'));
    fetched.release();

    reg.resetRequests();
    const again = await source.resolveRevision(req);
    const cached = await source.fetchRevision(req, again);
    cached.release();
    expect(cached.fetched).toBe(false);
    expect(reg.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      'HEAD /v2/flux/app/manifests/v1.0.0',
    ]);
  });

  it('follows a semver range to the highest matching tag, and a pinned digest with no request to resolve', async () => {
    const d1 = await pushArtifact(reg, 'flux/range', '1.2.0', {
      layers: [{ mediaType: FLUX_CONTENT, data: tarGz([{ name: 'a.yaml', data: CM('a') }]) }],
    });
    await pushArtifact(reg, 'flux/range', '2.0.0', {
      layers: [{ mediaType: FLUX_CONTENT, data: tarGz([{ name: 'b.yaml', data: CM('b') }]) }],
    });
    const resolved = await source.resolveRevision(
      request('flux/range', { ref: { semver: '>=1.0.0 <2.0.0' } }),
    );
    expect(resolved.revision).toBe(`1.2.0@${d1}`);
    const none = await failure(source.resolveRevision(request('flux/range', { ref: { semver: '>=3.0.0' } })));
    expect(none.reason).toBe('RefNotFound');
    expect(none.message).toMatch(/matches semver range ">=3.0.0" \(the highest tags are 2\.0\.0, 1\.2\.0\)/);

    reg.resetRequests();
    const pinned = request('flux/range', { ref: { digest: d1 } });
    const byDigest = await source.resolveRevision(pinned);
    expect(byDigest.revision).toBe(d1);
    expect(reg.requests()).toEqual([]);
    const fetched = await source.fetchRevision(pinned, byDigest);
    expect(await readdir(fetched.dir)).toEqual(['a.yaml']);
    fetched.release();
  });
});

describe('a push announced before the tag moves', () => {
  it(
    'looks again shortly after and says the key moved, for every GitSource sharing it',
    { timeout: 20_000 },
    async () => {
      const d1 = await pushArtifact(reg, 'flux/late', 'v1', {
        layers: [{ mediaType: FLUX_CONTENT, data: tarGz([{ name: 'a.yaml', data: CM('a') }]) }],
      });
      const moved: Array<[string, string | undefined]> = [];
      source.onMoved((_key, revision, by) => moved.push([revision, by]));
      const req = request('flux/late', { ref: { tag: 'v1' }, owner: 'uid-1' });
      expect((await source.resolveRevision(req)).digest).toBe(d1);
      // The push is announced (webhook → expire) while the registry still serves the old tag.
      source.expire('uid-1');
      expect((await source.resolveRevision(req)).digest).toBe(d1);
      const d2 = await pushArtifact(reg, 'flux/late', 'v1', {
        layers: [{ mediaType: FLUX_CONTENT, data: tarGz([{ name: 'b.yaml', data: CM('b') }]) }],
      });
      const deadline = Date.now() + 10_000;
      while (!moved.some(([r]) => r === `v1@${d2}`) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(moved).toContainEqual([`v1@${d2}`, undefined]);
    },
  );
});

describe('generic artifacts', () => {
  it('takes the single tar+gzip layer, or the layer layerSelector names (copy keeps a file as it is)', async () => {
    await pushArtifact(reg, 'generic/app', 'v1', {
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', data: Buffer.from('{}') },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          data: tarGz([{ name: 'x.yaml', data: CM('x') }]),
        },
      ],
    });
    const fetched = await source.fetchRevision(request('generic/app', { ref: { tag: 'v1' } }));
    expect(await readFile(join(fetched.dir, 'x.yaml'), 'utf8')).toBe(CM('x'));
    fetched.release();

    await pushArtifact(reg, 'generic/two', 'v1', {
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', data: Buffer.from('{}') },
      layers: [
        { mediaType: 'text/plain', data: Buffer.from('readme') },
        {
          mediaType: 'application/yaml',
          data: Buffer.from(CM('copied')),
          annotations: { 'org.opencontainers.image.title': 'all.yaml' },
        },
      ],
    });
    const unknown = await failure(source.fetchRevision(request('generic/two', { ref: { tag: 'v1' } })));
    expect(unknown.message).toMatch(
      /cannot tell which layer .*text\/plain, application\/yaml.*set spec.layerSelector.mediaType/,
    );
    const copied = await source.fetchRevision(
      request('generic/two', {
        key: 'generic-two-copy',
        ref: { tag: 'v1' },
        layerSelector: { mediaType: 'application/yaml', operation: 'copy' },
      }),
    );
    expect(await readFile(join(copied.dir, 'all.yaml'), 'utf8')).toBe(CM('copied'));
    copied.release();
  });
});

describe('hostile artifacts are refused with a reason, nothing unpacked', () => {
  const cases: Array<[string, TarEntry[] | Buffer, RegExp]> = [
    [
      'path traversal',
      [{ name: '../../escape.yaml', data: CM('e') }],
      /entry "\.\.\/\.\.\/escape\.yaml" leaves the archive \(path traversal\)/,
    ],
    [
      'an absolute path',
      [{ name: '/etc/cron.d/x', data: 'x' }],
      /entry "\/etc\/cron\.d\/x" has an absolute path/,
    ],
    [
      'a symlink leaving the root',
      [{ name: 'link', symlink: '../../../etc/passwd' }],
      /entry "link" is a link to "\.\.\/\.\.\/\.\.\/etc\/passwd", outside the archive/,
    ],
    [
      'a chain of symlinks leading out',
      [
        { name: 'd/up', symlink: '..' },
        { name: 'out', symlink: 'd/up/..' },
      ],
      /entry "d\/up" is a link to "\.\.", outside the archive or through '\.\.'/,
    ],
    [
      'a file written through a symlinked directory',
      [
        { name: 'd/up', symlink: '..' },
        { name: 'out', symlink: 'd/up/..' },
        { name: 'out/pwn.yaml', data: 'x' },
      ],
      /entry "d\/up" is a link to "\.\."/,
    ],
    [
      'a hard link',
      [
        { name: 'a.yaml', data: 'x' },
        { name: 'b.yaml', hardlink: '/etc/shadow' },
      ],
      /entry "b\.yaml" is a hard link/,
    ],
    [
      'too many files',
      Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.yaml`, data: CM(`f${i}`) })),
      /has more than 50 entries/,
    ],
    [
      'a compression bomb',
      [{ name: 'zeros.yaml', data: Buffer.alloc(3 * 1024 * 1024) }],
      /unpacks to more than 200 times its size \(a compression bomb\?\)/,
    ],
    [
      'more bytes than allowed',
      [
        {
          name: 'big.yaml',
          data: Buffer.from(Array.from({ length: 5 * 1024 * 1024 }, (_, i) => (i * 7919) % 251)),
        },
      ],
      /entry "big\.yaml" is larger than 4 MiB/,
    ],
    ['not a tar archive', Buffer.from('just text, not gzip'), /not a valid \.tar\.gz/],
  ];
  it.each(cases)('%s', async (title, entries, why) => {
    const repo = `hostile/${title.replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '')}`;
    const data = Buffer.isBuffer(entries) ? entries : tarGz(entries);
    await pushArtifact(reg, repo, 'v1', { layers: [{ mediaType: FLUX_CONTENT, data }] });
    const req = request(repo, { ref: { tag: 'v1' } });
    const err = await failure(source.fetchRevision(req));
    expect(err.message).toMatch(why);
    expect(err.message).toMatch(/refused, nothing applied/);
    // Nothing of the layer is left: no tree, no temp dir, no blob.
    const left = await readdir(join(work, req.key)).catch(() => []);
    expect(left).toEqual([]);
    await expect(readlink(join(work, '..', 'escape.yaml'))).rejects.toThrow();
  });

  it('a manifest declaring a 10 GB layer is refused before download', async () => {
    await pushArtifact(reg, 'hostile/huge', 'v1', {
      layers: [
        {
          mediaType: FLUX_CONTENT,
          data: tarGz([{ name: 'a.yaml', data: CM('a') }]),
          declaredSize: 10 * 1000 ** 3,
        },
      ],
    });
    reg.resetRequests();
    const err = await failure(source.fetchRevision(request('hostile/huge', { ref: { tag: 'v1' } })));
    expect(err.message).toMatch(/declares 9\.3 GiB, over the 256\.0 MiB limit; not downloaded/);
    expect(reg.requests().filter((r) => r.path.includes('/blobs/'))).toEqual([]);
  });
});

// S3 buckets as sources against a real S3-compatible server (versitygw): Flux's Bucket revision, one
// list page per unchanged poll, only changed objects downloaded, exclude honoured, pages followed,
// and keys that could leave the prefix or too many keys refused with a reason.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import {
  bucketEntries,
  bucketRevision,
  createBucketSource,
  type BucketRequest,
} from '../../../../src/source/bucket/index.ts';
import { startS3Server, type S3Server } from '../../../support/s3-server.ts';

let s3: S3Server;
let work: string;
const ro = { timeoutMs: 10_000 };
const CM = (name: string, v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { v: "${v}" }\n`;

beforeAll(async () => {
  s3 = await startS3Server();
  work = await mkdtemp(join(tmpdir(), 'converge-bucket-'));
}, 600_000);
afterAll(async () => {
  await s3?.close();
  await rm(work, { recursive: true, force: true });
});

const source = (limits = {}) =>
  createBucketSource({
    workDir: join(work, String(Math.random()).slice(2)),
    logger: pino({ level: 'silent' }),
    limits,
  });
const request = (bucket: string, prefix: string, extra: Partial<BucketRequest> = {}): BucketRequest => ({
  key: `${bucket}-${prefix}`.replace(/\W/g, '-'),
  url: `s3://${bucket}/${prefix}`,
  s3: { endpoint: s3.endpoint, region: s3.region, insecure: true },
  credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
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

describe('S3 bucket source', () => {
  it("revision is Flux's sha256 over sorted `<key> <etag>` lines; an unchanged poll is one list page; only changed objects download", async () => {
    await s3.client.createBucket('fleet', ro);
    await s3.client.putObject('fleet', 'prod/apps/a.yaml', CM('a', '1'), ro);
    await s3.client.putObject('fleet', 'prod/apps/b.yaml', CM('b', '1'), ro);
    await s3.client.putObject('fleet', 'prod/test/t.yaml', CM('t', '1'), ro);
    await s3.client.putObject('fleet', 'staging/x.yaml', CM('x', '1'), ro);
    const src = source();
    const req = request('fleet', 'prod', { exclude: ['test/**'] });
    const resolved = await src.resolveRevision(req);
    // What Flux computes: md5 ETags of the two kept objects, full keys, sorted.
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const lines = `prod/apps/a.yaml ${md5(CM('a', '1'))}\nprod/apps/b.yaml ${md5(CM('b', '1'))}\n`;
    expect(resolved.revision).toBe(`sha256:${createHash('sha256').update(lines).digest('hex')}`);
    expect(resolved.revision).toBe(
      bucketRevision([
        { key: 'prod/apps/b.yaml', etag: md5(CM('b', '1')), size: 0 },
        { key: 'prod/apps/a.yaml', etag: md5(CM('a', '1')), size: 0 },
      ]),
    );
    const first = await src.fetchRevision(req, resolved);
    expect(first.downloaded).toBe(2);
    expect((await readdir(first.dir)).sort()).toEqual(['apps']);
    expect(await readFile(join(first.dir, 'apps/a.yaml'), 'utf8')).toBe(CM('a', '1'));
    first.release();

    const before = src.stats();
    const same = await src.resolveRevision(req);
    expect(same.revision).toBe(resolved.revision);
    expect(src.stats().listPages - before.listPages).toBe(1);

    await s3.client.putObject('fleet', 'prod/apps/b.yaml', CM('b', '2'), ro);
    await s3.client.putObject('fleet', 'prod/test/t.yaml', CM('t', '2'), ro); // excluded: no new revision from it
    const moved = await src.resolveRevision(req);
    expect(moved.revision).not.toBe(resolved.revision);
    const second = await src.fetchRevision(req, moved);
    expect(second.downloaded).toBe(1);
    expect(await readFile(join(second.dir, 'apps/a.yaml'), 'utf8')).toBe(CM('a', '1'));
    expect(await readFile(join(second.dir, 'apps/b.yaml'), 'utf8')).toBe(CM('b', '2'));
    second.release();
  });

  it('follows ListObjectsV2 pages and bounds the key count with a clear error', async () => {
    await s3.client.createBucket('many', ro);
    for (let i = 0; i < 7; i++) await s3.client.putObject('many', `p/f${i}.yaml`, CM(`f${i}`, '1'), ro);
    const paged = source({ pageSize: 3 });
    const resolved = await paged.resolveRevision(request('many', 'p'));
    expect(resolved.entries).toHaveLength(7);
    expect(paged.stats().listPages).toBe(3);

    const bounded = source({ pageSize: 3, maxKeys: 5 });
    const err = await failure(bounded.resolveRevision(request('many', 'p')));
    expect(err.message).toMatch(/s3:\/\/many\/p holds more than 5 objects; narrow the prefix/);
  });

  it('refuses keys that could leave the prefix (a server may store them: S3 does), whatever the listing order', () => {
    const keep = () => true;
    for (const key of ['p/a/../../escape.yaml', 'p//etc/x', 'p/./x', 'p/a\\..\\x']) {
      expect(() => bucketEntries([{ key, etag: 'e', size: 1 }], 'p', 's3://b/p', keep)).toThrow(
        /would be written outside the prefix; refused, nothing applied/,
      );
    }
    expect(
      bucketEntries(
        [
          { key: 'p/dir/', etag: 'e', size: 0 },
          { key: 'q/x', etag: 'e', size: 1 },
        ],
        'p',
        'w',
        keep,
      ),
    ).toEqual([]);
  });

  it('wrong credentials are AuthenticationFailed, naming no secret', async () => {
    await s3.client.createBucket('hostile', ro);
    const src = source();
    const wrong = await failure(
      src.resolveRevision(
        request('hostile', 'p', {
          key: 'wrong',
          credentials: { accessKeyId: s3.accessKey, secretAccessKey: 'nope-nope' },
        }),
      ),
    );
    expect(wrong.reason).toBe('AuthenticationFailed');
    expect(wrong.message).not.toContain('nope-nope');
  });
});

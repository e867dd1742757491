// The S3 client against a real S3-compatible server (versitygw): signed path-style requests,
// conditional GETs, HEAD, paged listing, and what wrong credentials and missing objects say.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { readBody } from '../../../../src/source/http.ts';
import { createS3Client, parseS3Url, s3CredentialsFromSecret } from '../../../../src/source/s3/index.ts';
import { startS3Server, type S3Server } from '../../../support/s3-server.ts';

let s3: S3Server;
const ro = { timeoutMs: 10_000 };

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.client.createBucket('charts', ro);
  for (const key of ['repo/index.yaml', 'repo/a-1.0.0.tgz', 'repo/b 2.tgz', 'other/x'])
    await s3.client.putObject('charts', key, `body of ${key}`, ro);
}, 600_000);
afterAll(() => s3?.close());

describe('S3 client', () => {
  it('gets an object, then a conditional GET of it is a 304', async () => {
    const res = await s3.client.getObject('charts', 'repo/index.yaml', { ...ro, what: 'index' });
    expect(res.status).toBe(200);
    expect((await readBody(res.body, 1 << 20)).toString()).toBe('body of repo/index.yaml');
    const etag = String(res.headers.etag);
    const again = await s3.client.getObject('charts', 'repo/index.yaml', {
      ...ro,
      what: 'index',
      ifNoneMatch: etag,
    });
    again.body.resume();
    expect(again.status).toBe(304);
  });

  it('heads and lists a prefix a page at a time, keys with spaces included', async () => {
    expect(await s3.client.headObject('charts', 'repo/b 2.tgz', ro)).toMatchObject({
      key: 'repo/b 2.tgz',
      size: 20,
    });
    expect(await s3.client.headObject('charts', 'repo/none', ro)).toBeUndefined();
    const first = await s3.client.listPage('charts', 'repo/', { ...ro, maxKeys: 2 });
    expect(first.objects.map((o) => o.key)).toEqual(['repo/a-1.0.0.tgz', 'repo/b 2.tgz']);
    expect(first.next).toBeTruthy();
    const second = await s3.client.listPage('charts', 'repo/', {
      ...ro,
      maxKeys: 2,
      continuationToken: first.next,
    });
    expect(second.objects.map((o) => o.key)).toEqual(['repo/index.yaml']);
    expect(second.next).toBeUndefined();
  });

  it('wrong credentials are AuthenticationFailed, naming no secret; a missing object is FetchFailed', async () => {
    const wrong = createS3Client({
      endpoint: s3.endpoint,
      insecure: true,
      credentials: { accessKeyId: s3.accessKey, secretAccessKey: 'not-the-secret' },
    });
    const err = await wrong
      .getObject('charts', 'repo/index.yaml', { ...ro, what: 'index.yaml of s3://charts/repo' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConvergeError);
    expect((err as ConvergeError).reason).toBe('AuthenticationFailed');
    expect((err as Error).message).toMatch(
      /^index\.yaml of s3:\/\/charts\/repo: .* answered 403 \(SignatureDoesNotMatch\)/,
    );
    expect((err as Error).message).not.toContain('not-the-secret');
    const missing = await s3.client
      .getObject('charts', 'repo/nope', { ...ro, what: 'chart' })
      .catch((e: unknown) => e);
    expect((missing as ConvergeError).reason).toBe('FetchFailed');
    expect((missing as Error).message).toMatch(/not found \(404\) \(NoSuchKey\)/);
  });

  it('reads credentials from a Secret and s3:// URLs', () => {
    const where = 'apps/s3';
    expect(
      s3CredentialsFromSecret({
        where,
        data: { accesskey: Buffer.from('a'), secretkey: Buffer.from('b\n'), sessiontoken: Buffer.from('t') },
      }),
    ).toEqual({
      accessKeyId: 'a',
      secretAccessKey: 'b',
      sessionToken: 't',
    });
    expect(() => s3CredentialsFromSecret({ where, data: { accesskey: Buffer.from('a') } })).toThrow(
      /secret apps\/s3 needs the keys "accesskey" and "secretkey" for S3 \(missing "secretkey"\)/,
    );
    expect(parseS3Url('s3://charts/stable/')).toEqual({ bucket: 'charts', prefix: 'stable' });
    expect(parseS3Url('s3://charts')).toEqual({ bucket: 'charts', prefix: '' });
    expect(() => parseS3Url('s3://Bad_Bucket/x')).toThrow(/is not an s3:\/\/bucket\[\/prefix\] URL/);
  });
});

// Charts from real HTTP(S) chart repositories (helm package + helm repo index, served by the test
// fixture): revisions, one conditional GET per unchanged poll, sharing, auth, TLS, and bad input.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { createHelmFetcher, type ChartFetcher } from '../../../../src/source/helm/index.ts';
import type { ChartSourceRef, SourceRequest } from '../../../../src/source/index.ts';
import { startChartRepo, type ChartRepo } from '../../../support/chart-repo.ts';
import { startS3Server, type S3Server } from '../../../support/s3-server.ts';
import { tarGz } from '../../../support/tar.ts';

const silent = pino({ level: 'silent' });
let work: string;
const fetchers: ChartFetcher[] = [];
let made = 0;

/** A fetcher with a cache of its own (as a fresh operator has). */
function fetcher(): ChartFetcher {
  const f = createHelmFetcher({ workDir: join(work, `f${++made}`), logger: silent });
  fetchers.push(f);
  return f;
}

function request(
  repo: ChartRepo,
  chart: Partial<ChartSourceRef> = {},
  extra: Partial<SourceRequest> = {},
): SourceRequest {
  return {
    key: `k-${chart.name ?? 'demo'}-${chart.version ?? '*'}`,
    source: { kind: 'chart', repository: repo.url, name: 'demo', version: '*', ...chart },
    timeoutMs: 20_000,
    ...extra,
  };
}

const secretOf = (data: Record<string, string>) => ({
  where: 'apps/charts-auth',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
});

async function failure(p: Promise<unknown>): Promise<ConvergeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConvergeError);
  return err as ConvergeError;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'helm-fetcher-'));
});
afterEach(async () => {
  await Promise.all(fetchers.splice(0).map((f) => f.close()));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('charts from an HTTP repository', () => {
  let repo: ChartRepo;
  let digests: Record<string, string>;
  beforeAll(async () => {
    repo = await startChartRepo();
    digests = {};
    for (const version of ['1.0.0', '1.0.1', '1.1.0', '2.0.0-rc.1'])
      digests[version] = (await repo.addChart({ name: 'demo', version })).digest;
    await repo.addChart({ name: 'other', version: '0.1.0' });
  }, 120_000);
  afterAll(() => repo?.close());

  it('resolves the highest stable version, names its digest, and hands over the unpacked chart', async () => {
    const f = fetcher();
    const resolved = await f.resolveRevision(request(repo));
    expect(resolved.revision).toBe(`demo@1.1.0@sha256:${digests['1.1.0']}`);
    expect(resolved.commit).toBe(`sha256:${digests['1.1.0']}`);
    const fetched = await f.fetchRevision(request(repo), resolved);
    expect(fetched.renderPath).toBe('demo');
    expect(await readFile(join(fetched.dir, 'demo', 'Chart.yaml'), 'utf8')).toContain('version: 1.1.0');
    fetched.release();
    expect(f.repositoryStats()).toMatchObject({ indexRequests: 1, scans: 1, downloads: 1 });
  });

  it('an unchanged index costs one conditional GET (304) and no parse', async () => {
    const f = fetcher();
    await f.resolveRevision(request(repo));
    const before = repo.requests.length;
    for (let i = 0; i < 3; i++) await f.resolveRevision(request(repo));
    const polls = repo.requests.slice(before);
    expect(polls.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(
      Array(3).fill('GET /charts/index.yaml 304'),
    );
    expect(f.repositoryStats()).toMatchObject({ indexRequests: 4, notModified: 3, scans: 1 });
  });

  it('picks within a range, an exact prerelease by name, and lists the nearest versions when none matches', async () => {
    const f = fetcher();
    expect((await f.resolveRevision(request(repo, { version: '>=1.0.0 <1.1.0' }))).name).toBe('1.0.1');
    expect((await f.resolveRevision(request(repo, { version: '2.0.0-rc.1' }))).name).toBe('2.0.0-rc.1');
    const none = await failure(f.resolveRevision(request(repo, { version: '>=3.0.0' })));
    expect(none.reason).toBe('RefNotFound');
    expect(none.message).toBe(
      `no version of chart demo in ${repo.url} matches ">=3.0.0"; the nearest are 2.0.0-rc.1, 1.1.0, 1.0.1 (4 versions)`,
    );
    const missing = await failure(f.resolveRevision(request(repo, { name: 'nope' })));
    expect(missing.message).toBe(`chart nope not found in ${repo.url}`);
    const bad = await failure(f.resolveRevision(request(repo, { version: 'latest!' })));
    expect(bad.reason).toBe('InvalidSpec');
  });

  it('100 GitSources on one repository share one index fetch per poll and one download per version', async () => {
    const f = fetcher();
    const before = repo.requests.length;
    const reqs = Array.from({ length: 100 }, (_, i) =>
      request(
        repo,
        { version: i % 2 ? '1.0.1' : '1.1.0' },
        { key: `k${i % 2}`, owner: `uid-${i}`, maxAgeMs: 30_000 },
      ),
    );
    const resolved = await Promise.all(reqs.map((r) => f.resolveRevision(r)));
    const fetched = await Promise.all(reqs.map((r, i) => f.fetchRevision(r, resolved[i])));
    const served = repo.requests.slice(before).map((r) => r.path);
    expect(served.filter((p) => p.endsWith('index.yaml'))).toHaveLength(1);
    expect(served.filter((p) => p.endsWith('.tgz')).sort()).toEqual([
      '/charts/demo-1.0.1.tgz',
      '/charts/demo-1.1.0.tgz',
    ]);
    expect(new Set(fetched.map((x) => x.dir)).size).toBe(2);
    for (const x of fetched) x.release();
    expect(f.owners().size).toBe(100);
  });

  it('a new version is found at the next poll and wakes the others of the key', async () => {
    const f = fetcher();
    const moved: string[] = [];
    f.onMoved((key, revision) => moved.push(`${key} ${revision}`));
    const req = request(repo, { name: 'other' });
    expect((await f.resolveRevision(req)).name).toBe('0.1.0');
    const { digest } = await repo.addChart({ name: 'other', version: '0.2.0' });
    const next = await f.resolveRevision(req);
    expect(next.revision).toBe(`other@0.2.0@sha256:${digest}`);
    expect(moved).toEqual([`${req.key} ${next.revision}`]);
  });

  it('absolute chart URLs in the index work too', async () => {
    await repo.reindex({ absoluteUrls: true });
    try {
      const f = fetcher();
      const fetched = await f.fetchRevision(request(repo, { version: '1.0.0' }));
      expect(fetched.revision).toBe(`demo@1.0.0@sha256:${digests['1.0.0']}`);
      fetched.release();
    } finally {
      await repo.reindex();
    }
  });
});

describe('bad input from a chart repository', () => {
  let repo: ChartRepo;
  beforeAll(async () => {
    repo = await startChartRepo();
    await repo.addChart({ name: 'demo', version: '1.0.0' });
  }, 120_000);
  afterAll(() => repo?.close());

  const indexWith = (entries: Array<{ name: string; version: string; file: string; digest: string }>) =>
    'apiVersion: v1\nentries:\n' +
    entries
      .map(
        (e) =>
          `  ${e.name}:\n  - apiVersion: v2\n    name: ${e.name}\n    version: ${e.version}\n    digest: ${e.digest}\n    urls:\n    - ${e.file}\n`,
      )
      .join('') +
    'generated: "2026-01-01T00:00:00Z"\n';

  it('a digest mismatch is VerificationFailed and nothing is unpacked', async () => {
    const f = fetcher();
    await repo.put(
      'index.yaml',
      indexWith([{ name: 'demo', version: '1.0.0', file: 'demo-1.0.0.tgz', digest: 'ab'.repeat(32) }]),
    );
    try {
      const err = await failure(f.fetchRevision(request(repo)));
      expect(err.reason).toBe('VerificationFailed');
      expect(err.message).toMatch(
        /^chart demo 1\.0\.0 from http:\/\/127\.0\.0\.1:\d+\/charts\/demo-1\.0\.0\.tgz: its sha256 is [0-9a-f]{64}, the repository's index says abab/,
      );
      expect(existsSync(join(work, `f${made}`, 'charts', 'ab'.repeat(32)))).toBe(false);
    } finally {
      await repo.reindex();
    }
  });

  it('a tgz bomb, a traversal and a non-chart archive are refused by name', async () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      [
        'bomb',
        tarGz([{ name: 'bomb/zeros', body: Buffer.alloc(16 << 20) }]),
        /unpacks to more than 200 times its size/,
      ],
      [
        'evil',
        tarGz([{ name: 'evil/../../escape', body: 'x' }]),
        /"evil\/\.\.\/\.\.\/escape" leaves the archive \(path traversal\)/,
      ],
      ['empty', tarGz([{ name: 'empty/README', body: 'x' }]), /the archive holds no <chart>\/Chart\.yaml/],
    ];
    for (const [name, archive, pattern] of cases) {
      await repo.put(`${name}-1.0.0.tgz`, archive);
      await repo.put(
        'index.yaml',
        indexWith([
          {
            name,
            version: '1.0.0',
            file: `${name}-1.0.0.tgz`,
            digest: createHash('sha256').update(archive).digest('hex'),
          },
        ]),
      );
      const err = await failure(fetcher().fetchRevision(request(repo, { name })));
      expect(err.reason).toBe('FetchFailed');
      expect(err.message).toMatch(new RegExp(`^chart ${name} 1\\.0\\.0`));
      expect(err.message).toMatch(pattern);
    }
    await repo.reindex();
  });

  it('an index that is not YAML, a missing index and a missing chart say so', async () => {
    await repo.put('index.yaml', '<html><body>Welcome to nginx</body></html>\n');
    try {
      const err = await failure(fetcher().resolveRevision(request(repo)));
      expect(err.reason).toBe('FetchFailed');
      expect(err.message).toMatch(
        `index.yaml of ${repo.url} is not a Helm repository index (its first line is not a YAML key`,
      );
      await repo.put('index.yaml', 'apiVersion: v1\nentries:\n  demo: [unclosed\n');
      expect((await failure(fetcher().resolveRevision(request(repo)))).message).toMatch(
        /the entries of chart demo are not YAML/,
      );
    } finally {
      await repo.reindex();
    }
    const missingIndex = await failure(
      fetcher().resolveRevision(request(repo, { repository: `${repo.url}/nope` })),
    );
    expect(missingIndex.message).toMatch(/not found \(404\): is .* a Helm repository\?/);
    await repo.put(
      'index.yaml',
      indexWith([{ name: 'demo', version: '9.9.9', file: 'gone-9.9.9.tgz', digest: 'cd'.repeat(32) }]),
    );
    try {
      const gone = await failure(fetcher().fetchRevision(request(repo)));
      expect(gone.reason).toBe('FetchFailed');
      expect(gone.message).toMatch(
        /chart demo: .*\/charts\/gone-9\.9\.9\.tgz not found \(404\): the index of .* lists it, the server does not have it/,
      );
    } finally {
      await repo.reindex();
    }
  });
});

describe('authentication, TLS and redirects', () => {
  let repo: ChartRepo;
  let elsewhere: ChartRepo;
  beforeAll(async () => {
    repo = await startChartRepo({ auth: { username: 'reader', password: 's3cret-pass' }, gzipIndex: true });
    await repo.addChart({ name: 'demo', version: '1.0.0' });
    elsewhere = await startChartRepo();
    await elsewhere.addChart({ name: 'demo', version: '1.0.0' });
  }, 120_000);
  afterAll(async () => {
    await repo?.close();
    await elsewhere?.close();
  });

  it('basic auth: 401 without the Secret is AuthenticationFailed; with it a gzip index is read', async () => {
    const denied = await failure(fetcher().resolveRevision(request(repo)));
    expect(denied.reason).toBe('AuthenticationFailed');
    expect(denied.stalled).toBe(true);
    expect(denied.message).toMatch(/answered 401: check the credentials in the Secret/);
    const wrong = await failure(
      fetcher().resolveRevision(
        request(repo, {}, { secret: secretOf({ username: 'reader', password: 'nope' }) }),
      ),
    );
    expect(wrong.reason).toBe('AuthenticationFailed');
    expect(wrong.message).not.toContain('nope');
    const ok = await fetcher().fetchRevision(request(repo, {}, { secret: secretOf(repo.secretData()) }));
    expect(ok.revision).toMatch(/^demo@1\.0\.0@sha256:/);
    ok.release();
  });

  it('credentials never go to a chart URL or a redirect on another host, unless passCredentials', async () => {
    const secret = secretOf(repo.secretData());
    // The index lists the chart on another host.
    const index = (await readFile(join(elsewhere.dir, 'index.yaml'), 'utf8')).replace(
      '- demo-1.0.0.tgz',
      `- ${elsewhere.url}/demo-1.0.0.tgz`,
    );
    await repo.put('index.yaml', index);
    try {
      const before = elsewhere.requests.length;
      (await fetcher().fetchRevision(request(repo, {}, { secret }))).release();
      expect(elsewhere.requests.slice(before).map((r) => [r.path, r.authorization])).toEqual([
        ['/charts/demo-1.0.0.tgz', false],
      ]);
      (await fetcher().fetchRevision(request(repo, { passCredentials: true }, { secret }))).release();
      expect(elsewhere.requests.at(-1)).toMatchObject({
        path: '/charts/demo-1.0.0.tgz',
        authorization: true,
      });
    } finally {
      await repo.reindex();
    }
    // The repository redirects its index to another host: followed, without the credentials.
    repo.route('/charts/moved/index.yaml', (_req, res) =>
      res.writeHead(302, { location: `${elsewhere.url}/index.yaml` }).end(),
    );
    const before = elsewhere.requests.length;
    const moved = await fetcher().resolveRevision(
      request(
        repo,
        {},
        { secret, source: { kind: 'chart', repository: `${repo.url}/moved`, name: 'demo', version: '*' } },
      ),
    );
    expect(moved.name).toBe('1.0.0');
    expect(elsewhere.requests.slice(before)).toEqual([
      { method: 'GET', path: '/charts/index.yaml', status: 200, authorization: false },
    ]);
  });

  it("TLS: the Secret's CA and client certificate open a repository that requires them", async () => {
    const tls = await startChartRepo({ tls: { clientCerts: true } });
    try {
      await tls.addChart({ name: 'demo', version: '3.0.0' });
      const ok = await fetcher().fetchRevision(request(tls, {}, { secret: secretOf(tls.secretData()) }));
      expect(ok.revision).toMatch(/^demo@3\.0\.0@sha256:/);
      ok.release();
      const noCert = await failure(
        fetcher().resolveRevision(request(tls, {}, { secret: secretOf({ 'ca.crt': tls.tls!.cert }) })),
      );
      expect(noCert.reason).toBe('FetchFailed');
      expect(noCert.message).toMatch(/^index\.yaml of https:\/\/127\.0\.0\.1:\d+\/charts: GET .* failed: /);
      const noCa = await failure(fetcher().resolveRevision(request(tls)));
      expect(noCa.message).toMatch(
        /failed: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
      );
      const half = await failure(
        Promise.resolve().then(() =>
          fetcher().checkSecret(request(tls).source, secretOf({ 'tls.crt': 'x' })),
        ),
      );
      expect(half.message).toBe('secret apps/charts-auth has "tls.crt" but no "tls.key" key: add it');
    } finally {
      await tls.close();
    }
  });
});

describe('charts from an S3 bucket (helm-s3 layout, versitygw)', () => {
  let s3: S3Server;
  let repo: ChartRepo;
  let digest: string;
  const ro = { timeoutMs: 10_000 };
  beforeAll(async () => {
    s3 = await startS3Server();
    repo = await startChartRepo();
    const chart = await repo.addChart({ name: 'demo', version: '1.2.0' });
    digest = chart.digest;
    await s3.client.createBucket('charts', ro);
    await s3.client.putObject('charts', 'stable/demo-1.2.0.tgz', await readFile(chart.file), ro);
    // helm-s3 writes absolute s3:// URLs into the index.
    const index = (await readFile(join(repo.dir, 'index.yaml'), 'utf8')).replace(
      '- demo-1.2.0.tgz',
      '- s3://charts/stable/demo-1.2.0.tgz',
    );
    await s3.client.putObject('charts', 'stable/index.yaml', index, ro);
  }, 600_000);
  afterAll(async () => {
    await s3?.close();
    await repo?.close();
  });

  const s3Request = (secret?: Record<string, string>): SourceRequest => ({
    key: 's3-demo',
    source: {
      kind: 'chart',
      repository: 's3://charts/stable',
      name: 'demo',
      version: '*',
      s3: { endpoint: s3.endpoint, region: s3.region, insecure: true },
    },
    ...(secret ? { secret: secretOf(secret) } : {}),
    timeoutMs: 20_000,
  });

  it('resolves with SigV4, fetches the s3:// chart URL, and an unchanged index is one 304', async () => {
    const f = fetcher();
    const fetched = await f.fetchRevision(s3Request(s3.secretData()));
    expect(fetched.revision).toBe(`demo@1.2.0@sha256:${digest}`);
    expect(existsSync(join(fetched.dir, 'demo', 'templates', 'configmap.yaml'))).toBe(true);
    fetched.release();
    await f.resolveRevision(s3Request(s3.secretData()));
    expect(f.repositoryStats()).toMatchObject({ indexRequests: 2, notModified: 1, scans: 1, downloads: 1 });
  });

  it('no or wrong keys: AuthenticationFailed; an incomplete Secret names the missing key', async () => {
    const f = fetcher();
    expect((await failure(f.resolveRevision(s3Request()))).reason).toBe('AuthenticationFailed');
    const wrong = await failure(
      f.resolveRevision(s3Request({ accesskey: s3.accessKey, secretkey: 'wrong-key' })),
    );
    expect(wrong.reason).toBe('AuthenticationFailed');
    expect(wrong.message).toMatch(
      /^index\.yaml of s3:\/\/charts\/stable: .* answered 403 \(SignatureDoesNotMatch\)/,
    );
    expect(wrong.message).not.toContain('wrong-key');
    expect(() => f.checkSecret(s3Request().source, secretOf({ accesskey: 'a' }))).toThrow(
      'secret apps/charts-auth needs the keys "accesskey" and "secretkey" for S3 (missing "secretkey")',
    );
  });
});

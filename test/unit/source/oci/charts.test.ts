// Charts in a real OCI registry, pushed with the real `helm push`: an exact version costs one HEAD per
// unchanged poll, a range lists the tags; the manifest digest is pinned and the chart layer checked
// against it; the revision is <chart>@<version>@sha256:<digest of the .tgz>.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvergeError } from '../../../../src/api/index.ts';
import { createHelmFetcher } from '../../../../src/source/helm/index.ts';
import { createOciChartRepository } from '../../../../src/source/oci/index.ts';
import type { SourceRequest } from '../../../../src/source/index.ts';
import { helm, startChartRepo, type ChartRepo } from '../../../support/chart-repo.ts';
import {
  FLUX_CONTENT,
  pushArtifact,
  startRegistry,
  tarGz,
  type Registry,
} from '../../../support/registry.ts';

let reg: Registry;
let repo: ChartRepo;
let work: string;
const tgz: Record<string, Buffer> = {};

async function push(version: string): Promise<void> {
  const { file } = await repo.addChart({ name: 'web', version });
  tgz[version] = await readFile(file);
  await helm(['push', file, `oci://${reg.host}/charts`, '--plain-http'], join(work, 'helm-home'));
}

beforeAll(async () => {
  reg = await startRegistry();
  repo = await startChartRepo();
  work = await mkdtemp(join(tmpdir(), 'converge-oci-charts-'));
  await push('1.0.0');
  await push('1.1.0');
  await push('2.0.0-rc.1');
}, 120_000);
afterAll(async () => {
  await reg?.close();
  await repo?.close();
  await rm(work, { recursive: true, force: true });
});

const fetcher = () =>
  createHelmFetcher({
    workDir: join(work, String(Math.random()).slice(2)),
    logger: pino({ level: 'silent' }),
    more: { oci: createOciChartRepository() },
  });
const request = (version: string, key = `k-${version}`): SourceRequest => ({
  key,
  source: { kind: 'chart', repository: `oci://${reg.host}/charts`, name: 'web', version, insecure: true },
  timeoutMs: 20_000,
});
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('charts in OCI registries', { timeout: 60_000 }, () => {
  it('an exact version: revision names the .tgz digest, an unchanged poll is one HEAD', async () => {
    const f = fetcher();
    const req = request('1.0.0');
    const resolved = await f.resolveRevision(req);
    expect(resolved.revision).toBe(`web@1.0.0@sha256:${sha(tgz['1.0.0']!)}`);
    const fetched = await f.fetchRevision(req, resolved);
    expect(await readFile(join(fetched.dir, fetched.renderPath ?? 'web', 'Chart.yaml'), 'utf8')).toMatch(
      /version: 1\.0\.0/,
    );
    fetched.release();

    reg.resetRequests();
    const again = await f.resolveRevision(req);
    expect(again.revision).toBe(resolved.revision);
    expect(reg.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      'HEAD /v2/charts/web/manifests/1.0.0',
    ]);
  });

  it('a range lists the tags and takes the highest stable match (a prerelease only when asked)', async () => {
    const f = fetcher();
    expect((await f.resolveRevision(request('>=1.0.0 <3.0.0'))).revision).toMatch(/^web@1\.1\.0@sha256:/);
    expect((await f.resolveRevision(request('*'))).revision).toMatch(/^web@1\.1\.0@/);
    expect((await f.resolveRevision(request('2.0.0-rc.1'))).revision).toMatch(/^web@2\.0\.0-rc\.1@/);
    reg.resetRequests();
    await f.resolveRevision({ ...request('>=1.0.0'), key: 'fresh' });
    expect(reg.requests().map((r) => r.method)).toEqual(['GET', 'HEAD']);
    const none = await f.resolveRevision(request('>=5.0.0')).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(ConvergeError);
    expect((none as ConvergeError).message).toMatch(
      /no version of chart web .* matches ">=5\.0\.0"; the nearest are/,
    );
  });

  it('refuses an OCI artifact that is not a chart', async () => {
    await pushArtifact(reg, 'charts/notachart', '1.0.0', {
      layers: [{ mediaType: FLUX_CONTENT, data: tarGz([{ name: 'a.yaml', data: 'a: 1\n' }]) }],
    });
    const f = fetcher();
    const err = await f
      .resolveRevision({
        ...request('1.0.0', 'nc'),
        source: { ...request('1.0.0').source, name: 'notachart' } as SourceRequest['source'],
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /is not a Helm chart \(no application\/vnd\.cncf\.helm\.chart\.content\.v1\.tar\+gzip layer\)/,
    );
  });
});

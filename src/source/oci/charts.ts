// Charts in OCI registries (`helm push` → oci://registry/path/<chart>:<version>) as a chart repository
// kind: an exact version is one HEAD per poll; a range lists the tags (Link pages) and HEADs the pick;
// the manifest digest is pinned and its chart layer (the .tgz) downloaded by digest.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import semver from 'semver';
import { ConvergeError } from '../../api/index.ts';
import type { ChartPick, ChartRepository, ChartRequest, IndexStats } from '../helm/repository.ts';
import { pickVersion } from '../helm/versions.ts';
import { registryCredentialsFromSecret } from './auth.ts';
import { RegistryClient, type RegistryLimits } from './client.ts';
import { HELM_CHART_CONTENT_TYPE } from './layers.ts';
import { apiHost, parseOciUrl, shortDigest } from './reference.ts';

export interface OciChartOptions {
  limits?: Partial<RegistryLimits>;
  /** Largest chart archive. */
  maxChartBytes?: number;
}

export function createOciChartRepository(options: OciChartOptions = {}): ChartRepository {
  const stats: IndexStats = { indexRequests: 0, notModified: 0, scans: 0, downloads: 0 };
  const clients = new Map<string, RegistryClient>();
  /** manifest digest → its chart layer (manifests are immutable: learnt once). */
  const layers = new Map<string, { digest: string; size: number }>();
  /** repository+range → the last answer and when, for GitSources sharing it within maxAgeMs. */
  const answers = new Map<string, { at: number; pick: ChartPick }>();
  const maxChartBytes = options.maxChartBytes ?? 32 * 1024 * 1024;

  const locate = (req: Pick<ChartRequest, 'chart'>) => {
    const url = `${req.chart.repository.replace(/\/+$/, '')}/${req.chart.name}`;
    const location = parseOciUrl(url, 'spec.chart.repository');
    return { url, location, ...apiHost(location) };
  };
  const clientOf = (req: Pick<ChartRequest, 'chart' | 'secret'>) => {
    const { host } = locate(req);
    const key = `${host}\0${req.chart.insecure ? 'http' : 'https'}\0${req.secret?.where ?? ''}`;
    let client = clients.get(key);
    if (!client) {
      client = new RegistryClient({
        host,
        insecure: req.chart.insecure ?? false,
        credentials: req.secret
          ? registryCredentialsFromSecret(req.secret.data, host, req.secret.where)
          : undefined,
        limits: options.limits,
      });
      clients.set(key, client);
    }
    return client;
  };
  const answerKey = (req: Pick<ChartRequest, 'chart' | 'secret'>) =>
    `${locate(req).url}\0${req.chart.version}\0${req.secret?.where ?? ''}`;

  return {
    checkSecret(chart, secret) {
      registryCredentialsFromSecret(secret.data, locate({ chart }).host, secret.where);
    },

    async resolve(req) {
      const cached = answers.get(answerKey(req));
      if (cached && req.maxAgeMs > 0 && performance.now() - cached.at <= req.maxAgeMs) return cached.pick;
      const { url, repository } = locate(req);
      const client = clientOf(req);
      const signal = AbortSignal.timeout(req.timeoutMs);
      stats.indexRequests++;
      const range = req.chart.version.trim() || '*';
      let tag: string;
      if (semver.valid(range)) {
        // An exact version: its tag (OCI tags cannot hold '+': Helm writes '_').
        tag = range.replace(/\+/g, '_');
      } else {
        const tags = await client.listTags(repository, signal);
        const versions = tags.map((t) => ({
          name: req.chart.name,
          version: t.replace(/_/g, '+'),
          urls: [t],
        }));
        tag = pickVersion(req.chart.name, range, versions, url).urls[0]!;
      }
      const head = await client.headManifest(repository, tag, signal);
      let layer = layers.get(head.digest);
      if (!layer) {
        const { manifest } = await client.getManifest(repository, head.digest, signal);
        const found = manifest.layers?.find((l) => l.mediaType === HELM_CHART_CONTENT_TYPE);
        if (!found) {
          throw new ConvergeError(
            'FetchFailed',
            `${url}:${tag}@${shortDigest(head.digest)} is not a Helm chart (no ${HELM_CHART_CONTENT_TYPE} layer)`,
          );
        }
        if (found.size > maxChartBytes) {
          throw new ConvergeError(
            'FetchFailed',
            `${url}:${tag}: the chart layer declares ${found.size} bytes, over the ${maxChartBytes}-byte limit; not downloaded`,
          );
        }
        layer = { digest: found.digest, size: found.size };
        layers.set(head.digest, layer);
      } else {
        stats.notModified++;
      }
      const pick: ChartPick = {
        version: tag.replace(/_/g, '+'),
        digest: layer.digest.slice('sha256:'.length),
        // The manifest digest is pinned: what is downloaded is what this resolve saw.
        url: `${url}@${head.digest}`,
      };
      answers.set(answerKey(req), { at: performance.now(), pick });
      return pick;
    },

    async download(req, pick) {
      const { repository } = locate(req);
      const client = clientOf(req);
      stats.downloads++;
      const dir = await mkdtemp(join(tmpdir(), 'converge-oci-chart-'));
      const file = join(dir, 'chart.tgz');
      try {
        await client.downloadBlob(
          repository,
          {
            mediaType: HELM_CHART_CONTENT_TYPE,
            digest: `sha256:${pick.digest!}`,
            size: sizeOf(layers, pick),
          },
          file,
          maxChartBytes,
          AbortSignal.timeout(req.timeoutMs),
        );
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      const stream: Readable = createReadStream(file);
      stream.on('close', () => void rm(dir, { recursive: true, force: true }));
      return stream;
    },

    expire(req) {
      answers.delete(answerKey(req));
    },

    async retain(used) {
      const keep = new Set(used.map(answerKey));
      for (const key of answers.keys()) if (!keep.has(key)) answers.delete(key);
    },

    stats: () => ({ ...stats }),
  };
}

function sizeOf(layers: Map<string, { digest: string; size: number }>, pick: ChartPick): number {
  for (const layer of layers.values()) if (layer.digest === `sha256:${pick.digest}`) return layer.size;
  throw new ConvergeError('FetchFailed', `chart ${pick.url}: its layer was not resolved first`);
}

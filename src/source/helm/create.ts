// The chart kind as the operator builds it: index repositories for https, http and s3 (one shared
// index per repository and Secret), and a Git cache of its own for values files beside a chart.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createGitSource, gitFetcher } from '../git/index.ts';
import { createChartFetcher, type ChartFetcher } from './fetcher.ts';
import { createIndexRepository, type ChartRepository } from './repository.ts';

export interface HelmFetcherOptions {
  /** This kind's folder: index/, charts/, values/. */
  workDir: string;
  logger: Logger;
  allowFileUrls?: boolean;
  tmpDir?: string;
  onRemoteCall?: (operation: 'index' | 'download', seconds: number) => void;
  /** Repository kinds by scheme beside the index ones (`oci` plugs in here). */
  more?: Readonly<Record<string, ChartRepository>>;
}

export function createHelmFetcher(opts: HelmFetcherOptions): ChartFetcher {
  const index = createIndexRepository({
    dir: join(opts.workDir, 'index'),
    logger: opts.logger,
    ...(opts.onRemoteCall ? { onRemoteCall: opts.onRemoteCall } : {}),
  });
  return createChartFetcher({
    workDir: opts.workDir,
    logger: opts.logger,
    repositories: { https: index, http: index, s3: index, ...opts.more },
    values: gitFetcher(
      createGitSource({
        workDir: join(opts.workDir, 'values'),
        logger: opts.logger.child({ part: 'values' }),
        ...(opts.allowFileUrls !== undefined ? { allowFileUrls: opts.allowFileUrls } : {}),
        ...(opts.tmpDir !== undefined ? { tmpDir: opts.tmpDir } : {}),
      }),
    ),
  });
}

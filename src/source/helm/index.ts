// Charts from chart repositories (https://, http://, s3://; oci:// plugs into `repositories`).
export { createHelmFetcher } from './create.ts';
export type { HelmFetcherOptions } from './create.ts';
export { createChartFetcher, chartRevision } from './fetcher.ts';
export type { ChartFetcher, ChartFetcherOptions } from './fetcher.ts';
export { createIndexRepository, chartUrl } from './repository.ts';
export type {
  ChartRepository,
  ChartRequest,
  ChartPick,
  IndexStats,
  IndexRepositoryOptions,
} from './repository.ts';
export { scanIndex, scanIndexFile } from './index-file.ts';
export type { ChartVersion, IndexScan } from './index-file.ts';
export { pickVersion, nearest } from './versions.ts';

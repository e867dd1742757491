// The source stage: fetchers of each kind (git/, helm/, …) behind one interface (types.ts). The
// reconcile, the shared cache, webhooks and the CLI use only what is exported here.
export { createSources, combineFetchers } from './set.ts';
export type { SourcesOptions, FetcherKinds } from './set.ts';
export { sourceOf, sourceKeyOf, secretNamesOf } from './select.ts';
export type { SourceSpec } from './select.ts';
export type {
  Fetcher,
  SourceRef,
  GitSourceRef,
  ChartSourceRef,
  S3Endpoint,
  SourceSecret,
  SourceRequest,
  ResolvedRevision,
  FetchedRevision,
  MovedListener,
  RemoteOperation,
  SourceStats,
} from './types.ts';
export { redact } from './redact.ts';

// Raw API access: the JSON client, discovery and REST mapping, list+watch, request counts.
export { KubeClient } from './client.ts';
export { KubeConfigError, loadClusterAccess } from './config.ts';
export type { ClusterAccess, LoadKubeConfigOptions, RequestAuth } from './config.ts';
export type {
  ApplyOptions,
  DeleteOptions,
  KubeClientOptions,
  ListOptions,
  ObjectList,
  Query,
  RequestOptions,
} from './client.ts';
export {
  ApiError,
  combineFailures,
  fieldToPointer,
  immutableFieldError,
  immutableFields,
  isApiError,
  isNotFound,
  objectError,
} from './errors.ts';
export type { ObjectFailure, StatusCause } from './errors.ts';
export { RestMapper, UnknownKindError } from './mapper.ts';
export type { RestMapperOptions } from './mapper.ts';
export { apiPrefix, gvkString, resourcePath } from './paths.ts';
export type { GroupVersionKind, RestMapping } from './paths.ts';
export { RequestStats } from './stats.ts';
export type { RequestListener, RequestRecord } from './stats.ts';
export type { Watchable, WatchEvent, WatchOptions } from './watch.ts';
export { mapLimit, sleep } from './limit.ts';
export { readObjectData } from './data.ts';

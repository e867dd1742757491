// The controller: queue, scheduling, leader election, drift watches, and the reconcile steps.
export { Controller, type ControllerOptions } from './controller.ts';
export { Reconciler, type ReconcilerDeps, type ReconcileResult } from './reconciler.ts';
export { SourceStateStore, type SourceState } from './state.ts';
export { stageSteps, type ReconcileSteps, type StepContext, type Plan } from './steps.ts';
export { apiWriter, type GitSourceWriter, type TransitionListener } from './writer.ts';
export { LeaderElector, type LeaderElectionOptions } from './leader.ts';
export { WorkQueue, backoffDelay } from './queue.ts';
export { DriftWatcher, driftedFields, type DriftDetection, type DriftTracker } from './drift.ts';
export { GitSourceCache } from './cache.ts';
export { gitSourcePath, gitSourceListPath } from './paths.ts';
export {
  cacheKeyFor,
  cacheKeysOf,
  shareGitCaches,
  type SharedCacheOptions,
  type SharedCaches,
} from './shared-cache.ts';
export {
  ClusterBusy,
  ClusterRegistry,
  describeCluster,
  type ClusterRegistryOptions,
  type ClusterTarget,
  type DriftFeed,
} from './clusters.ts';

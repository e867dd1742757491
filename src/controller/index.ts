// The controller: queue, scheduling, leader election, drift watches, and the reconcile steps.
export { Controller, type ControllerOptions } from './controller.ts';
export { Reconciler, type ReconcilerDeps, type ReconcileResult } from './reconciler.ts';
export { LeaderElector, type LeaderElectionOptions } from './leader.ts';
export { WorkQueue, backoffDelay } from './queue.ts';
export { driftedFields } from './drift.ts';
export { gitSourcePath, gitSourceListPath } from './paths.ts';

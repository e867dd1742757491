// A local control plane and client tools for tests, benchmarks and the demo; never used in-cluster.
export {
  SERVICE_CIDR,
  startLocalCluster,
  ensureControlPlaneBinaries,
  type LocalCluster,
  type LocalClusterOptions,
} from './control-plane.ts';
export { canRunPods, kwokStagesDir } from './nodes.ts';
export { resolveClientTools, bundledTools, type ClientTools } from '../render/index.ts';
export {
  OPERATOR_NODE_FLAGS,
  OPERATOR_ENV,
  startOperatorProcess,
  type OperatorProcess,
  type OperatorProcessOptions,
} from './operator.ts';
export {
  createRealNode,
  realNodeSkipReason,
  writePauseArchive,
  type RealNode,
  type RealNodeOptions,
} from './real-node.ts';

// The hooks stage: Helm and Argo CD hooks run around a revision, and sync waves order its apply.
export {
  ARGO_HOOK,
  ARGO_HOOK_DELETE_POLICY,
  ARGO_SYNC_WAVE,
  HELM_HOOK,
  HELM_HOOK_DELETE_POLICY,
  HELM_HOOK_WEIGHT,
  HOOK_PHASES,
  classifyObjects,
  isHookObject,
  syncWaveOf,
  type DeletePolicy,
  type Hook,
  type HookPhase,
  type Skipped,
  type SyncPlan,
} from './classify.ts';
export { wavesOf, type Wave } from './waves.ts';
export {
  ANNOTATION_HOOK_IDENTITY,
  ANNOTATION_HOOK_REVISION,
  LABEL_HOOK_OWNER_NAME,
  LABEL_HOOK_OWNER_NAMESPACE,
  runHooks,
  type RunHooksOptions,
} from './run.ts';

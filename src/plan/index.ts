// Plan: desired objects vs the live cluster → a ChangeSet (create / configure / unchanged / stale), without writing.
export { planChanges, pruneBlocker, withOwnerLabels, ownerSelector } from './plan.ts';
export type { PlanOptions } from './plan.ts';
export { AppliedObjects } from './applied.ts';
export { ownerOf, ownershipConflict } from './ownership.ts';
export { changeLines, describeChange, divergedMessage, hasChanges, summarize } from './changeset.ts';
export type { Action, ChangeSet, ChangeSummary, Owner, PlannedObject, StaleObject } from './changeset.ts';
export {
  comparedObjects,
  diffObjects,
  driftedFields,
  formatChange,
  getPointer,
  ignorePathsFor,
  normalizeForDiff,
  parsePointer,
  setPointer,
  withIgnoredFromLive,
} from './diff.ts';
export type { ComparedObjects, FieldChange } from './diff.ts';
export { applyStage, compareApplyOrder, stagesOf, FOUNDATION_STAGE, STAGE_NAMES } from './order.ts';
export type { Orderable } from './order.ts';

// Apply: writes a ChangeSet to the cluster in stages with server-side apply.
export { applyChangeSet, ApplyError } from './apply.ts';
export type { ApplyChangeSetOptions, ApplyResult, AppliedObject } from './apply.ts';

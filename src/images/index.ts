// Image updates (issue 28): ImagePolicies pick the latest tag from a registry; a GitSource with
// spec.imageUpdates writes them into the marked fields of its files, commits, pushes and converges that.
export { ImagePolicyController } from './policies.ts';
export type { ImagePolicyControllerOptions, PolicyIndex, PolicySnapshot } from './policies.ts';
export { createRegistryClient, parseImageName } from './registry.ts';
export type { RegistryClient, RegistryCredentials } from './registry.ts';
export { createWriteBack } from './writeback.ts';
export type { WriteBack, WriteBackOptions } from './writeback.ts';
export { createImageUpdater } from './update.ts';
export type { ImageUpdateContext, ImageUpdateOutcome, ImageUpdater, ImageUpdateReport } from './update.ts';
export { selectTag, translateGoRegex } from './policy.ts';
export { updateFile } from './setters.ts';
export { renderMessage } from './message.ts';

// The GitSource, Notifier and ImagePolicy APIs: schemas, names fixed by the contract, typed errors, and the generated CRD.
export * from './gitsource.ts';
export * from './errors.ts';
export {
  gitSourceCrd,
  gitSourceCrdYaml,
  imagePolicyCrd,
  imagePolicyCrdYaml,
  notifierCrd,
  notifierCrdYaml,
} from './crd.ts';
export * from './imagepolicy.ts';
export * from './notifier.ts';
export * from './object.ts';
export { encodeInventory, inventoryEntries } from './inventory.ts';
export * from './message.ts';
export { clusterLabel, isRemote } from './cluster.ts';

// SOPS decryption, a render step: objects with SOPS metadata, kustomize generator sources and Helm values files.
export { decryptDocuments, FLUX_ANNOTATION_DECRYPT, hasSopsMetadata } from './objects.ts';
export { decryptGeneratorSources, type DecryptedTree } from './generators.ts';
export {
  assertNothingUndecrypted,
  decryptSops,
  newDecryption,
  plaintextFile,
  type Decryption,
  type DecryptedFile,
} from './sops.ts';
export { formatForPath, hasSopsMarker, type SopsFormat } from './formats.ts';
export {
  addAgeKeys,
  addPgpKeys,
  describeKeyring,
  emptyKeyring,
  keyringFromSecret,
  KeyError,
  type Keyring,
} from './keys.ts';

// OCI registries as sources: the registry client, artifacts (Flux's format and generic tar+gzip
// layers) unpacked safely, and keyed cosign verification.
export { RegistryClient, DEFAULT_REGISTRY_LIMITS } from './client.ts';
export type { Descriptor, Manifest, ManifestHead, RegistryLimits, RegistryStats } from './client.ts';
export { registryCredentialsFromSecret, parseChallenge, normaliseHost } from './auth.ts';
export type { RegistryCredentials, Challenge } from './auth.ts';
export { parseOciUrl, signatureTag } from './reference.ts';
export { chooseLayer, FLUX_CONFIG_TYPE, FLUX_CONTENT_TYPE } from './layers.ts';
export { keysFromSecret, verifySignatures, payloadDigest } from './cosign.ts';
export type { VerificationKey } from './cosign.ts';
export { createOciSource, ociCacheKeyOf } from './source.ts';
export type { OciSource, OciRequest, OciRef, ResolvedArtifact, FetchedArtifact } from './source.ts';
export { ociFetcher } from './fetcher.ts';
export { createOciChartRepository } from './charts.ts';
